"""The wire protocol between the hook shim, the CLI and the daemon.

A frame is a 4-byte big-endian length followed by that many bytes of MessagePack.
Every message is a tagged-union ``Struct`` encoded as an array whose first element is
its tag, so the stdlib-only shim can build a ``Step`` and read an ``Answer`` by hand:

    Step    ["step", event: bin, cwd: bin, workspace: bin|nil, run_id: str|nil, host: str,
             key: str|nil]
    Answer  ["answer", output: bin]           the exact bytes the hook prints (maybe empty)
    Error   ["error", code: str, message: str]

Requests: Step, Status, Ping, Stop. Replies: Answer, StatusReply, Pong, Stopping,
Error. A host's SessionEnd event travels as a Step. A frame over ``MAX_FRAME`` bytes
(64 MiB: tool results can be megabytes) or one that does not decode as a request is
answered with an Error, and the connection is closed. Paths travel as bytes, exactly
as the operating system gave them.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from streamd.shared import StreamdError

MAX_FRAME = 64 * 1024 * 1024
"""The largest payload either side sends or accepts; the hook's transport agrees."""
HEADER_SIZE = 4
DecodeError = msgspec.DecodeError


class Step(msgspec.Struct, tag="step", array_like=True, frozen=True):
    """One hook event, forwarded as the host sent it; the daemon parses and hashes."""

    event: bytes
    cwd: bytes
    workspace: bytes | None = None
    run_id: str | None = None
    host: str = "claude"
    key: str | None = None
    """The shim's idempotency key for this call, for an event with no ``tool_use_id``."""


class Status(msgspec.Struct, tag="status", array_like=True, frozen=True):
    pass


class Ping(msgspec.Struct, tag="ping", array_like=True, frozen=True):
    pass


class Stop(msgspec.Struct, tag="stop", array_like=True, frozen=True):
    pass


Request = Step | Status | Ping | Stop


class Answer(msgspec.Struct, tag="answer", array_like=True, frozen=True):
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


class StatusReply(msgspec.Struct, tag="status-reply", array_like=True, frozen=True):
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


class Pong(msgspec.Struct, tag="pong", array_like=True, frozen=True):
    pid: int
    version: str


class Stopping(msgspec.Struct, tag="stopping", array_like=True, frozen=True):
    pid: int


class Error(msgspec.Struct, tag="error", array_like=True, frozen=True):
    code: str
    message: str


Reply = Answer | StatusReply | Pong | Stopping | Error

_encoder = msgspec.msgpack.Encoder()
_request_decoder: msgspec.msgpack.Decoder[Request] = msgspec.msgpack.Decoder(Request)
_reply_decoder: msgspec.msgpack.Decoder[Reply] = msgspec.msgpack.Decoder(Reply)


class FrameError(StreamdError):
    """Raised when a frame's length is over ``MAX_FRAME``."""


R = TypeVar("R", bound=Reply)


def encode(message: Request | Reply) -> bytes:
    """A message's payload: what goes in a frame after its length."""
    return _encoder.encode(message)


def frame(message: Request | Reply) -> bytes:
    """A message as a whole frame, length first."""
    payload = _encoder.encode(message)
    return len(payload).to_bytes(HEADER_SIZE, "big") + payload


def frame_length(header: bytes) -> int:
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME:
        raise FrameError(f"frame of {length} bytes exceeds the {MAX_FRAME}-byte limit")
    return length


def decode_request(payload: bytes) -> Request:
    """Raises ``msgspec.DecodeError`` (a ``ValidationError`` included) when undecodable."""
    try:
        return _request_decoder.decode(payload)
    except UnicodeDecodeError as exc:  # msgspec lets a bad UTF-8 string escape as this
        raise msgspec.DecodeError(f"invalid UTF-8 in a string field: {exc.reason}") from None


def decode_reply(payload: bytes) -> Reply:
    return _reply_decoder.decode(payload)
