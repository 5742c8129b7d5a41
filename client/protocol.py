"""The messages between the hook, the CLI and the daemon, as msgspec ``Struct``s: the
codec layer over ``streamd.shared._wire``'s frames and tags. Both sides import it; it
imports msgspec, not anyio.

Every message is a tagged-union ``Struct`` encoded as an array whose first element is
its tag, so the stdlib-only hook can build a ``StepRequest`` and read an ``Answer`` by
hand (``_wire.encode_step``, ``_wire.decode_answer``):

    StepRequest ["step", event: bin, cwd: bin, workspace: bin|nil, run_id: str|nil,
                 host: str, key: str|nil]
    Answer      ["answer", output: bin]       the exact bytes the hook prints (maybe empty)
    Error       ["error", code: str, message: str]

Requests: StepRequest, Status, Ping, Stop. Replies: Answer, StatusReply, Pong,
Stopping, Error. A host's SessionEnd event travels as a StepRequest. A frame over
``MAX_FRAME`` bytes or one that does not decode as a request is answered with an Error,
and the connection is closed. Paths travel as bytes, exactly as the operating system
gave them. Fields are only ever appended, with defaults (``docs/protocol.md``).
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from streamd.shared import _wire
from streamd.shared._wire import HEADER_SIZE, MAX_FRAME, FrameTooLarge, frame_length

DecodeError = msgspec.DecodeError


class StepRequest(msgspec.Struct, tag=_wire.STEP, array_like=True, frozen=True):
    """One hook event, forwarded as the host sent it; the daemon parses and hashes."""

    event: bytes
    cwd: bytes
    workspace: bytes | None = None
    run_id: str | None = None
    host: str = "claude"
    key: str | None = None
    """The shim's idempotency key for this call, for an event with no ``tool_use_id``."""


class Status(msgspec.Struct, tag=_wire.STATUS, array_like=True, frozen=True):
    pass


class Ping(msgspec.Struct, tag=_wire.PING, array_like=True, frozen=True):
    pass


class Stop(msgspec.Struct, tag=_wire.STOP, array_like=True, frozen=True):
    pass


Request = StepRequest | Status | Ping | Stop


class Answer(msgspec.Struct, tag=_wire.ANSWER, array_like=True, frozen=True):
    output: bytes


class SessionInfo(msgspec.Struct, frozen=True):
    workspace: str
    session: str
    host: str
    steps: int
    state: str
    run: int
    last_tool: str
    firings: int
    last_seen: float
    rule: str = ""
    """The rule behind ``state`` when it fired."""
    policy_error: str = ""
    """Why the workspace's ``dos.toml`` is not in force (the defaults are), if it is not."""
    stopped: bool = False
    """The circuit breaker stopped the agent at the session's newest step."""


class StatusReply(msgspec.Struct, tag=_wire.STATUS_REPLY, array_like=True, frozen=True):
    pid: int
    version: str
    started: float
    socket: str
    requests: dict[str, int]
    errors: int
    latency_ms: dict[str, float]
    sessions: list[SessionInfo]
    read_peak_bytes: int = 0
    """The most bytes incoming frames held at once (bounded by ``serve --read-budget``)."""
    steps_answered: int = 0
    """Steps the daemon decided, recorded and answered itself (not left to a fallback)."""
    steps_abandoned: int = 0
    """Steps not applied because their client had hung up (it decided them itself)."""
    policy_errors: list[str] = []
    """Why each ``dos.toml`` the daemon read is not in force (the defaults are)."""
    export_dropped: int = 0
    """Findings the OpenTelemetry export dropped (its queue was full, or it failed)."""
    export_on: bool = False
    """Whether the daemon exports its findings over OTLP."""


class Pong(msgspec.Struct, tag=_wire.PONG, array_like=True, frozen=True):
    pid: int
    version: str


class Stopping(msgspec.Struct, tag=_wire.STOPPING, array_like=True, frozen=True):
    pid: int


class Error(msgspec.Struct, tag=_wire.ERROR, array_like=True, frozen=True):
    code: str
    message: str


Reply = Answer | StatusReply | Pong | Stopping | Error

_encoder = msgspec.msgpack.Encoder()
_request_decoder: msgspec.msgpack.Decoder[Request] = msgspec.msgpack.Decoder(Request)
_reply_decoder: msgspec.msgpack.Decoder[Reply] = msgspec.msgpack.Decoder(Reply)


R = TypeVar("R", bound=Reply)


def encode(message: Request | Reply) -> bytes:
    """A message's payload: what goes in a frame after its length."""
    return _encoder.encode(message)


def frame(message: Request | Reply) -> bytes:
    """A message as a whole frame, length first."""
    return _wire.frame(_encoder.encode(message))


def decode_request(payload: bytes) -> Request:
    """Raises ``msgspec.DecodeError`` (a ``ValidationError`` included) when undecodable."""
    try:
        return _request_decoder.decode(payload)
    except UnicodeDecodeError as exc:  # msgspec lets a bad UTF-8 string escape as this
        raise msgspec.DecodeError(f"invalid UTF-8 in a string field: {exc.reason}") from None


def decode_reply(payload: bytes) -> Reply:
    return _reply_decoder.decode(payload)


__all__ = [
    "HEADER_SIZE",
    "MAX_FRAME",
    "Answer",
    "DecodeError",
    "Error",
    "FrameTooLarge",
    "Ping",
    "Pong",
    "Reply",
    "Request",
    "SessionInfo",
    "Status",
    "StatusReply",
    "StepRequest",
    "Stop",
    "Stopping",
    "decode_reply",
    "decode_request",
    "encode",
    "frame",
    "frame_length",
]
