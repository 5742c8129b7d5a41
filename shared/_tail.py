"""Recover a session's detector state from the end of its log.

Reads backwards only as far as the rules' state reaches (the trailing runs, a live
cycle or failure chain, the idempotency window), so recovering a 100,000-step log costs
about what a 10-step log costs. The next ``step_index`` continues from the newest
record's own index; only a log whose newest record lacks one is counted in full.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from ._log import iter_records_backwards
from ._policy import Policy
from ._record import Record, encode_id, parse_line
from ._verdict import Verdict
from .rules import Detector

IDEMPOTENCY_WINDOW = 32
"""How many of the newest lines are searched for a repeated ``tool_use_id``."""
_FIRST_FOLD = 8


@dataclass(frozen=True, slots=True)
class Recovery:
    detector: Detector
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

    def newest(self, n: int) -> list[Record]:
        """Up to ``n`` newest records, newest first; fewer only when the log has fewer."""
        self.get(n - 1)
        return self._seen[:n]

    def count_all(self) -> int:
        for record in self._records:
            self._seen.append(record)
        self._exhausted = True
        return len(self._seen)


def _fold(
    records: _Backwards, policy: Policy, target: int | None
) -> tuple[Detector, Verdict | None]:
    """The detector after the newest records, and the verdict at the ``target``-th
    newest, each folded over enough records that older ones could not change it."""
    want = _FIRST_FOLD + (target or 0)
    while True:
        window = records.newest(want)
        whole = len(window) < want
        detector = Detector(policy)
        recorded: Verdict | None = None
        settled = True
        for folded, record in enumerate(reversed(window), 1):
            verdict = detector.push(record.step)
            if target is not None and len(window) - folded == target:
                recorded = verdict
                settled = detector.reach() < folded
        if whole or (settled and detector.reach() < len(window)):
            return detector, recorded
        want *= 4


def _window(fd: int, size: int) -> bytes:
    """The newest ``IDEMPOTENCY_WINDOW`` lines, raw."""
    start = max(0, size - 16384)
    raw = os.pread(fd, size - start, start)
    lines = raw.split(b"\n")
    if len(lines) <= IDEMPOTENCY_WINDOW + 1 and start > 0:
        return raw  # long lines: the window is what one read holds
    return b"\n".join(lines[-(IDEMPOTENCY_WINDOW + 1) :])


def window_ids(fd: int, size: int) -> list[str]:
    """The ``tool_use_id`` of every record in the idempotency window, oldest first."""
    ids: list[str] = []
    for line in _window(fd, size).split(b"\n"):
        ids.extend(r.tool_use_id for r in parse_line(line) if r.tool_use_id is not None)
    return ids


def _find_recorded(fd: int, size: int, records: _Backwards, tool_use_id: str) -> int | None:
    """Which newest record within the window holds ``tool_use_id``. The raw bytes are
    searched first, so a call not yet recorded parses nothing."""
    raw = _window(fd, size)
    if encode_id(tool_use_id) not in raw:
        return None
    in_window = sum(len(parse_line(line)) for line in raw.split(b"\n"))
    for i in range(in_window):
        record = records.get(i)
        if record is not None and record.tool_use_id == tool_use_id:
            return i
    return None


def recover_fd(fd: int, size: int, policy: Policy, *, tool_use_id: str | None = None) -> Recovery:
    """Recover from the first ``size`` bytes of an open log."""
    records = _Backwards(iter_records_backwards(fd, size))
    target = None if tool_use_id is None else _find_recorded(fd, size, records, tool_use_id)
    newest = records.get(0)
    if newest is None:
        return Recovery(Detector(policy), size)
    detector, recorded = _fold(records, policy, target)
    if newest.step_index is not None and newest.step_index >= 0:
        detector.steps = newest.step_index + 1
    else:
        detector.steps = records.count_all()
    detector.exact.steps = detector.steps
    if newest.in_loops is not None:  # the whole session's, which no tail holds
        detector.in_loops = newest.in_loops
    if newest.stop is not None:
        detector.stopped = (newest.step.tool_name, *newest.stop, detector.in_loops)
    return Recovery(detector, size, recorded)


def recover(path: str, policy: Policy, *, tool_use_id: str | None = None) -> Recovery:
    """Recover a session from its log at ``path``; an absent log is an empty stream."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return Recovery(Detector(policy), 0)
    try:
        return recover_fd(fd, os.fstat(fd).st_size, policy, tool_use_id=tool_use_id)
    finally:
        os.close(fd)
