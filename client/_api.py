"""A typed, blocking client of the daemon for the operator commands and the tests:
requests and replies as the protocol's ``Struct``s, over the one transport."""

from __future__ import annotations

from streamd.shared import StreamdError

from . import _transport
from . import protocol as proto


class DaemonUnavailable(StreamdError):
    """Raised when no daemon of this user answers on the socket."""


class DaemonError(StreamdError):
    """Raised when the daemon answers a request with an ``Error`` reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class DaemonClient:
    """One daemon, at ``path``: each call is one request and one reply."""

    def __init__(self, path: str, *, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout

    def send(self, message: proto.Request) -> proto.Reply:
        """Any reply, ``Error`` included; raises ``DaemonUnavailable`` when none comes."""
        try:
            payload = _transport.exchange(self.path, proto.encode(message), self.timeout)
            return proto.decode_reply(payload)
        except (_transport.NoAnswer, proto.DecodeError) as exc:
            raise DaemonUnavailable(f"no daemon answers on {self.path} ({exc})") from None

    def _expect(self, message: proto.Request, kind: type[proto.R]) -> proto.R:
        reply = self.send(message)
        if isinstance(reply, proto.Error):
            raise DaemonError(reply.code, reply.message)
        if not isinstance(reply, kind):
            raise DaemonError("unexpected-reply", f"{kind.__name__} expected, got {reply!r}")
        return reply

    def ping(self) -> proto.Pong:
        return self._expect(proto.Ping(), proto.Pong)

    def status(self) -> proto.StatusReply:
        return self._expect(proto.Status(), proto.StatusReply)

    def stop(self) -> proto.Stopping:
        return self._expect(proto.Stop(), proto.Stopping)

    def step(self, step: proto.StepRequest) -> bytes:
        """The bytes the hook would print for this event."""
        return self._expect(step, proto.Answer).output
