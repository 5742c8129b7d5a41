"""streamd's rules, folded one step at a time beside dos-kernel's exact rule.

- ``exact``: the same call returning byte-identical results (dos-kernel's rule).
- ``noisy``: the same call returning results of the same shape (noise aside).
- ``failure``: the same tool failing the same way, whatever its arguments.
- ``cycle``: the trailing calls are a cycle of 2 to ``MAX_PERIOD`` calls, each
  returning what it returned the round before, come round ``cycle_repeat_n`` times.

Every rule asks for the same evidence by default: a third occurrence (the third
identical result, the third same failure, the third round) makes it REPEATING, a fifth
STALLED; a single repetition is rarely a loop.

``Detector`` keeps O(``MAX_PERIOD`` + failure gap) state. Its verdict is the strongest
of the enabled rules that fire (STALLED over REPEATING, then the order above); with
only ``exact`` enabled it is dos-kernel's verdict.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ._policy import MAX_PERIOD, RULES, Policy
from ._verdict import FailureKey, Step, StepKey, StreamState, StreamTracker, Verdict

_RANK = {StreamState.ADVANCING: 0, StreamState.REPEATING: 1, StreamState.STALLED: 2}


@dataclass(slots=True)
class _Chain:
    """Consecutive attempts of one tool that failed with one fingerprint."""

    count: int
    first: int
    last: int


def _state(count: int, repeat_n: int, stall_n: int) -> StreamState:
    if count >= stall_n:
        return StreamState.STALLED
    if count >= repeat_n:
        return StreamState.REPEATING
    return StreamState.ADVANCING


class Detector:
    """Every enabled rule over one session's steps; ``steps`` is the next step index."""

    __slots__ = (
        "_chains",
        "_clock",
        "_keys",
        "_matches",
        "_noisy_key",
        "_noisy_run",
        "exact",
        "policy",
        "steps",
    )

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.exact = StreamTracker(policy)
        self.steps = 0
        self._clock = 0
        self._noisy_key: StepKey | None = None
        self._noisy_run = 0
        self._keys: deque[StepKey | None] = deque(maxlen=MAX_PERIOD)
        self._matches = [0] * (MAX_PERIOD + 1)
        self._chains: dict[FailureKey, _Chain] = {}

    def clone(self) -> Detector:
        other = Detector.__new__(Detector)
        other.policy = self.policy
        other.exact = StreamTracker.resume(
            self.policy, run=self.exact.run, last=self.exact.last, steps=self.exact.steps
        )
        other.steps = self.steps
        other._clock = self._clock
        other._noisy_key = self._noisy_key
        other._noisy_run = self._noisy_run
        other._keys = deque(self._keys, maxlen=MAX_PERIOD)
        other._matches = list(self._matches)
        other._chains = {k: _Chain(c.count, c.first, c.last) for k, c in self._chains.items()}
        return other

    def snapshot(self) -> tuple[object, ...]:
        """The whole state, positions relative to now: equal snapshots decide every
        future step alike."""
        chains = sorted(
            (k, c.count, self._clock - c.first, self._clock - c.last)
            for k, c in self._chains.items()
        )
        return (
            self.steps,
            self.exact.run,
            self.exact.last,
            self._noisy_key,
            self._noisy_run,
            tuple(self._keys),
            tuple(self._matches),
            tuple(chains),
        )

    def peek(self, step: Step) -> Verdict:
        """The verdict ``push(step)`` would return, without changing the detector."""
        return self.clone().push(step)

    def push(self, step: Step) -> Verdict:
        policy = self.policy
        exact = self.exact.push(step)
        key = step.shape_key(policy)
        noisy = self._push_noisy(step, key)
        failure = self._push_failure(step)
        cycle = self._push_cycle(step, key)
        self._clock += 1
        self.steps += 1
        chosen = exact if "exact" in policy.rules else None
        for rule, verdict in (("noisy", noisy), ("failure", failure), ("cycle", cycle)):
            if verdict is None or rule not in policy.rules:
                continue
            if chosen is None or _RANK[verdict.state] > _RANK[chosen.state]:
                chosen = verdict
        if chosen is not None and chosen.fired:
            return chosen
        if exact.fired:  # the exact rule is switched off
            return Verdict(StreamState.ADVANCING, exact.repeat_run, None, "no rule fired", "exact")
        return exact

    def reach(self) -> int:
        """How many trailing steps this state depends on: a fold over more steps than
        that, from any starting point, reaches the same state."""
        gap = self.policy.failure_gap
        chains = [self._clock - c.first + gap + 1 for c in self._chains.values()]
        cycles = [m + p for p, m in enumerate(self._matches) if m]
        return max(
            len(self._keys),
            self.exact.run,
            self._noisy_run,
            *chains,
            *cycles,
        )

    def _push_noisy(self, step: Step, key: StepKey | None) -> Verdict:
        run = self._noisy_run + 1 if key is not None and key == self._noisy_key else 1
        self._noisy_key, self._noisy_run = key, run
        policy = self.policy
        state = _state(run, policy.noisy_repeat_n, policy.noisy_stall_n)
        return Verdict(
            state,
            run,
            step if run >= 2 else None,
            f"the same call returned results that differ only in noise {run} times in a row",
            "noisy",
        )

    def _push_failure(self, step: Step) -> Verdict | None:
        policy = self.policy
        now = self._clock
        folded = step.tool_name.casefold()
        fkey = step.failure_key(policy)
        chain = self._chains.get(fkey) if fkey is not None else None
        # Any other outcome of this tool ends its chains; so does too long a gap.
        self._chains = {
            k: c
            for k, c in self._chains.items()
            if k[0] != folded and now - c.last <= policy.failure_gap
        }
        if fkey is None:
            return None
        if chain is not None and now - chain.last - 1 <= policy.failure_gap:
            chain = _Chain(chain.count + 1, chain.first, now)
        else:
            chain = _Chain(1, now, now)
        self._chains[fkey] = chain
        state = _state(chain.count, policy.failure_repeat_n, policy.failure_stall_n)
        return Verdict(
            state,
            chain.count,
            step,
            f"the same tool failed with the same error {chain.count} times in a row",
            "failure",
        )

    def _push_cycle(self, step: Step, key: StepKey | None) -> Verdict | None:
        keys = self._keys
        matches = self._matches
        for p in range(2, MAX_PERIOD + 1):
            same = key is not None and len(keys) >= p and keys[-p] == key
            matches[p] = matches[p] + 1 if same else 0
        keys.append(key)
        policy = self.policy
        for p in range(2, MAX_PERIOD + 1):
            covered = matches[p] + p
            if covered < p * policy.cycle_repeat_n:
                continue
            if len(set(list(keys)[-p:])) == 1:
                continue  # one call repeating: the noisy rule's, not a cycle
            stalled = covered >= p * policy.cycle_stall_n
            return Verdict(
                StreamState.STALLED if stalled else StreamState.REPEATING,
                covered,
                step,
                f"the last {covered} calls are {p} calls repeating with the same results",
                "cycle",
                p,
            )
        return None


__all__ = ["RULES", "Detector"]
