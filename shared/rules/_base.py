"""What every rule module defines: its settings (read from ``[streamd.<name>]``), the
fold itself (push, reach, snapshot, clone), its advice to the model and its line in a
report. ``RuleSpec`` ties them together; the registry is ``rules.SPECS``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple, Protocol

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


@dataclass(frozen=True, slots=True)
class Counts:
    """The occurrences (calls, or a cycle's rounds) that make a rule REPEATING and
    STALLED: a third and a fifth by default, as dos-kernel's own rule."""

    repeat_n: int = 3
    stall_n: int = 5

    def __post_init__(self) -> None:
        check_int("repeat_n", self.repeat_n)
        check_int("stall_n", self.stall_n)
        if self.repeat_n < 1:
            raise PolicyError(f"repeat_n must be >= 1, not {self.repeat_n}")
        if self.stall_n < self.repeat_n:
            raise PolicyError(f"stall_n ({self.stall_n}) must be >= repeat_n ({self.repeat_n})")


def settings_from_table(kind: type[Counts], table: Mapping[str, object]) -> Counts:
    """A rule's settings from its table; raises ``PolicyError`` naming the key."""
    known = {f.name for f in fields(kind)}
    for key in table:
        if key not in known:
            raise PolicyError(f"has unknown key {key!r} (known keys: {', '.join(sorted(known))})")
    values = {key: check_int(key, table[key]) for key in known if key in table}
    return kind(**values)


class Evidence(NamedTuple):
    """What the advice quotes: the result as the model read it, clipped, and a failed
    call's error text."""

    result: str | None
    failure: str | None


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


class Rule(Protocol):
    """One rule's fold over a session's steps. ``tool`` is the step's casefolded tool
    when the step can extend a run (it has a result and its tool is not exempt), else
    None; a rule answers None when it has nothing to say."""

    def push(self, step: Step, tool: str | None) -> Verdict | None: ...

    def reach(self) -> int:
        """How many trailing steps this state depends on."""
        ...

    def snapshot(self) -> tuple[object, ...]:
        """The state, positions relative to now: equal snapshots decide alike."""
        ...

    def clone(self) -> Rule: ...


@dataclass(frozen=True, slots=True)
class RuleSpec:
    name: str
    settings: type[Counts]
    make: Callable[[Any], Rule] | None
    """A fresh fold, from the rule's settings; None for dos-kernel's own rule, which the
    ``Detector`` always runs (every record keeps its verdict)."""
    advice: Callable[[Verdict, Evidence], str]
    """What the model is told when this rule decided the verdict."""
    describe: Callable[[str, int, str], str]
    """A report's line for a loop this rule found: (tool, count, error gist)."""
