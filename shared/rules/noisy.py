"""``noisy``: the same call returning results of the same shape (noise aside: timings,
ids, temp paths), a third time in a row."""

from __future__ import annotations

from .._verdict import Step, StepKey, Verdict
from ._base import Counts, Evidence, RuleSpec, lead, quoted, shape_key, state, tool_of


class NoisyRule:
    __slots__ = ("_key", "_run", "counts")

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self._key: StepKey | None = None
        self._run = 0

    def push(self, step: Step, tool: str | None) -> Verdict | None:
        key = shape_key(step, tool)
        run = self._run + 1 if key is not None and key == self._key else 1
        self._key, self._run = key, run
        if run < self.counts.repeat_n:
            return None
        return Verdict(
            state(run, self.counts.repeat_n, self.counts.stall_n),
            run,
            step,
            f"the same call returned results that differ only in noise {run} times in a row",
            "noisy",
        )

    def reach(self) -> int:
        return self._run

    def snapshot(self) -> tuple[object, ...]:
        return (self._key, self._run)

    def clone(self) -> NoisyRule:
        other = NoisyRule(self.counts)
        other._key, other._run = self._key, self._run
        return other


def advice(verdict: Verdict, evidence: Evidence) -> str:
    tool = tool_of(verdict)
    return (
        f"{lead(verdict)} `{tool}` has returned the same output for the same call "
        f"{verdict.repeat_run} times in a row; only timings, ids or other noise changed. "
        "Asking again will not change the answer. Use the value you already have; if you "
        "are waiting for a background task, wait for its completion signal before you "
        "check again." + quoted(evidence)
    )


def describe(tool: str, count: int, gist: str) -> str:
    return f"`{tool}` returned the same (noise aside) output {count} times in a row"


SPEC = RuleSpec("noisy", Counts, NoisyRule, advice, describe)
