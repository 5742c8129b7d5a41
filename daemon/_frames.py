"""Reading frames off a connection on the event loop, in large chunks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from .protocol import HEADER_SIZE, frame_length


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
