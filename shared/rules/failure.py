"""``failure``: the same tool, or tools of one family (``Edit``, ``MultiEdit``, ``Write``),
failing with the same fingerprint (the gist of its error), whatever the arguments, a
third time with at most ``gap`` other calls between."""

from __future__ import annotations

from dataclasses import dataclass

from .._calls import family
from .._errors import PolicyError
from .._shape import failure_gist
from .._verdict import FailureKey, Step, Verdict
from ._base import Counts, Evidence, RuleSpec, check_int, clip, lead, state, tool_of
from .exact import advice as exact_advice


class FailureSettings(Counts):
    """``gap``: other calls allowed between two attempts."""

    __slots__ = ("gap",)
    FIELDS = ("repeat_n", "stall_n", "gap")

    gap: int

    def __init__(self, repeat_n: int = 3, stall_n: int = 5, gap: int = 0) -> None:
        super().__init__(repeat_n, stall_n)
        check_int("gap", gap)
        if gap < 0:
            raise PolicyError(f"gap must be >= 0, not {gap}")
        object.__setattr__(self, "gap", gap)


@dataclass(slots=True)
class _Chain:
    """Attempts of one tool that failed with one fingerprint."""

    count: int
    first: int
    last: int


class FailureRule:
    __slots__ = ("_chains", "_clock", "settings")

    def __init__(self, settings: FailureSettings) -> None:
        self.settings = settings
        self._clock = 0
        self._chains: dict[FailureKey, _Chain] = {}

    def push(self, step: Step, tool: str | None) -> Verdict | None:
        now = self._clock
        self._clock += 1
        gap = self.settings.gap
        kind = family(tool if tool is not None else step.tool_name.casefold())
        fkey = None if tool is None or step.failure_digest is None else (kind, step.failure_digest)
        chains = self._chains
        chain = chains.get(fkey) if fkey is not None else None
        if chains:
            # Any other outcome of this family ends its chains; so does too long a gap.
            self._chains = chains = {
                k: c for k, c in chains.items() if k[0] != kind and now - c.last <= gap
            }
        if fkey is None:
            return None
        if chain is not None and now - chain.last - 1 <= gap:
            chain = _Chain(chain.count + 1, chain.first, now)
        else:
            chain = _Chain(1, now, now)
        chains[fkey] = chain
        if chain.count < self.settings.repeat_n:
            return None
        return Verdict(
            state(chain.count, self.settings.repeat_n, self.settings.stall_n),
            chain.count,
            step,
            f"the same tool failed with the same error {chain.count} times in a row",
            "failure",
        )

    def reach(self) -> int:
        gap = self.settings.gap
        return max((self._clock - c.first + gap + 1 for c in self._chains.values()), default=0)

    def snapshot(self) -> tuple[object, ...]:
        clock = self._clock
        return tuple(
            sorted((k, c.count, clock - c.first, clock - c.last) for k, c in self._chains.items())
        )

    def clone(self) -> FailureRule:
        other = FailureRule(self.settings)
        other._clock = self._clock
        other._chains = {k: _Chain(c.count, c.first, c.last) for k, c in self._chains.items()}
        return other


def advice(verdict: Verdict, evidence: Evidence) -> str:
    if evidence.failure is None:
        return exact_advice(verdict, evidence)
    tool = tool_of(verdict)
    gist = failure_gist(evidence.failure)
    first = gist.splitlines()[0] if gist else "(no error text)"
    return (
        f"{lead(verdict)} `{tool}` has failed {verdict.repeat_run} times in a row with the "
        f"same error: {first}\nChanging the arguments has not changed the failure. Read the "
        "error again and deal with its cause before you retry; if the approach cannot "
        f"work, try a different one.\n\nThe recurring error:\n{clip(evidence.failure)}"
    )


def describe(tool: str, count: int, gist: str) -> str:
    what = f"`{tool}` failed {count} times in a row with the same error"
    return what + (f": {gist}" if gist else "")


SPEC = RuleSpec("failure", FailureSettings, FailureRule, advice, describe)
