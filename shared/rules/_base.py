"""What every rule module defines: its settings (read from ``[streamd.<name>]``), the
fold itself (push, reach, snapshot, clone), its advice to the model and its line in a
report. ``RuleSpec`` ties them together; the registry is ``rules.SPECS``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import PolicyError
from .._verdict import Step, StepKey, StreamState, Verdict

RANK = {StreamState.ADVANCING: 0, StreamState.REPEATING: 1, StreamState.STALLED: 2}
EXCERPT_LIMIT = 1000


def state(count: int, repeat_n: int, stall_n: int) -> StreamState:
    if count >= stall_n:
        return StreamState.STALLED
    if count >= repeat_n:
        return StreamState.REPEATING
    return StreamState.ADVANCING


def shape_key(step: Step, tool: str | None) -> StepKey | None:
    """The same call with a result of the same shape (noise aside); None breaks a run."""
    if tool is None:
        return None
    return (tool, step.args_digest, step.shape_digest or step.result_digest or "")


def check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{name} must be an integer, not {value!r}")
    return value


# Plain classes here, not dataclasses, NamedTuples or Protocols: the hook's fallback
# imports this package on every call it decides, and building those costs milliseconds.
class Counts:
    """The occurrences (calls, or a cycle's rounds) that make a rule REPEATING and
    STALLED: a third and a fifth by default, as dos-kernel's own rule. Immutable;
    ``FIELDS`` are its settings' keys."""

    __slots__ = ("repeat_n", "stall_n")
    FIELDS: tuple[str, ...] = ("repeat_n", "stall_n")

    repeat_n: int
    stall_n: int

    def __init__(self, repeat_n: int = 3, stall_n: int = 5) -> None:
        check_int("repeat_n", repeat_n)
        check_int("stall_n", stall_n)
        if repeat_n < 1:
            raise PolicyError(f"repeat_n must be >= 1, not {repeat_n}")
        if stall_n < repeat_n:
            raise PolicyError(f"stall_n ({stall_n}) must be >= repeat_n ({repeat_n})")
        object.__setattr__(self, "repeat_n", repeat_n)
        object.__setattr__(self, "stall_n", stall_n)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[Counts], tuple[object, ...]]:
        """Rebuilt from its settings, in ``FIELDS`` order (the report's worker processes
        receive the policy)."""
        return type(self), self._values()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Counts)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({shown})"


def settings_from_table(kind: type[Counts], table: Mapping[str, object]) -> Counts:
    """A rule's settings from its table; raises ``PolicyError`` naming the key."""
    known = set(kind.FIELDS)
    for key in table:
        if key not in known:
            raise PolicyError(f"has unknown key {key!r} (known keys: {', '.join(sorted(known))})")
    values = {key: check_int(key, table[key]) for key in known if key in table}
    return kind(**values)


class Evidence:
    """What the advice quotes: the result as the model read it, clipped, and a failed
    call's error text."""

    __slots__ = ("failure", "result")

    def __init__(self, result: str | None, failure: str | None) -> None:
        self.result = result
        self.failure = failure


def clip(text: str, limit: int = EXCERPT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"


def lead(verdict: Verdict) -> str:
    if verdict.state is StreamState.STALLED:
        return f"streamd: the loop looks stuck. {verdict.state.value}:"
    return f"streamd: no new information. {verdict.state.value}:"


def tool_of(verdict: Verdict) -> str:
    step = verdict.repeated_step
    return step.tool_name if step else "this tool"


def quoted(evidence: Evidence) -> str:
    return "" if evidence.result is None else f"\n\nThe repeated result:\n{evidence.result}"


if TYPE_CHECKING:
    from typing import Protocol

    class Rule(Protocol):
        """One rule's fold over a session's steps. ``tool`` is the step's casefolded
        tool when the step can extend a run (it has a result and its tool is not
        exempt), else None; a rule answers None when it has nothing to say."""

        def push(self, step: Step, tool: str | None) -> Verdict | None: ...

        def reach(self) -> int:
            """How many trailing steps this state depends on."""
            ...

        def snapshot(self) -> tuple[object, ...]:
            """The state, positions relative to now: equal snapshots decide alike."""
            ...

        def clone(self) -> Rule: ...


class RuleSpec:
    """A rule: its ``name``; its ``settings`` type; ``make``, a fresh fold from those
    settings (None for dos-kernel's own rule, which the ``Detector`` always runs: every
    record keeps its verdict); its ``advice`` to the model when it decided the verdict;
    and ``describe``, a report's line for a loop it found (tool, count, error gist)."""

    __slots__ = ("advice", "describe", "make", "name", "settings")

    def __init__(
        self,
        name: str,
        settings: type[Counts],
        make: Callable[[Any], Rule] | None,
        advice: Callable[[Verdict, Evidence], str],
        describe: Callable[[str, int, str], str],
    ) -> None:
        self.name = name
        self.settings = settings
        self.make = make
        self.advice = advice
        self.describe = describe
