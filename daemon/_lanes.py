"""Writer lanes: where session logs are written, off the event loop.

Every session belongs to one lane, a thread of its own, so a session's steps are
applied one at a time in arrival order and only that thread touches its open log.
A lane takes every job queued while it was busy; finished jobs come back in a deque,
and a byte on a socket pair wakes the event loop, which sets free however many finished
meanwhile. Per step that is at most one queue hand-off and one wake-up, instead of a
pool thread's several; under load, less, as both batch.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import socket
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

from streamd.client._options import DEFAULT_LANES

T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class _Job(Generic[T, R]):
    item: T
    done: anyio.Event = field(default_factory=anyio.Event)
    result: R | None = None
    error: BaseException | None = None


class Lanes(Generic[T, R]):
    """``count`` writer threads; a key always maps to the same one.

    ``apply(lane_index, item)`` runs on the lane's thread. Use as an async context
    manager: it starts the threads and the wake-up reader, and stops them on exit
    after the jobs already queued have run."""

    def __init__(self, apply: Callable[[int, T], R], count: int = DEFAULT_LANES) -> None:
        self._apply = apply
        self._queues: list[queue.SimpleQueue[_Job[T, R] | None]] = [
            queue.SimpleQueue() for _ in range(count)
        ]
        self._finished: collections.deque[_Job[T, R]] = collections.deque()
        self._wake_due = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"streamd-lane-{i}", daemon=True)
            for i in range(count)
        ]

    def lane_for(self, key: str) -> int:
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % len(self._queues)

    async def submit(self, lane: int, item: T) -> R:
        job: _Job[T, R] = _Job(item)
        self._queues[lane].put(job)
        # A cancelled caller leaves the job to run; its client, never answered, falls
        # back and finds the step already recorded.
        await job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _run(self, lane: int) -> None:
        jobs = self._queues[lane]
        while True:
            batch = [jobs.get()]
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(jobs.get_nowait())
            for job in batch:
                if job is None:
                    return
                try:
                    job.result = self._apply(lane, job.item)
                except Exception as exc:
                    job.error = exc
                self._finished.append(job)
            # The loop clears the flag before it drains, so a job appended before we
            # read True is drained by that pass; after it reads False, we wake it.
            if not self._wake_due:
                self._wake_due = True
                with contextlib.suppress(BlockingIOError):
                    self._wake_w.send(b"\0")

    async def _deliver(self) -> None:
        while True:
            await anyio.wait_readable(self._wake_r)
            with contextlib.suppress(BlockingIOError):
                while self._wake_r.recv(4096):
                    pass
            self._wake_due = False
            while self._finished:
                self._finished.popleft().done.set()

    async def __aenter__(self) -> Lanes[T, R]:
        for thread in self._threads:
            thread.start()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._deliver)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for jobs in self._queues:
            jobs.put(None)
        for thread in self._threads:
            await anyio.to_thread.run_sync(thread.join)
        while self._finished:
            self._finished.popleft().done.set()
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)
        self._wake_r.close()
        self._wake_w.close()
