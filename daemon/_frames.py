"""Reading frames off a connection on the event loop, in large chunks, within a byte
budget shared by every connection: sixteen 64 MiB events at once must not take a
gigabyte."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from streamd.client._options import DEFAULT_READ_BUDGET
from streamd.shared._wire import HEADER_SIZE, frame_length


class ByteBudget:
    """Bytes that frames being read may hold at once, across connections. A frame larger
    than the whole budget waits until it can have all of it."""

    def __init__(self, capacity: int = DEFAULT_READ_BUDGET) -> None:
        self.capacity = capacity
        self.used = 0
        self.peak = 0
        self._changed = anyio.Condition()

    async def acquire(self, size: int) -> int:
        """Wait until ``size`` bytes (at most the capacity) are free; returns the amount
        taken, to give back with ``release``."""
        size = min(size, self.capacity)
        async with self._changed:
            while self.used + size > self.capacity:
                await self._changed.wait()
            self.used += size
            self.peak = max(self.peak, self.used)
        return size

    async def release(self, size: int) -> None:
        if not size:
            return
        async with self._changed:
            self.used -= size
            self._changed.notify_all()


class FrameReader:
    """Slices frames out of a byte stream. A small frame (most hook events) arrives in
    one receive; a larger one takes its whole length from the byte budget as soon as its
    header is read, before its body is, so what connections hold unaccounted is at most
    ``FIRST`` bytes each."""

    FIRST = 16 * 1024
    CHUNK = 256 * 1024

    def __init__(
        self, receive: Callable[[int], Awaitable[bytes]], budget: ByteBudget | None = None
    ) -> None:
        self._receive = receive
        self._buffer = bytearray()
        self._budget = budget
        self.held = 0
        """Bytes of the budget the current frame holds; ``release`` gives them back."""

    async def release(self) -> None:
        if self._budget is not None:
            await self._budget.release(self.held)
        self.held = 0

    async def next_payload(self) -> bytes:
        """The next frame's payload. Raises ``FrameTooLarge`` on an oversized frame as
        soon as its header arrives, and ``anyio.EndOfStream`` (or ``IncompleteRead``
        inside a frame) when the peer closes."""
        buffer = self._buffer
        while True:
            if len(buffer) >= HEADER_SIZE:
                end = HEADER_SIZE + frame_length(bytes(buffer[:HEADER_SIZE]))
                if self._budget is not None and not self.held and end > self.FIRST:
                    self.held = await self._budget.acquire(end)
                if len(buffer) >= end:
                    payload = bytes(buffer[HEADER_SIZE:end])
                    del buffer[:end]
                    return payload
                wanted = min(self.CHUNK, end - len(buffer)) if end > self.FIRST else self.FIRST
            else:
                wanted = self.FIRST - len(buffer)
            try:
                buffer += await self._receive(wanted)
            except anyio.EndOfStream:
                if buffer:
                    raise anyio.IncompleteRead from None
                raise
