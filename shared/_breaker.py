"""The circuit breaker, opt-in per workspace (``[streamd.breaker]`` in ``dos.toml``):
when advice has not helped, stop the agent through its host's own mechanism. It acts
only on advice for the model (the precise findings), never on notes for people, and
decides from the session log alone, so the daemon and the hook's fallback stop alike
and a resumed session that keeps looping is stopped again."""

from __future__ import annotations

from collections.abc import Mapping

from ._errors import PolicyError
from ._verdict import Verdict

BREAKER_TABLE = "breaker"
KEYS = ("stop_at", "budget")


class Breaker:
    """``stop_at``: stop when one loop reaches this count (calls, or rounds of a cycle);
    ``budget``: stop when this many calls of the session have fallen inside loops.
    Either may be None (not that limit); not both."""

    __slots__ = ("budget", "stop_at")

    def __init__(self, stop_at: int | None = None, budget: int | None = None) -> None:
        for name, value in (("stop_at", stop_at), ("budget", budget)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise PolicyError(f"{name} must be an integer of 1 or more, not {value!r}")
        if stop_at is None and budget is None:
            raise PolicyError("needs stop_at or budget (or both)")
        object.__setattr__(self, "stop_at", stop_at)
        object.__setattr__(self, "budget", budget)

    stop_at: int | None
    budget: int | None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Breaker is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Breaker):
            return NotImplemented
        return (self.stop_at, self.budget) == (other.stop_at, other.budget)

    def __hash__(self) -> int:
        return hash((self.stop_at, self.budget))

    def __repr__(self) -> str:
        return f"Breaker(stop_at={self.stop_at!r}, budget={self.budget!r})"

    def trips(self, verdict: Verdict, in_loops: int) -> bool:
        """Whether this advice stops the agent."""
        if not verdict.fired or verdict.audience != "model":
            return False
        if self.stop_at is not None and loop_count(verdict) >= self.stop_at:
            return True
        return self.budget is not None and in_loops >= self.budget

    def outlook(self, verdict: Verdict, in_loops: int) -> str:
        """What the advice adds while the breaker is armed: how far the agent is from
        being stopped."""
        parts = []
        if self.stop_at is not None:
            parts.append(f"this loop is at {loop_count(verdict)} of {self.stop_at}")
        if self.budget is not None:
            parts.append(f"{in_loops} of {self.budget} calls of this session spent in loops")
        return (
            "\n\nThe circuit breaker in dos.toml stops this session when a loop goes on: "
            + "; ".join(parts)
            + ". Change course now."
        )


def loop_count(verdict: Verdict) -> int:
    """The loop's count in its rule's own unit: rounds for a cycle, else calls."""
    if verdict.rule == "cycle" and verdict.period > 1:
        return verdict.repeat_run // verdict.period
    return verdict.repeat_run


def parse_breaker(table: object, where: str) -> Breaker:
    if not isinstance(table, Mapping):
        raise PolicyError(f"{where} must be a table, not {table!r}")
    for key in table:
        if key not in KEYS:
            raise PolicyError(f"{where} has unknown key {key!r} (known keys: {', '.join(KEYS)})")
    try:
        return Breaker(table.get("stop_at"), table.get("budget"))
    except PolicyError as exc:
        raise PolicyError(f"{where} {exc}") from None


def stop_reason(tool: str, rule: str, count: int, in_loops: int) -> str:
    """What the user reads when the breaker stops the agent: the loop, and how to go on."""
    times = f"{count} rounds" if rule == "cycle" else f"{count} times"
    return (
        f"streamd's circuit breaker stopped the agent: `{tool}` brought nothing new "
        f"{times} ({rule} rule; {in_loops} calls of this session inside loops). Read the "
        "last warnings in the transcript, then continue with new instructions; to turn the "
        "breaker off, remove [streamd.breaker] from dos.toml."
    )
