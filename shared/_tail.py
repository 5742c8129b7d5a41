"""Recover a session's stream state from the end of its log.

Reads backwards only as far as the trailing run and the idempotency window reach, so
recovering a 100,000-step log costs about what a 10-step log costs. The next
``step_index`` continues from the newest record's own index; only a log whose newest
record lacks one (a hand-written or pre-index log) is counted in full.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

from ._log import Record, iter_records_backwards, parse_line
from ._policy import Policy
from ._verdict import StreamTracker, Verdict, verdict_for_run

IDEMPOTENCY_WINDOW = 32
"""How many of the newest lines are searched for a repeated ``tool_use_id``."""


@dataclass(frozen=True, slots=True)
class Recovery:
    tracker: StreamTracker
    size: int
    """Bytes of the log this recovery read up to."""
    recorded: Verdict | None = None
    """The verdict at an existing record carrying the looked-up ``tool_use_id``."""


class _Backwards:
    """The newest-first records, pulled from the file only as far as asked."""

    def __init__(self, records: Iterator[Record]) -> None:
        self._records = records
        self._seen: list[Record] = []
        self._exhausted = False

    def get(self, i: int) -> Record | None:
        while len(self._seen) <= i and not self._exhausted:
            nxt = next(self._records, None)
            if nxt is None:
                self._exhausted = True
            else:
                self._seen.append(nxt)
        return self._seen[i] if i < len(self._seen) else None

    def count_all(self) -> int:
        for record in self._records:
            self._seen.append(record)
        self._exhausted = True
        return len(self._seen)

    def run_at(self, i: int, policy: Policy) -> int:
        """The trailing run of the stream that ends at the ``i``-th newest record."""
        head = self.get(i)
        if head is None:
            return 0
        key = head.step.key(policy)
        if key is None:
            return 1
        run = 1
        while (prev := self.get(i + run)) is not None and prev.step.key(policy) == key:
            run += 1
        return run


def _window(fd: int, size: int) -> bytes:
    """The newest ``IDEMPOTENCY_WINDOW`` lines, raw."""
    start = max(0, size - 16384)
    raw = os.pread(fd, size - start, start)
    lines = raw.split(b"\n")
    if len(lines) <= IDEMPOTENCY_WINDOW + 1 and start > 0:
        return raw  # long lines: the window is what one read holds
    return b"\n".join(lines[-(IDEMPOTENCY_WINDOW + 1) :])


def _find_recorded(
    fd: int, size: int, records: _Backwards, policy: Policy, tool_use_id: str
) -> Verdict | None:
    """The verdict at the newest record within the window that holds ``tool_use_id``.
    The raw bytes are searched first, so a call not yet recorded parses nothing."""
    raw = _window(fd, size)
    if json.dumps(tool_use_id, ensure_ascii=False).encode() not in raw:
        return None
    in_window = sum(len(parse_line(line)) for line in raw.split(b"\n"))
    for i in range(in_window):
        record = records.get(i)
        if record is not None and record.tool_use_id == tool_use_id:
            return verdict_for_run(records.run_at(i, policy), record.step, policy)
    return None


def recover_fd(fd: int, size: int, policy: Policy, *, tool_use_id: str | None = None) -> Recovery:
    """Recover from the first ``size`` bytes of an open log."""
    records = _Backwards(iter_records_backwards(fd, size))
    recorded: Verdict | None = None
    if tool_use_id is not None:
        recorded = _find_recorded(fd, size, records, policy, tool_use_id)
    newest = records.get(0)
    if newest is None:
        return Recovery(StreamTracker(policy), size, recorded)
    run = records.run_at(0, policy)
    if newest.step_index is not None and newest.step_index >= 0:
        steps = newest.step_index + 1
    else:
        steps = records.count_all()
    tracker = StreamTracker.resume(policy, run=run, last=newest.step, steps=steps)
    return Recovery(tracker, size, recorded)


def recover(path: str, policy: Policy, *, tool_use_id: str | None = None) -> Recovery:
    """Recover a session from its log at ``path``; an absent log is an empty stream."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return Recovery(StreamTracker(policy), 0)
    try:
        return recover_fd(fd, os.fstat(fd).st_size, policy, tool_use_id=tool_use_id)
    finally:
        os.close(fd)
