"""``recurrence``: what comes back between other calls, within the last ``window`` calls.

Advice for the model, on two kinds of evidence that nothing moved:
- the same call failing the same way a third time although other calls came between:
  what the agent changed in between had no effect on it ("no effect");
- the same call returning the same result a third time with no call between that could
  change what it reads (no edit, no command that writes): a re-read of what the agent
  already has.
Notes for people, looser: the same failure from any call of the tool's family (an
``Edit``, then a ``Write``, refused alike), and the same result after writes.
A call that takes nothing and returns nothing (a framework's ``succeed``) observes
nothing, so it is not counted. State: the keys of the last ``window`` calls."""

from __future__ import annotations

from collections import deque

from .._calls import family
from .._errors import PolicyError
from .._verdict import Step, Verdict
from ._base import Counts, Evidence, RuleSpec, check_int, clip, lead, quoted, state, tool_of

MODEL, PEOPLE = "model", "people"
_EMPTY = "e3b0c44298fc1c14"
"""The digest of an empty result."""


class RecurrenceSettings(Counts):
    """``window``: how many calls back an earlier occurrence still counts."""

    __slots__ = ("window",)
    FIELDS = ("repeat_n", "stall_n", "window")

    window: int

    def __init__(self, repeat_n: int = 3, stall_n: int = 5, window: int = 10) -> None:
        super().__init__(repeat_n, stall_n)
        check_int("window", window)
        if window < 2:
            raise PolicyError(f"window must be >= 2, not {window}")
        object.__setattr__(self, "window", window)


_Key = tuple[str, ...]


class RecurrenceRule:
    __slots__ = ("_clock", "_idle", "_last_write", "_recent", "_seen", "settings")

    def __init__(self, settings: RecurrenceSettings) -> None:
        self.settings = settings
        self._clock = 0
        self._last_write = -1
        self._recent: deque[tuple[int, tuple[_Key, ...]]] = deque()
        self._seen: dict[_Key, list[int]] = {}
        self._idle: dict[str, tuple[str, str]] = {}

    def _prune(self, now: int) -> None:
        horizon = now - self.settings.window
        recent, seen = self._recent, self._seen
        while recent and recent[0][0] < horizon:
            index, keys = recent.popleft()
            for key in keys:
                times = seen[key]
                times.remove(index)
                if not times:
                    del seen[key]

    def _observes_nothing(self, step: Step, tool: str) -> bool:
        if step.result_digest != _EMPTY:
            return False
        idle = self._idle.get(tool)
        if idle is None:
            from .._adapter import canonical_bytes, digest

            name = step.tool_name
            idle = self._idle[tool] = (
                digest(canonical_bytes({"tool": name, "input": {}})),
                digest(canonical_bytes({"tool": name, "input": {"command": name}})),
            )
        return step.args_digest in idle

    def push(self, step: Step, tool: str | None) -> Verdict | None:
        now = self._clock
        self._clock += 1
        if step.writes:
            self._last_write = now
        self._prune(now)
        if tool is None or self._observes_nothing(step, tool):
            return None
        if step.failure_digest is not None:
            keys: tuple[_Key, ...] = (
                ("same call failed", tool, step.call, step.failure_digest),
                ("family failed", family(tool), step.failure_digest),
            )
        else:
            result = step.shape_digest or step.result_digest or ""
            keys = (("same result", tool, step.call, result),)
        found = self._judge(step, keys)
        self._recent.append((now, keys))
        for key in keys:
            self._seen.setdefault(key, []).append(now)
        return found

    def _judge(self, step: Step, keys: tuple[_Key, ...]) -> Verdict | None:
        settings = self.settings
        best: Verdict | None = None
        for key in keys:
            earlier = self._seen.get(key, ())
            count = len(earlier) + 1
            if count < settings.repeat_n:
                continue
            first = earlier[-(settings.repeat_n - 1)] if settings.repeat_n > 1 else self._clock
            if key[0] == "same call failed":
                audience, reason = MODEL, "failed the same way between other calls"
            elif key[0] == "family failed":
                audience, reason = PEOPLE, "the same failure from calls of one family"
            elif self._last_write < first:
                audience, reason = MODEL, "the same result with nothing written between"
            else:
                audience, reason = PEOPLE, "the same result after writes"
            verdict = Verdict(
                state(count, settings.repeat_n, settings.stall_n),
                count,
                step,
                f"{reason}: {count} times in the last {settings.window} calls",
                "recurrence",
                audience=audience,
            )
            if best is None or (best.audience == PEOPLE and audience == MODEL):
                best = verdict
        return best

    def reach(self) -> int:
        return self.settings.window + 1

    def snapshot(self) -> tuple[object, ...]:
        clock = self._clock
        recent = tuple((clock - i, keys) for i, keys in self._recent)
        return (recent, clock - self._last_write if self._last_write >= 0 else None)

    def clone(self) -> RecurrenceRule:
        other = RecurrenceRule(self.settings)
        other._clock = self._clock
        other._last_write = self._last_write
        other._recent = deque(self._recent)
        other._seen = {k: list(v) for k, v in self._seen.items()}
        other._idle = self._idle
        return other


def advice(verdict: Verdict, evidence: Evidence) -> str:
    tool = tool_of(verdict)
    count = verdict.repeat_run
    if evidence.failure is not None:
        return (
            f"{lead(verdict)} the same `{tool}` call has failed the same way {count} times "
            "recently, with other calls in between: what you changed in between has had "
            "no effect on this failure. Stop retrying it as it is; find what the error "
            f"actually depends on.\n\nThe recurring error:\n{clip(evidence.failure)}"
        )
    return (
        f"{lead(verdict)} the same `{tool}` call has returned the same result {count} times "
        "recently, and nothing you did in between could change it (no edit, no command "
        "that writes). You already have this result: use it instead of asking again."
        + quoted(evidence)
    )


def describe(tool: str, count: int, gist: str) -> str:
    what = f"`{tool}` came back {count} times between other calls with nothing new"
    return what + (f": {gist}" if gist else "")


SPEC = RuleSpec("recurrence", RecurrenceSettings, RecurrenceRule, advice, describe)
