"""The analysis behind ``streamd report``: each transcript played through the same
detector the hook runs, as a typed ``SessionResult``, and the totals over all of them
(``Report``). Reporters (text, JSON, HTML) only read these; memory is bounded by one
session."""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
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

from ._encoding import report_bytes
from ._parallel import in_order
from ._prices import Prices

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
    shape: str = ""
    """What it was without what it said: its arguments' names, its result's size and
    whether it failed (for ``--no-excerpts``)."""


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
    tokens_by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    """``tokens`` by the model that spent them ("" where the transcript names none)."""
    evidence: list[Call] = field(default_factory=list)
    """Its calls as the page shows them (the first and last few), when kept."""
    skipped_evidence: int = 0
    """Calls left out of ``evidence`` between the first few and the last."""
    cost: float | None = None
    """What its tokens cost at the user's prices, when given."""
    ordinal: int = 0
    """Its number on the page."""

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens.values())

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
    project: str = ""
    """The folder the agent worked in, or else the folder the file is in."""
    prompt: str | None = None
    started: str | None = None
    ended: str | None = None
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

    @property
    def seconds(self) -> float | None:
        return _seconds(self.started, self.ended)

    @property
    def day(self) -> str:
        return day_of(self.started) or "undated"


def analyze(t: Transcript, policy: Policy, *, keep_steps: bool = False) -> SessionResult:
    detector = Detector(policy)
    result = SessionResult(
        t.path,
        t.session,
        t.format,
        project=t.project or _folder_of(t.path),
        prompt=t.prompt,
        started=t.started,
        ended=t.ended,
    )
    host = hosts.get(t.format) if t.format in hosts.NAMES else None
    results: list[object] = []  # sized only where a loop holds them
    turns: list[Turn] = []
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
                    event,
                    host=host,
                    shape=position in recurring,
                    digests=digests[position],
                    encode=report_bytes,
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
        results.append(adapted.result if adapted.has_result else ABSENT)
        tokens = event.get("streamd_tokens")
        model = event.get("streamd_model")
        turns.append(
            (
                event.get("streamd_turn"),
                tokens if isinstance(tokens, dict) else None,
                event.get("timestamp"),
                model if isinstance(model, str) else "",
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
        loop.result_bytes = sum(
            len(canonical_bytes(r)) for r in results[loop.start : loop.end + 1] if r is not ABSENT
        )
        loop.tokens_by_model = _tokens_of(turns[loop.start : loop.end + 1])
        loop.tokens = _merged(loop.tokens_by_model.values())
        loop.seconds = _seconds(turns[loop.start][2], turns[loop.end][2])
        if keep_steps:
            _keep_evidence(loop, result.steps)
    return result


UNKNOWN_PROJECT = "unknown"


def _folder_of(path: str) -> str:
    """A session's project when the file does not say: the folder it is in, unless that
    is a date (Codex files its sessions by day)."""
    folder = os.path.dirname(os.path.abspath(path))
    if all(part.isdigit() for part in folder.split(os.sep)[-3:]):
        return UNKNOWN_PROJECT
    return folder


Turn = tuple[object, dict[str, int] | None, object, str]
"""Per call: the model turn that made it, that turn's tokens, when its result came,
and the model's name."""
EVIDENCE_HEAD = 4
EVIDENCE_TAIL = 2


def _keep_evidence(loop: Loop, steps: list[Call]) -> None:
    calls = steps[loop.start : loop.end + 1]
    if len(calls) > EVIDENCE_HEAD + EVIDENCE_TAIL:
        loop.skipped_evidence = len(calls) - EVIDENCE_HEAD - EVIDENCE_TAIL
        calls = calls[:EVIDENCE_HEAD] + calls[-EVIDENCE_TAIL:]
    loop.evidence = calls


def _tokens_of(turns: list[Turn]) -> dict[str, dict[str, int]]:
    """The tokens of each distinct turn (a turn that made several calls counts once),
    by model."""
    total: dict[str, dict[str, int]] = {}
    seen: set[object] = set()
    for turn, tokens, _, model in turns:
        if tokens is None or turn in seen:
            continue
        seen.add(turn)
        _add(total.setdefault(model, {}), tokens)
    return total


def _merged(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        _add(total, part)
    return total


def _add(into: dict[str, int], counts: Mapping[str, int]) -> None:
    for key, value in counts.items():
        into[key] = into.get(key, 0) + value


def _parsed(stamp: object) -> dt.datetime | None:
    """An ISO 8601 time as written in a transcript (a trailing ``Z`` too)."""
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def _when(stamp: object) -> dt.datetime | None:
    """An ISO 8601 time as written in a transcript; naive ones are taken as UTC."""
    when = _parsed(stamp)
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def day_of(stamp: object) -> str | None:
    """The UTC date of a transcript's time, as ``YYYY-MM-DD``."""
    when = _when(stamp)
    return when.astimezone(dt.UTC).date().isoformat() if when is not None else None


def _seconds(first: object, last: object) -> float | None:
    start, end = _parsed(first), _parsed(last)
    if start is None or end is None or (start.tzinfo is None) != (end.tzinfo is None):
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
        return call_digests(event, report_bytes)
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
    tool_input = event.get("tool_input")
    arguments = json.dumps(tool_input, sort_keys=True, default=str)[:300]
    shown = ""
    names = ", ".join(sorted(map(str, tool_input))) if isinstance(tool_input, dict) else ""
    shape = f"({names})"
    if adapted.has_result:
        shown = excerpt(adapted.failure or adapted.result, 400, host=host)
        size = len(canonical_bytes(adapted.result))
        shape += f" → {size:,} byte{'s' if size != 1 else ''}"
        shape += ", failed" if adapted.failure is not None else ""
    return Call(
        verdict.state.value,
        verdict.rule if verdict.fired else "",
        str(event.get("tool_name")),
        arguments,
        shown,
        shape,
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


@dataclass(slots=True)
class Totals:
    """The totals of one group of sessions (a day, a project)."""

    sessions: int = 0
    calls: int = 0
    loops: int = 0
    calls_in_loops: int = 0
    tokens_in_loops: int = 0
    seconds_in_loops: float = 0.0
    cost_in_loops: float = 0.0

    def add(self, result: SessionResult) -> None:
        self.sessions += 1
        self.calls += result.calls
        for loop in result.loops:
            self.loops += 1
            self.calls_in_loops += loop.calls
            self.tokens_in_loops += loop.total_tokens
            self.seconds_in_loops += loop.seconds or 0.0
            self.cost_in_loops += loop.cost or 0.0

    def include(self, other: Totals) -> None:
        """Another group's totals added to these (days into their month)."""
        self.sessions += other.sessions
        self.calls += other.calls
        self.loops += other.loops
        self.calls_in_loops += other.calls_in_loops
        self.tokens_in_loops += other.tokens_in_loops
        self.seconds_in_loops += other.seconds_in_loops
        self.cost_in_loops += other.cost_in_loops


def group_of(result: SessionResult, by: str) -> str:
    return result.day if by == "day" else result.project


def groups(report: Report, by: str) -> list[tuple[str, Totals]]:
    """The report's groups: days in order, projects by their loops, most first."""
    if by == "day":
        return sorted(report.by_day.items())
    return sorted(report.by_project.items(), key=lambda kv: (-kv[1].loops, kv[0]))


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
    prices: Prices = field(default_factory=Prices)
    cost_in_loops: float = 0.0
    """What the tokens in loops cost at ``prices``."""
    unpriced_tokens: int = 0
    """Tokens in loops that ``prices`` gave no price for."""
    by_day: dict[str, Totals] = field(default_factory=dict)
    by_project: dict[str, Totals] = field(default_factory=dict)
    loop_lengths: collections.Counter[int] = field(default_factory=collections.Counter)
    """How many loops made each number of calls."""

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
            if self.prices and loop.tokens:
                cost, unpriced = self.prices.cost(loop.tokens_by_model)
                loop.cost = cost if unpriced < loop.total_tokens else None  # none priced
                self.cost_in_loops += cost
                self.unpriced_tokens += unpriced
            self.loop_lengths[loop.calls] += 1
            self.loops_by_rule[loop.rule] += 1
            self.loops_by_audience[loop.audience] += 1
            self.calls_in_loops += loop.calls
            self.result_bytes_in_loops += loop.result_bytes
            self.seconds_in_loops += loop.seconds or 0.0
            if loop.tokens:
                self.loops_with_usage += 1
                _add(self.tokens_in_loops, loop.tokens)
        self.by_day.setdefault(result.day, Totals()).add(result)
        self.by_project.setdefault(result.project, Totals()).add(result)
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


@dataclass(frozen=True, slots=True)
class Job:
    """What reading one file takes, for the process that reads it."""

    policy: Policy
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    fmt: str | None = None
    keep_steps: bool = False


Outcome = tuple[SessionResult | None, collections.Counter[str]]
"""A file's session (None: skipped, or outside the dates asked for) and what was
skipped in it, by reason."""


def read_one(job: Job, path: str) -> Outcome:
    skipped: collections.Counter[str] = collections.Counter()
    try:
        t = read_transcript(path, job.fmt)
    except UnknownFormat:
        skipped["file in no transcript format"] += 1
    except UnreadableFile:
        skipped["file that is not a regular file"] += 1
    except OSError as exc:
        skipped[f"unreadable file ({exc.strerror})"] += 1
    except RecursionError:
        skipped["file nested too deeply"] += 1
    else:
        if (job.since or job.until) and not _within(_started(t, path), job.since, job.until):
            return None, skipped
        result = analyze(t, job.policy, keep_steps=job.keep_steps)
        return result, t.skipped
    return None, skipped


def sessions(
    paths: list[str],
    policy: Policy,
    report: Report,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    fmt: str | None = None,
    keep_steps: bool = False,
    jobs: int = 1,
) -> Iterator[SessionResult]:
    """Each session under ``paths``, analyzed (by ``jobs`` processes, in the files'
    order), once ``report`` has counted it."""
    job = Job(policy, since, until, fmt, keep_steps)
    files = list(transcript_files(paths))
    for result, skipped in in_order(functools.partial(read_one, job), files, jobs):
        report.files += 1
        report.skipped.update(skipped)
        if result is None:
            continue
        report.add(result)
        yield result


def _started(t: Transcript, path: str) -> dt.datetime:
    """When the session started: its first timestamp, else the file's modification."""
    return _when(t.started) or dt.datetime.fromtimestamp(os.path.getmtime(path), dt.UTC)


def _within(when: dt.datetime, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    return (since is None or when >= since) and (until is None or when < until)
