"""The analysis behind ``streamd report``: each transcript played through the same
detector the hook runs, as a typed ``SessionResult``, and the totals over all of them
(``Report``). Reporters (text, JSON, HTML) only read these; memory is bounded by one
session."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from streamd.shared import (
    MAX_PERIOD,
    Detector,
    HookEvent,
    Policy,
    Step,
    Transcript,
    UnknownFormat,
    UnreadableFile,
    Verdict,
    adapt_event,
    call_digests,
    canonical_bytes,
    excerpt,
    failure_gist,
    hosts,
    read_transcript,
    rules,
)
from streamd.shared._adapter import ABSENT
from streamd.shared._formats import RECORDED_STEP

BYTES_PER_TOKEN = 4
"""A rough rule for text and code under BPE tokenizers; the estimate says it is one."""
TRANSCRIPT_ENDINGS = (".jsonl", ".traj", ".traj.json", ".json")


@dataclass(frozen=True, slots=True)
class Call:
    """One call as the page shows it."""

    state: str
    rule: str
    tool: str
    arguments: str
    result: str


@dataclass(slots=True)
class Loop:
    start: int
    end: int
    rule: str
    tool: str
    count: int
    gist: str
    result_bytes: int = 0
    timestamp: str | None = None
    """When the loop was first found, from the transcript (ISO 8601), where it says."""
    tokens: dict[str, int] = field(default_factory=dict)
    """The tokens of the model turns that made its calls (input, cache_creation,
    cache_read, output), where the transcript records them; empty where it does not."""
    seconds: float | None = None
    """Wall-clock time from its first call's result to its last's, where recorded."""
    session: str = ""
    host: str = ""
    tool_use_id: str | None = None
    verdict: Verdict | None = None
    audience: str = "model"
    """Advice the model would have heard, or a note for people only."""

    @property
    def calls(self) -> int:
        return self.end - self.start + 1

    def describe(self, *, excerpts: bool) -> str:
        return rules.BY_NAME[self.rule].describe(
            self.tool, self.count, self.gist if excerpts else ""
        )


@dataclass(slots=True)
class SessionResult:
    path: str
    session: str
    format: str
    calls: int = 0
    loops: list[Loop] = field(default_factory=list)
    steps: list[Call] = field(default_factory=list)
    """Per call, when asked for (the page)."""
    stopped_at: int | None = None
    """The call at which the policy's circuit breaker would have stopped the agent."""

    @property
    def calls_in_loops(self) -> int:
        return sum(loop.calls for loop in self.loops)

    @property
    def worst(self) -> Loop:
        return max(self.loops, key=lambda lp: lp.calls)


def analyze(t: Transcript, policy: Policy, *, keep_steps: bool = False) -> SessionResult:
    detector = Detector(policy)
    result = SessionResult(t.path, t.session, t.format)
    host = hosts.get(t.format) if t.format in hosts.NAMES else None
    sizes: list[int] = []
    turns: list[tuple[object, dict[str, int] | None, object]] = []
    open_loop: Loop | None = None
    digests = [_digests(e) for e in t.events]
    window = policy.settings["recurrence"]
    reach = max(MAX_PERIOD, getattr(window, "window", MAX_PERIOD))
    recurring = _recurring_calls([d[1] or d[0] if d else None for d in digests], reach)
    for position, event in enumerate(t.events):
        recorded = event.get(RECORDED_STEP)
        try:
            adapted = (
                recorded_event(event, recorded)
                if recorded is not None
                else adapt_event(
                    event, host=host, shape=position in recurring, digests=digests[position]
                )
            )
        except RecursionError:
            t.skipped["call nested too deeply"] += 1
            continue
        if adapted.step is None:
            t.skipped["call without a tool name"] += 1
            continue
        index = result.calls
        result.calls += 1
        sizes.append(len(canonical_bytes(adapted.result)) if adapted.has_result else 0)
        tokens = event.get("streamd_tokens")
        turns.append(
            (
                event.get("streamd_turn"),
                tokens if isinstance(tokens, dict) else None,
                event.get("timestamp"),
            )
        )
        verdict = detector.push(adapted.step)
        breaker = policy.breaker
        if (
            breaker is not None
            and result.stopped_at is None
            and breaker.trips(verdict, detector.in_loops)
        ):
            result.stopped_at = index
        if keep_steps:
            result.steps.append(_call(event, adapted, verdict, host))
        if not verdict.fired:
            open_loop = None
            continue
        if open_loop is None or open_loop.end != index - 1:
            open_loop = _new_loop(verdict, index, adapted.failure)
            stamp = event.get("timestamp")
            open_loop.timestamp = stamp if isinstance(stamp, str) else None
            open_loop.session = t.session
            open_loop.host = t.format
            open_loop.tool_use_id = adapted.tool_use_id
            result.loops.append(open_loop)
        open_loop.end = index
        open_loop.count = max(open_loop.count, verdict.repeat_run)
        if verdict.audience == "model":
            open_loop.audience = "model"  # advice at any of its calls: the model heard it
    for loop in result.loops:
        loop.result_bytes = sum(sizes[loop.start : loop.end + 1])
        loop.tokens = _tokens_of(turns[loop.start : loop.end + 1])
        loop.seconds = _seconds(turns[loop.start][2], turns[loop.end][2])
    return result


def _tokens_of(turns: list[tuple[object, dict[str, int] | None, object]]) -> dict[str, int]:
    """The tokens of each distinct turn (a turn that made several calls counts once)."""
    total: dict[str, int] = {}
    seen: set[object] = set()
    for turn, tokens, _ in turns:
        if tokens is None or turn in seen:
            continue
        seen.add(turn)
        for key, value in tokens.items():
            total[key] = total.get(key, 0) + value
    return total


def _seconds(first: object, last: object) -> float | None:
    import datetime as dt

    try:
        start = dt.datetime.fromisoformat(str(first).replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    except ValueError:
        return None
    if (start.tzinfo is None) != (end.tzinfo is None):
        return None
    return max(0.0, (end - start).total_seconds())


def recorded_event(event: dict[str, Any], step: object) -> HookEvent:
    """A step a session log already holds, as the adapter would have made it."""
    assert isinstance(step, Step)
    return HookEvent("PostToolUse", None, None, event.get("tool_use_id"), step, ABSENT)


def _digests(event: dict[str, Any]) -> tuple[str, str | None] | None:
    if RECORDED_STEP in event:
        return None  # its digests are recorded: there is nothing to compute
    try:
        return call_digests(event)
    except RecursionError:
        return None  # adapting it fails too, and says so


def _recurring_calls(keys: list[str | None], reach: int) -> set[int]:
    """The positions whose call (tool and canonical arguments) recurs within ``reach``
    steps (a cycle's longest period, the recurrence rule's window): only there can a
    result's shape change a verdict, so only there is it computed."""
    recurring: set[int] = set()
    for i, key in enumerate(keys):
        if key is None:
            continue
        for j in range(i + 1, min(len(keys), i + reach + 1)):
            if keys[j] == key:
                recurring.update((i, j))
    return recurring


def _call(
    event: dict[str, Any], adapted: HookEvent, verdict: Verdict, host: hosts.Host | None
) -> Call:
    arguments = json.dumps(event.get("tool_input"), sort_keys=True, default=str)[:300]
    shown = ""
    if adapted.has_result:
        shown = excerpt(adapted.failure or adapted.result, 400, host=host)
    return Call(
        verdict.state.value,
        verdict.rule if verdict.fired else "",
        str(event.get("tool_name")),
        arguments,
        shown,
    )


def _new_loop(verdict: Verdict, index: int, failure: str | None) -> Loop:
    step = verdict.repeated_step
    gist = failure_gist(failure).splitlines()[0] if failure and failure.strip() else ""
    return Loop(
        start=max(0, index - verdict.repeat_run + 1),
        end=index,
        rule=verdict.rule,
        tool=step.tool_name if step else "?",
        count=verdict.repeat_run,
        gist=gist,
        audience=verdict.audience,
        verdict=verdict,
    )


@dataclass
class Report:
    """The totals over every session read."""

    files: int = 0
    sessions: int = 0
    tool_calls: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    loops_by_rule: collections.Counter[str] = field(default_factory=collections.Counter)
    loops_by_audience: collections.Counter[str] = field(default_factory=collections.Counter)
    calls_in_loops: int = 0
    result_bytes_in_loops: int = 0
    tokens_in_loops: dict[str, int] = field(default_factory=dict)
    """The tokens of the turns that made the calls inside loops, where recorded."""
    seconds_in_loops: float = 0.0
    loops_with_usage: int = 0
    """Loops whose transcript recorded the turns' tokens."""
    sessions_stopped: int = 0
    """Sessions the policy's circuit breaker would have stopped."""
    calls_saved: int = 0
    """Calls those sessions made after the stop."""
    worst: list[SessionResult] = field(default_factory=list)
    """The sessions that lost the most calls to loops, most first."""
    top: int = 5

    @property
    def loops(self) -> int:
        return sum(self.loops_by_rule.values())

    @property
    def token_estimate(self) -> int:
        return self.result_bytes_in_loops // BYTES_PER_TOKEN

    def add(self, result: SessionResult) -> None:
        self.sessions += 1
        self.tool_calls += result.calls
        for loop in result.loops:
            self.loops_by_rule[loop.rule] += 1
            self.loops_by_audience[loop.audience] += 1
            self.calls_in_loops += loop.calls
            self.result_bytes_in_loops += loop.result_bytes
            self.seconds_in_loops += loop.seconds or 0.0
            if loop.tokens:
                self.loops_with_usage += 1
                for key, value in loop.tokens.items():
                    self.tokens_in_loops[key] = self.tokens_in_loops.get(key, 0) + value
        if result.stopped_at is not None:
            self.sessions_stopped += 1
            self.calls_saved += result.calls - result.stopped_at - 1
        if result.loops:
            self.worst.append(result)
            self.worst.sort(key=lambda r: -r.calls_in_loops)
            del self.worst[self.top :]


def transcript_files(paths: list[str]) -> Iterator[str]:
    """Every transcript under ``paths`` (files, or folders walked in name order)."""
    for given in paths:
        if os.path.isdir(given):
            for root, dirs, files in os.walk(given):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(TRANSCRIPT_ENDINGS):
                        yield os.path.join(root, name)
        else:
            yield given


def sessions(
    paths: list[str],
    policy: Policy,
    report: Report,
    *,
    since: dt.datetime | None = None,
    fmt: str | None = None,
    keep_steps: bool = False,
) -> Iterator[SessionResult]:
    """Each session under ``paths``, analyzed, once ``report`` has counted it."""
    for path in transcript_files(paths):
        report.files += 1
        try:
            t = read_transcript(path, fmt)
        except UnknownFormat:
            report.skipped["file in no transcript format"] += 1
            continue
        except UnreadableFile:
            report.skipped["file that is not a regular file"] += 1
            continue
        except OSError as exc:
            report.skipped[f"unreadable file ({exc.strerror})"] += 1
            continue
        except RecursionError:
            report.skipped["file nested too deeply"] += 1
            continue
        if since is not None and _before(t, path, since):
            continue
        result = analyze(t, policy, keep_steps=keep_steps)
        report.skipped.update(t.skipped)
        report.add(result)
        yield result


def _before(t: Transcript, path: str, since: dt.datetime) -> bool:
    stamp = None
    if t.started:
        try:
            stamp = dt.datetime.fromisoformat(t.started.replace("Z", "+00:00"))
        except ValueError:
            stamp = None
    if stamp is None:
        stamp = dt.datetime.fromtimestamp(os.path.getmtime(path), dt.UTC)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp < since
