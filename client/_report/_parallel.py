"""Sessions read by several processes at once: each file is its own session, so the
report reads them on every core, and takes their results in the files' order."""

from __future__ import annotations

import collections
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

FILES_PER_PROCESS = 4
"""Fewer files than this per process and the report reads them in its own: starting a
process costs more than it saves."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def in_order(work: Callable[[In], Out], items: list[In], jobs: int) -> Iterator[Out]:
    """``work`` of each item, in order; by ``jobs`` processes, a few items ahead of
    the one awaited, so results wait in memory only that many."""
    jobs = min(jobs, len(items) // FILES_PER_PROCESS)
    if jobs <= 1:
        yield from map(work, items)
        return
    # Spawned, not forked: the report may hold threads (the OTLP exporter's).
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=spawn, initializer=_worker) as pool:
        ahead: collections.deque[Future[Out]] = collections.deque()
        for item in items:
            ahead.append(pool.submit(work, item))
            if len(ahead) >= 2 * jobs:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _worker() -> None:
    from streamd.shared._adapter import use_openssl

    use_openssl()
