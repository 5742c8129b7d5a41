"""``cycle``: the trailing calls are a cycle of 2 to ``MAX_PERIOD`` calls, each
returning what it returned the round before, come round a third time."""

from __future__ import annotations

from collections import deque

from .._verdict import Step, StepKey, StreamState, Verdict
from ._base import Counts, Evidence, RuleSpec, lead, quoted, shape_key, tool_of

MAX_PERIOD = 5


class CycleRule:
    __slots__ = ("_keys", "_matches", "counts")

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self._keys: deque[StepKey | None] = deque(maxlen=MAX_PERIOD)
        self._matches = [0] * (MAX_PERIOD + 1)

    def push(self, step: Step, tool: str | None) -> Verdict | None:
        keys = self._keys
        matches = self._matches
        key = shape_key(step, tool)
        held = len(keys)
        for p in range(2, MAX_PERIOD + 1):
            matches[p] = matches[p] + 1 if key is not None and held >= p and keys[-p] == key else 0
        keys.append(key)
        repeat_n = self.counts.repeat_n
        for p in range(2, MAX_PERIOD + 1):
            covered = matches[p] + p
            if covered < p * repeat_n:
                continue
            if len(set(list(keys)[-p:])) == 1:
                continue  # one call repeating: the noisy rule's, not a cycle
            stalled = covered >= p * self.counts.stall_n
            return Verdict(
                StreamState.STALLED if stalled else StreamState.REPEATING,
                covered,
                step,
                f"the last {covered} calls are {p} calls repeating with the same results",
                "cycle",
                p,
            )
        return None

    def reach(self) -> int:
        return max(len(self._keys), *(m + p for p, m in enumerate(self._matches) if m), 0)

    def snapshot(self) -> tuple[object, ...]:
        return (tuple(self._keys), tuple(self._matches))

    def clone(self) -> CycleRule:
        other = CycleRule(self.counts)
        other._keys = deque(self._keys, maxlen=MAX_PERIOD)
        other._matches = list(self._matches)
        return other


def advice(verdict: Verdict, evidence: Evidence) -> str:
    tool = tool_of(verdict)
    return (
        f"{lead(verdict)} the last {verdict.repeat_run} calls are the same {verdict.period} "
        f"calls repeating, each returning what it returned the round before (ending with "
        f"`{tool}`). Going round again will not bring anything new. Use what these "
        "results already told you, or change the approach." + quoted(evidence)
    )


def describe(tool: str, count: int, gist: str) -> str:
    return f"the same calls went round again and again ({count} calls, ending `{tool}`)"


SPEC = RuleSpec("cycle", Counts, CycleRule, advice, describe)
