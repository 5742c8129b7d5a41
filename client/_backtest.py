"""``streamd report``: what streamd would have caught in the sessions already run, and
what those loops cost. Each transcript is read, played through the same detector the
hook runs, and forgotten: memory is bounded by one session."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from streamd.shared import (
    MAX_PERIOD,
    Detector,
    Policy,
    Verdict,
    adapt_event,
    call_digest,
    canonical_bytes,
    excerpt,
    failure_gist,
)

from ._transcripts import FORMATS, Transcript, UnknownFormat, read

BYTES_PER_TOKEN = 4
"""A rough rule for text and code under BPE tokenizers; the estimate says it is one."""
TRANSCRIPT_ENDINGS = (".jsonl", ".traj", ".traj.json", ".json")


@dataclass
class Loop:
    start: int
    end: int
    rule: str
    tool: str
    count: int
    gist: str
    result_bytes: int = 0

    @property
    def calls(self) -> int:
        return self.end - self.start + 1


@dataclass
class SessionResult:
    path: str
    session: str
    format: str
    calls: int
    loops: list[Loop] = field(default_factory=list)
    steps: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    """Per call, for the page: state, rule, tool, arguments, result excerpt."""

    @property
    def calls_in_loops(self) -> int:
        return sum(loop.calls for loop in self.loops)


def analyze(t: Transcript, policy: Policy, *, keep_steps: bool = False) -> SessionResult:
    detector = Detector(policy)
    result = SessionResult(t.path, t.session, t.format, 0)
    sizes: list[int] = []
    open_loop: Loop | None = None
    keys = [call_digest(e) for e in t.events]
    recurring = _recurring_calls(keys)
    for position, event in enumerate(t.events):
        adapted = adapt_event(event, shape=position in recurring, args_digest=keys[position])
        if adapted.step is None:
            t.skipped["call without a tool name"] += 1
            continue
        index = result.calls
        result.calls += 1
        sizes.append(len(canonical_bytes(adapted.result)) if adapted.has_result else 0)
        verdict = detector.push(adapted.step)
        if keep_steps:
            result.steps.append(_step_view(event, adapted, verdict))
        if not verdict.fired:
            open_loop = None
            continue
        if open_loop is None or open_loop.end != index - 1:
            open_loop = _new_loop(verdict, index, adapted.failure)
            result.loops.append(open_loop)
        open_loop.end = index
        open_loop.count = max(open_loop.count, verdict.repeat_run)
    for loop in result.loops:
        loop.result_bytes = sum(sizes[loop.start : loop.end + 1])
    return result


def _recurring_calls(keys: list[str | None]) -> set[int]:
    """The positions whose call (tool and arguments) recurs within ``MAX_PERIOD`` steps:
    only there can a result's shape change a verdict, so only there is it computed."""
    recurring: set[int] = set()
    for i, key in enumerate(keys):
        if key is None:
            continue
        for j in range(i + 1, min(len(keys), i + MAX_PERIOD + 1)):
            if keys[j] == key:
                recurring.update((i, j))
    return recurring


def _step_view(
    event: dict[str, Any], adapted: Any, verdict: Verdict
) -> tuple[str, str, str, str, str]:
    args = json.dumps(event.get("tool_input"), sort_keys=True, default=str)[:300]
    shown = excerpt(adapted.failure or adapted.result, 400) if adapted.has_result else ""
    return (
        verdict.state.value,
        verdict.rule if verdict.fired else "",
        str(event.get("tool_name")),
        args,
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
    )


def describe(loop: Loop, *, excerpts: bool) -> str:
    if loop.rule == "failure":
        what = f"`{loop.tool}` failed {loop.count} times in a row with the same error"
        return what + (f": {loop.gist}" if excerpts and loop.gist else "")
    if loop.rule == "cycle":
        return (
            f"the same calls went round again and again ({loop.count} calls, ending `{loop.tool}`)"
        )
    kind = "identical" if loop.rule == "exact" else "the same (noise aside)"
    return f"`{loop.tool}` returned {kind} output {loop.count} times in a row"


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


def default_paths() -> list[str]:
    """The installed hosts' transcript folders that exist."""
    home = Path.home()
    candidates = [
        home / ".claude" / "projects",
        home / ".codex" / "sessions",
        home / ".gemini" / "tmp",
    ]
    return [str(p) for p in candidates if p.is_dir()]


@dataclass
class Report:
    files: int = 0
    sessions: int = 0
    tool_calls: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    loops_by_rule: collections.Counter[str] = field(default_factory=collections.Counter)
    calls_in_loops: int = 0
    result_bytes_in_loops: int = 0
    worst: list[tuple[int, SessionResult]] = field(default_factory=list)

    def add(self, result: SessionResult, top: int) -> None:
        self.sessions += 1
        self.tool_calls += result.calls
        for loop in result.loops:
            self.loops_by_rule[loop.rule] += 1
            self.calls_in_loops += loop.calls
            self.result_bytes_in_loops += loop.result_bytes
        if result.loops:
            self.worst.append((result.calls_in_loops, result))
            self.worst.sort(key=lambda pair: -pair[0])
            del self.worst[top:]

    def as_json(self, *, excerpts: bool) -> dict[str, Any]:
        return {
            "files": self.files,
            "sessions": self.sessions,
            "tool_calls": self.tool_calls,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
            "loops": sum(self.loops_by_rule.values()),
            "loops_by_rule": dict(self.loops_by_rule),
            "calls_in_loops": self.calls_in_loops,
            "result_bytes_in_loops": self.result_bytes_in_loops,
            "token_estimate": self.result_bytes_in_loops // BYTES_PER_TOKEN,
            "top_sessions": [
                {
                    "session": r.session,
                    "path": r.path,
                    "format": r.format,
                    "calls": r.calls,
                    "calls_in_loops": n,
                    "worst_loop": describe(
                        max(r.loops, key=lambda lp: lp.calls), excerpts=excerpts
                    ),
                }
                for n, r in self.worst
            ],
        }


def build(
    paths: list[str],
    policy: Policy,
    *,
    since: dt.datetime | None = None,
    fmt: str | None = None,
    top: int = 5,
    progress: TextIO | None = None,
    page: tuple[TextIO, TextIO] | None = None,
    excerpts: bool = True,
) -> Report:
    """Read every transcript under ``paths``; with ``page``, write each session's
    timeline as it goes, to the first file if it looped, else to the second (the page
    shows the first before the second, and the summary above both)."""
    report = Report()
    for path in transcript_files(paths):
        report.files += 1
        if progress is not None and report.files % 50 == 0:
            progress.write(f"\rread {report.files} files, {report.tool_calls} tool calls")
            progress.flush()
        try:
            t = read(path, fmt)
        except UnknownFormat:
            report.skipped["file in no transcript format"] += 1
            continue
        except OSError as exc:
            report.skipped[f"unreadable file ({exc.strerror})"] += 1
            continue
        if since is not None and _before(t, path, since):
            continue
        result = analyze(t, policy, keep_steps=page is not None)
        report.skipped.update(t.skipped)
        report.add(result, top)
        if page is not None:
            from ._html import session_strip

            page[0 if result.loops else 1].write(session_strip(result, excerpts=excerpts))
        result.steps.clear()
    if progress is not None and report.files >= 50:
        progress.write("\n")
    return report


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


def render(report: Report, out: TextIO, *, excerpts: bool) -> None:
    data = report.as_json(excerpts=excerpts)
    out.write(
        f"read {data['files']} files: {data['sessions']} sessions, {data['tool_calls']} tool calls"
    )
    if data["skipped"]:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items()))
        out.write(f"; skipped {data['skipped']} ({reasons})")
    out.write("\n")
    by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(report.loops_by_rule.items()))
    out.write(
        f"loops found: {data['loops']}{f' ({by_rule})' if by_rule else ''}; "
        f"{data['calls_in_loops']} calls inside them, handing back "
        f"{data['result_bytes_in_loops']:,} bytes of results (about "
        f"{data['token_estimate']:,} tokens, at {BYTES_PER_TOKEN} bytes a token)\n"
    )
    if data["top_sessions"]:
        out.write("sessions that lost the most:\n")
    for item in data["top_sessions"]:
        out.write(
            f"  {item['session']} ({item['format']}): {item['calls_in_loops']} of "
            f"{item['calls']} calls in loops; worst: {item['worst_loop']}\n"
        )


def run(
    paths: list[str],
    policy: Policy,
    out: TextIO,
    *,
    as_json: bool,
    since: dt.datetime | None,
    fmt: str | None,
    excerpts: bool,
    html: str | None = None,
) -> int:
    import tempfile

    from . import _html

    progress = sys.stderr if sys.stderr.isatty() else None
    paths = paths or default_paths()
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as looped,
        tempfile.TemporaryFile("w+", encoding="utf-8") as rest,
    ):
        report = build(
            paths,
            policy,
            since=since,
            fmt=fmt,
            progress=progress,
            page=(looped, rest) if html else None,
            excerpts=excerpts,
        )
        if html:
            looped.seek(0)
            rest.seek(0)
            _html.write_page(html, report, (looped, rest), paths=paths, excerpts=excerpts)
    if as_json:
        out.write(json.dumps(report.as_json(excerpts=excerpts)) + "\n")
    else:
        render(report, out, excerpts=excerpts)
    if html and not as_json:
        out.write(f"wrote {html}\n")
    return 0


__all__ = ["FORMATS", "Report", "analyze", "build", "run"]
