"""``Detector``: every enabled rule over one session's steps, beside dos-kernel's exact
rule, which always runs (each record keeps its verdict). The verdict is the strongest
enabled rule's advice for the model (STALLED over REPEATING, then the order of
``SPECS``), else its strongest note for people; with only ``exact`` enabled it is
dos-kernel's verdict."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .._verdict import Step, StreamState, Verdict
from . import cycle, exact, failure, noisy, recurrence
from ._base import RANK, RuleSpec

if TYPE_CHECKING:
    from .._policy import Policy
    from ._base import Rule

SPECS: tuple[RuleSpec, ...] = (
    exact.SPEC,
    noisy.SPEC,
    failure.SPEC,
    cycle.SPEC,
    recurrence.SPEC,
)
BY_NAME = {spec.name: spec for spec in SPECS}
RULES = tuple(spec.name for spec in SPECS)


class Detector:
    """``steps`` is the next step index."""

    __slots__ = (
        "_artifacts",
        "_exact_on",
        "_firing",
        "_ignored",
        "_real",
        "_rules",
        "exact",
        "in_loops",
        "policy",
        "steps",
        "stopped",
    )

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.exact = exact.StreamTracker(policy)
        self.steps = 0
        self._real = 0
        self.in_loops = 0
        """Calls of the session inside loops the model was advised of (the breaker's
        budget); recorded on each step once it is not 0, so a tail recovers it."""
        self._firing = False
        self.stopped: tuple[str, str, int, int] | None = None
        """The breaker's stop at the newest step (tool, rule, count, calls in loops)."""
        self._artifacts: deque[int] = deque()
        """Where the host's artifacts were: the rules skip them, so a state reaches
        back past them."""
        self._exact_on = "exact" in policy.rules
        self._ignored = policy.ignored
        self._rules: list[Rule] = []
        for name in policy.rules:
            make = BY_NAME[name].make
            if make is not None:
                self._rules.append(make(policy.settings[name]))

    def clone(self) -> Detector:
        other = Detector.__new__(Detector)
        other.policy = self.policy
        other.exact = exact.StreamTracker.resume(
            self.policy, run=self.exact.run, last=self.exact.last, steps=self.exact.steps
        )
        other.steps = self.steps
        other._real = self._real
        other.in_loops = self.in_loops
        other._firing = self._firing
        other.stopped = self.stopped
        other._artifacts = deque(self._artifacts)
        other._exact_on = self._exact_on
        other._ignored = self._ignored
        other._rules = [rule.clone() for rule in self._rules]
        return other

    def snapshot(self) -> tuple[object, ...]:
        """The whole state, positions relative to now: equal snapshots decide every
        future step alike."""
        rules = tuple(rule.snapshot() for rule in self._rules)
        return (self.steps, self.exact.run, self.exact.last, rules)

    def peek(self, step: Step) -> Verdict:
        """The verdict ``push(step)`` would return, without changing the detector."""
        return self.clone().push(step)

    def push(self, step: Step) -> Verdict:
        self.stopped = None  # the caller sets it when the breaker trips at this step
        if step.artifact is not None:  # the host's doing, not an attempt: no rule sees it
            self._artifacts.append(self.steps)
            if len(self._artifacts) > 64:
                horizon = self.steps - self.reach()
                while self._artifacts and self._artifacts[0] < horizon:
                    self._artifacts.popleft()
            self.steps += 1
            self.exact.steps += 1
            return Verdict(StreamState.ADVANCING, 0, None, f"the host's ({step.artifact})")
        verdict = self.exact.push(step)
        self.steps += 1
        self._real += 1
        tool: str | None = None
        if step.result_digest is not None:
            tool = step.tool_name.casefold()
            if tool in self._ignored:
                tool = None
        chosen = verdict if self._exact_on and verdict.fired else None
        note: Verdict | None = None
        for rule in self._rules:
            fired = rule.push(step, tool)
            if fired is None:
                continue
            if fired.audience != "model":
                if note is None or RANK[fired.state] > RANK[note.state]:
                    note = fired
            elif chosen is None or RANK[fired.state] > RANK[chosen.state]:
                chosen = fired
        if chosen is not None:
            self.in_loops += 1 if self._firing else chosen.repeat_run
            self._firing = True
            return chosen
        self._firing = False
        if note is not None:  # for people; the model hears it only if the policy says so
            return note
        if verdict.fired:  # the exact rule is switched off
            return Verdict(StreamState.ADVANCING, verdict.repeat_run, None, "no rule fired")
        return verdict

    def reach(self) -> int:
        """How many trailing steps this state depends on: a fold over more steps than
        that, from any starting point, reaches the same state."""
        need = max(self.exact.run, *(rule.reach() for rule in self._rules), 0)
        if not self._artifacts:
            return need
        need = max(need, 1)  # the state holds the last real step at least
        if need >= self._real:
            return self.steps + 1  # all the real steps seen, and perhaps ones before
        horizon = self.steps - need
        for position in reversed(self._artifacts):
            if position < horizon:
                break
            horizon -= 1  # an artifact inside the reach: one more record to read
        return self.steps - horizon
