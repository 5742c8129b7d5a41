"""``streamd report``: what streamd would have caught in the sessions already run, and
what those loops cost. ``_model`` analyzes (typed results); ``_text``, ``_json`` and
``_html`` each report them."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from streamd.shared import Policy
from streamd.shared._adapter import use_openssl

from . import _html
from ._json import FORMAT, as_json
from ._model import Call, Loop, Report, SessionResult, analyze, sessions, transcript_files
from ._text import render

if TYPE_CHECKING:
    from ._otlp import Backtest


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
    on_loops: Callable[[list[Loop]], None] | None = None,
) -> Report:
    """Read every transcript under ``paths``; with ``page``, write each session's
    timeline as it goes, to the first file if it looped, else to the second (the page
    shows the first before the second, and the summary above both)."""
    report = Report(top=top)
    for result in sessions(
        paths, policy, report, since=since, fmt=fmt, keep_steps=page is not None
    ):
        if progress is not None and report.files % 50 == 0:
            progress.write(f"\rread {report.files} files, {report.tool_calls} tool calls")
            progress.flush()
        if page is not None:
            page[0 if result.loops else 1].write(_html.session_strip(result, excerpts=excerpts))
        if on_loops is not None and result.loops:
            on_loops(result.loops)
        result.steps.clear()
    if progress is not None and report.files >= 50:
        progress.write("\n")
    return report


def run(
    paths: list[str],
    policy: Policy,
    out: TextIO,
    *,
    as_json_output: bool,
    since: dt.datetime | None,
    fmt: str | None,
    excerpts: bool,
    html: str | None = None,
    otlp: Backtest | None = None,
) -> int:
    use_openssl()
    progress = sys.stderr if sys.stderr.isatty() else None
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
            on_loops=otlp.send if otlp is not None else None,
        )
        if html:
            looped.seek(0)
            rest.seek(0)
            _html.write_page(html, report, (looped, rest), paths=paths, excerpts=excerpts)
    if as_json_output:
        found = as_json(report, excerpts=excerpts, breaker=policy.breaker)
        out.write(json.dumps(found) + "\n")
    else:
        render(report, out, excerpts=excerpts, breaker=policy.breaker)
    if html and not as_json_output:
        out.write(f"wrote {html}\n")
    if otlp is not None:
        sent, failed = otlp.close()
        if not as_json_output:
            failures = f"; {failed} failed" if failed else ""
            out.write(f"sent {sent} findings over OTLP{failures}\n")
        if failed:
            return 1
    return 0


__all__ = [
    "FORMAT",
    "Call",
    "Loop",
    "Report",
    "SessionResult",
    "analyze",
    "as_json",
    "build",
    "render",
    "run",
    "transcript_files",
]
