"""The wire protocol between the hook shim, the CLI and the daemon.

A frame is a 4-byte big-endian length followed by that many bytes of MessagePack.
Every message is a tagged-union ``Struct`` encoded as an array whose first element is
its tag, so the stdlib-only shim can build a ``Step`` and read an ``Answer`` by hand:

    Step    ["step", event: bin, cwd: bin, workspace: bin|nil, run_id: str|nil, host: str]
    Answer  ["answer", output: bin]           the exact bytes the hook prints (maybe empty)
    Error   ["error", code: str, message: str]

Requests: Step, SessionEnd, Status, Ping, Stop. Replies: Answer, StatusReply, Pong,
Stopping, Done, Error. A frame over ``MAX_FRAME`` bytes (64 MiB: tool results can be
megabytes) or one that does not decode as a request is answered with an Error, and the
connection is closed. Paths travel as bytes, exactly as the operating system gave them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import msgspec

MAX_FRAME = 64 * 1024 * 1024
HEADER_SIZE = 4


class Step(msgspec.Struct, tag="step", array_like=True, frozen=True):
    """One hook event, forwarded as the host sent it; the daemon parses and hashes."""

    event: bytes
    cwd: bytes
    workspace: bytes | None = None
    run_id: str | None = None
    host: str = "claude"


class SessionEnd(msgspec.Struct, tag="session-end", array_like=True, frozen=True):
    workspace: str
    session: str


class Status(msgspec.Struct, tag="status", array_like=True, frozen=True):
    pass


class Ping(msgspec.Struct, tag="ping", array_like=True, frozen=True):
    pass


class Stop(msgspec.Struct, tag="stop", array_like=True, frozen=True):
    pass


Request = Step | SessionEnd | Status | Ping | Stop


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


class Pong(msgspec.Struct, tag="pong", array_like=True, frozen=True):
    pid: int
    version: str


class Stopping(msgspec.Struct, tag="stopping", array_like=True, frozen=True):
    pid: int


class Done(msgspec.Struct, tag="done", array_like=True, frozen=True):
    pass


class Error(msgspec.Struct, tag="error", array_like=True, frozen=True):
    code: str
    message: str


Reply = Answer | StatusReply | Pong | Stopping | Done | Error

_encoder = msgspec.msgpack.Encoder()
_request_decoder: msgspec.msgpack.Decoder[Request] = msgspec.msgpack.Decoder(Request)
_reply_decoder: msgspec.msgpack.Decoder[Reply] = msgspec.msgpack.Decoder(Reply)


class FrameError(Exception):
    """Raised when a frame's length is out of bounds."""


class FrameReader:
    """Slices frames out of a byte stream, reading it in large chunks: one receive per
    request rather than one for the header and one for the body."""

    CHUNK = 256 * 1024

    def __init__(self, receive: Callable[[int], Awaitable[bytes]]) -> None:
        self._receive = receive
        self._buffer = bytearray()

    async def next_payload(self) -> bytes:
        """The next frame's payload. Raises ``FrameError`` on an oversized frame as soon
        as its header arrives, and ``anyio.EndOfStream`` (or ``IncompleteRead`` inside a
        frame) when the peer closes."""
        buffer = self._buffer
        while True:
            if len(buffer) >= HEADER_SIZE:
                end = HEADER_SIZE + frame_length(bytes(buffer[:HEADER_SIZE]))
                if len(buffer) >= end:
                    payload = bytes(buffer[HEADER_SIZE:end])
                    del buffer[:end]
                    return payload
                wanted = max(self.CHUNK, end - len(buffer))
            else:
                wanted = self.CHUNK
            try:
                buffer += await self._receive(wanted)
            except anyio.EndOfStream:
                if buffer:
                    raise anyio.IncompleteRead from None
                raise


def frame(message: Request | Reply) -> bytes:
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
