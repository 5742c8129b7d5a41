"""``exact``: the same call returning byte-identical results, dos-kernel's rule, with
its settings in dos-kernel's ``[tool_stream]`` table. ``classify`` folds a whole
stream; ``StreamTracker`` folds one step at a time in O(1) and always agrees with it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._verdict import Step, StepKey, StreamState, Verdict
from ._base import Counts, Evidence, RuleSpec, lead, quoted, tool_of

if TYPE_CHECKING:
    from .._policy import Policy


def verdict_for_run(run: int, last: Step | None, policy: Policy) -> Verdict:
    """The verdict for a trailing run of ``run`` identical steps ending at ``last``."""
    repeated = last if run >= 2 else None
    if run >= policy.stall_n:
        return Verdict(
            StreamState.STALLED,
            run,
            repeated,
            f"the same call returned identical bytes {run} times in a row "
            f"(stall threshold {policy.stall_n})",
        )
    if run >= policy.repeat_n:
        return Verdict(
            StreamState.REPEATING,
            run,
            repeated,
            f"the same call returned identical bytes {run} times in a row "
            f"(repeat threshold {policy.repeat_n})",
        )
    return Verdict(
        StreamState.ADVANCING,
        run,
        None,
        f"trailing identical run {run} is below the repeat threshold {policy.repeat_n}",
    )


def _default_policy() -> Policy:
    from .._policy import DEFAULT_POLICY  # the policy module imports the rules

    return DEFAULT_POLICY


def classify(steps: Iterable[Step], given: Policy | None = None) -> Verdict:
    """Classify a whole stream (oldest step first)."""
    policy = given if given is not None else _default_policy()
    ordered = list(steps)
    if not ordered:
        return verdict_for_run(0, None, policy)
    last = ordered[-1]
    last_key = last.key(policy)
    run = 1
    if last_key is not None:
        for prev in reversed(ordered[:-1]):
            if prev.key(policy) != last_key:
                break
            run += 1
    return verdict_for_run(run, last, policy)


class StreamTracker:
    """The incremental form of ``classify``: constant time and memory per step."""

    __slots__ = ("_last_key", "last", "policy", "run", "steps")

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy if policy is not None else _default_policy()
        self.run = 0
        self.steps = 0
        self.last: Step | None = None
        self._last_key: StepKey | None = None

    @classmethod
    def resume(cls, policy: Policy, *, run: int, last: Step | None, steps: int) -> StreamTracker:
        """A tracker positioned after ``steps`` steps whose trailing run is ``run``."""
        tracker = cls(policy)
        tracker.run = run
        tracker.steps = steps
        tracker.last = last
        tracker._last_key = last.key(policy) if last is not None else None
        return tracker

    def peek(self, step: Step) -> Verdict:
        """The verdict ``push(step)`` would return, without changing the tracker."""
        key = step.key(self.policy)
        run = self.run + 1 if key is not None and key == self._last_key else 1
        return verdict_for_run(run, step, self.policy)

    def push(self, step: Step) -> Verdict:
        verdict = self.peek(step)
        self.run = verdict.repeat_run
        self.steps += 1
        self.last = step
        self._last_key = step.key(self.policy)
        return verdict

    def verdict(self) -> Verdict:
        return verdict_for_run(self.run, self.last, self.policy)


def advice(verdict: Verdict, evidence: Evidence) -> str:
    tool = tool_of(verdict)
    step = verdict.repeated_step
    digest = step.result_digest if step else "unknown"
    return (
        f"{lead(verdict)} `{tool}` has returned byte-identical output for "
        f"the same call {verdict.repeat_run} times in a row (result digest {digest}). "
        "Asking again will not change the answer. Use the value you already have; if you "
        "are waiting for a background task or an asynchronous write, wait for its "
        "completion signal before you check again." + quoted(evidence)
    )


def describe(tool: str, count: int, gist: str) -> str:
    return f"`{tool}` returned identical output {count} times in a row"


SPEC = RuleSpec("exact", Counts, None, advice, describe)
