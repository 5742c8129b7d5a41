"""The verdict: is the tool stream advancing, or returning the same bytes again?

Pure: digests in, a verdict out. ``classify`` folds a whole stream; ``StreamTracker``
folds one step at a time in O(1) and always agrees with it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from ._policy import DEFAULT_POLICY, Policy


class StreamState(enum.StrEnum):
    ADVANCING = "ADVANCING"
    REPEATING = "REPEATING"
    STALLED = "STALLED"


StepKey = tuple[str, str, str]
FailureKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Step:
    """One tool call: who was called with what, and the digest of what came back.
    ``shape_digest`` hashes the result without its noise (None: it had none, so the
    exact digest is its shape);
    ``failure_digest`` fingerprints a failed call's error."""

    tool_name: str
    args_digest: str
    result_digest: str | None = None
    shape_digest: str | None = None
    failure_digest: str | None = None

    def _tool(self, policy: Policy) -> str | None:
        """The casefolded tool when this step can extend a run: it has a result and its
        tool is not exempt."""
        if self.result_digest is None:
            return None
        folded = self.tool_name.casefold()
        return None if folded in policy.ignored else folded

    def key(self, policy: Policy) -> StepKey | None:
        """The identity two steps must share to extend a run; None breaks any run."""
        tool = self._tool(policy)
        if tool is None or self.result_digest is None:
            return None
        return (tool, self.args_digest, self.result_digest)

    def shape_key(self, policy: Policy) -> StepKey | None:
        """The same call with a result of the same shape (noise aside)."""
        tool = self._tool(policy)
        if tool is None or self.result_digest is None:
            return None
        return (tool, self.args_digest, self.shape_digest or self.result_digest)

    def failure_key(self, policy: Policy) -> FailureKey | None:
        """The same tool failing the same way, whatever its arguments."""
        tool = self._tool(policy)
        if tool is None or self.failure_digest is None:
            return None
        return (tool, self.failure_digest)


@dataclass(frozen=True, slots=True)
class Verdict:
    """``repeat_run`` counts the repeated calls (for ``cycle``, the steps the repeating
    cycle covers, ``period`` calls a round); ``rule`` names the rule that decided."""

    state: StreamState
    repeat_run: int
    repeated_step: Step | None
    reason: str
    rule: str = "exact"
    period: int = 1

    @property
    def fired(self) -> bool:
        return self.state is not StreamState.ADVANCING


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


def classify(steps: Iterable[Step], policy: Policy = DEFAULT_POLICY) -> Verdict:
    """Classify a whole stream (oldest step first)."""
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

    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        self.policy = policy
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
