"""The HTML reporter, ``streamd report --html``: one self-contained page (no scripts,
fonts or anything fetched) with the summary and, per session, a strip of its calls
coloured by verdict; hovering a call shows its tool, arguments and result excerpt."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
import shutil
import tempfile
from typing import TextIO

from ._model import BYTES_PER_TOKEN, Report, SessionResult

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1d2430; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
.origin { color: #5b6575; margin-top: 0; }
table.summary { border-collapse: collapse; margin: 1em 0 2em; }
table.summary td { padding: .2em 1em .2em 0; }
table.summary td.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; width: 1em; height: 1em; vertical-align: middle; }
section.session { margin: 1.2em 0; }
section.session h2 { font-size: 1em; margin: 0 0 .3em; }
section.session h2 small { color: #5b6575; font-weight: normal; }
.strip { display: flex; flex-wrap: wrap; gap: 2px; max-width: 100%; }
.strip span { display: block; width: 10px; height: 22px; border-radius: 2px; }
.ADVANCING { background: #b9c6d6; }
.REPEATING { background: #f0a202; }
.STALLED { background: #d7263d; }
"""


def session_strip(result: SessionResult, *, excerpts: bool) -> str:
    """One session's section: its name, and a coloured cell per call."""
    cells = []
    for call in result.steps:
        title = f"{call.tool}: {call.state}" + (f" ({call.rule})" if call.rule else "")
        if excerpts:
            title += f"\nargs: {call.arguments}\nresult: {call.result}"
        cells.append(f'<span class="{call.state}" title="{html.escape(title)}"></span>')
    loops = len(result.loops)
    return (
        f'<section class="session"><h2>{html.escape(result.session)} '
        f"<small>{html.escape(result.format)}, {result.calls} calls, {loops} "
        f"loop{'s' if loops != 1 else ''}, {result.calls_in_loops} calls in loops</small>"
        f'</h2><div class="strip">{"".join(cells)}</div></section>\n'
    )


def write_page(
    path: str,
    report: Report,
    strips: tuple[TextIO, TextIO],
    *,
    paths: list[str],
    excerpts: bool,
) -> None:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = ", ".join(paths)
    privacy = (
        "It holds excerpts of your own tool calls and results: share it with care."
        if excerpts
        else "It holds no arguments or result text (--no-excerpts)."
    )
    rows = [
        ("sessions", report.sessions),
        ("tool calls", report.tool_calls),
        ("skipped entries", sum(report.skipped.values())),
        ("loops found", report.loops),
        ("calls inside loops", report.calls_in_loops),
        ("result bytes handed back inside loops", report.result_bytes_in_loops),
        (f"tokens, estimated at {BYTES_PER_TOKEN} bytes a token", report.token_estimate),
    ]
    rows += [(f"loops by the {rule} rule", n) for rule, n in sorted(report.loops_by_rule.items())]
    table = "".join(
        f'<tr><td>{html.escape(name)}</td><td class="n">{value:,}</td></tr>' for name, value in rows
    )
    # A fresh 0600 file beside the page, renamed over it: a link planted at the page's
    # path is replaced, never written through, and the page (excerpts of your own tool
    # calls) is yours alone to share.
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".streamd-report-", suffix=".html", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            _write(out, report, strips, when=when, where=where, privacy=privacy, table=table)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write(
    out: TextIO,
    report: Report,
    strips: tuple[TextIO, TextIO],
    *,
    when: str,
    where: str,
    privacy: str,
    table: str,
) -> None:
    out.write(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>streamd report</title>"
        f"<style>{_STYLE}</style></head><body>\n"
        "<h1>What streamd would have caught</h1>\n"
        f'<p class="origin">Made by <code>streamd report</code> on {when} from the '
        f"transcripts in {html.escape(where)} ({report.files} files). "
        f"{html.escape(privacy)}</p>\n"
        f'<table class="summary" id="summary">{table}</table>\n'
        '<p class="legend"><span class="ADVANCING"></span> advancing '
        '<span class="REPEATING"></span> repeating '
        '<span class="STALLED"></span> stalled; hover a call for its details.</p>\n'
        '<div id="sessions">\n'
    )
    for part in strips:
        shutil.copyfileobj(part, out)
    out.write("</div>\n</body></html>\n")
