"""``streamd report``: what streamd would have caught in the sessions already run, and
what those loops cost. ``_model`` analyzes (typed results); ``_text``, ``_json`` and
``_html`` each report them."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from streamd.shared import Policy
from streamd.shared._adapter import use_openssl

from ._html import Page
from ._json import FORMAT, as_json
from ._model import (
    Call,
    Loop,
    Report,
    SessionResult,
    analyze,
    sessions,
    transcript_files,
)
from ._prices import PriceError, Prices, load_prices, parse_price
from ._text import render

if TYPE_CHECKING:
    from ._otlp import Backtest


def build(
    paths: list[str],
    policy: Policy,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    fmt: str | None = None,
    top: int = 5,
    progress: TextIO | None = None,
    page: Page | None = None,
    prices: Prices | None = None,
    on_loops: Callable[[list[Loop]], None] | None = None,
    jobs: int = 1,
) -> Report:
    """Read every transcript under ``paths`` (by ``jobs`` processes); with ``page``,
    add each session to it as it goes."""
    report = Report(top=top, prices=prices or Prices())
    for result in sessions(
        paths,
        policy,
        report,
        since=since,
        until=until,
        fmt=fmt,
        keep_steps=page is not None,
        jobs=jobs,
    ):
        if progress is not None and report.files % 50 == 0:
            progress.write(f"\rread {report.files} files, {report.tool_calls} tool calls")
            progress.flush()
        if page is not None:
            page.add(result)
        if on_loops is not None and result.loops:
            on_loops(result.loops)
        result.steps.clear()
        for loop in result.loops:
            loop.evidence.clear()
    if progress is not None and report.files >= 50:
        progress.write("\n")
    return report


@dataclass(frozen=True, slots=True)
class Options:
    """What ``streamd report`` was asked for, beyond the paths and the policy."""

    as_json: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    fmt: str | None = None
    excerpts: bool = True
    html: str | None = None
    group_by: str | None = None
    prices: Prices | None = None
    jobs: int = 1


def run(
    paths: list[str],
    policy: Policy,
    out: TextIO,
    options: Options,
    *,
    otlp: Backtest | None = None,
) -> int:
    use_openssl()
    progress = sys.stderr if sys.stderr.isatty() else None
    page = (
        Page(excerpts=options.excerpts, group_by=options.group_by or "project",
             priced=bool(options.prices))
        if options.html
        else None
    )  # fmt: skip
    with page or contextlib.nullcontext():
        report = build(
            paths,
            policy,
            since=options.since,
            until=options.until,
            fmt=options.fmt,
            progress=progress,
            page=page,
            prices=options.prices,
            on_loops=otlp.send if otlp is not None else None,
            jobs=options.jobs,
        )
        if page is not None and options.html:
            page.write(options.html, report, paths=paths)
    if options.as_json:
        found = as_json(
            report, excerpts=options.excerpts, breaker=policy.breaker, group_by=options.group_by
        )
        out.write(json.dumps(found) + "\n")
    else:
        render(
            report,
            out,
            excerpts=options.excerpts,
            breaker=policy.breaker,
            group_by=options.group_by,
        )
    if options.html and not options.as_json:
        out.write(f"wrote {options.html}\n")
    if otlp is not None:
        sent, failed = otlp.close()
        if not options.as_json:
            failures = f"; {failed} failed" if failed else ""
            out.write(f"sent {sent} findings over OTLP{failures}\n")
        if failed:
            return 1
    return 0


__all__ = [
    "FORMAT",
    "Call",
    "Loop",
    "Options",
    "Page",
    "PriceError",
    "Prices",
    "Report",
    "SessionResult",
    "analyze",
    "as_json",
    "build",
    "load_prices",
    "parse_price",
    "render",
    "run",
    "transcript_files",
]
