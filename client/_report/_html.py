"""The HTML reporter, ``streamd report --html``: one self-contained page (nothing
fetched; a Content-Security-Policy lets only its own style and sorting script run).
First the totals and plots, then every loop in a sortable list, each opening to its
evidence, then the sessions grouped by project or day; sessions without loops fold into
one line per group.

Sessions are written as they are read: each fragment goes to a temporary file and only
its place is kept, so memory does not grow with the history; ``Page.write`` puts the
fragments in the page's order."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import html
import os
import tempfile
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from .._terminal import plural
from . import _plots
from ._model import BYTES_PER_TOKEN, Call, Loop, Report, SessionResult, Totals, group_of
from ._units import count, duration, money

_STYLE = """
:root { --ink: #1d2430; --quiet: #5b6575; --line: #d9dee6; --loop: #f0a202;
        --note: #8a7fd1; --fired: #d7263d; --call: #b9c6d6; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1em; max-width: 72em;
       color: var(--ink); }
h1 { font-size: 1.5em; margin: .2em 0; }
h2 { font-size: 1.2em; margin: 1.6em 0 .4em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1em; margin: 1.2em 0 .3em; }
small, .quiet, figcaption { color: var(--quiet); }
.origin { color: var(--quiet); margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: .6em; margin: 1em 0; padding: 0; }
.cards li { list-style: none; border: 1px solid var(--line); border-radius: 6px;
            padding: .4em .8em; min-width: 8em; }
.cards b { display: block; font-size: 1.3em; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(24em, 1fr)); gap: 1.4em; }
figure.chart { margin: 0; }
figure.chart svg { width: 100%; height: auto; }
.bar { fill: var(--loop); } .axis { stroke: var(--quiet); }
.tick, .value { font-size: 13px; fill: var(--quiet); }
.row { display: grid; gap: .2em .8em; align-items: baseline;
       grid-template-columns: 3em minmax(8em, 3fr) minmax(6em, 1.2fr) 10.5em 6em 4em 5em 5em 5em; }
.row > span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.row .n { text-align: right; font-variant-numeric: tabular-nums; }
.head { font-weight: 600; padding: .3em 0 .3em 1.2em; border-bottom: 1px solid var(--line); }
.head button { font: inherit; border: 0; background: none; padding: .3em 0; cursor: pointer;
               color: inherit; text-decoration: underline dotted; min-height: 2em; }
.head [aria-sort=descending] button::after { content: " ↓"; }
.head [aria-sort=ascending] button::after { content: " ↑"; }
details.loop { border-bottom: 1px solid var(--line); }
details.loop > summary { list-style: none; cursor: pointer; padding: .45em 0 .45em 1.2em;
                         position: relative; }
details.loop > summary::before { content: "▸"; position: absolute; left: .2em; }
details.loop[open] > summary::before { content: "▾"; }
summary:focus-visible, button:focus-visible, a:focus-visible { outline: 2px solid #2660a4; }
.evidence { margin: .2em 0 1em 1.2em; }
.evidence ol { padding-left: 1.4em; }
.evidence li { margin: .4em 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f5f7fa; margin: .2em 0;
      padding: .3em .5em; border-radius: 4px; font-size: .85em; max-height: 16em;
      overflow: auto; }
.badge { font-size: .8em; border-radius: 3px; padding: 0 .3em; background: var(--line); }
.badge.people { background: #e4e0f7; }
details.session { margin: .3em 0; }
details.session > summary { cursor: pointer; padding: .25em 0; }
.strip { display: flex; flex-wrap: wrap; gap: 2px; margin: .4em 0; }
.strip .c { display: block; width: 10px; height: 22px; border-radius: 2px; }
.c { background: var(--call); } .c.in-loop { background: var(--loop); }
.c.in-note { background: var(--note); } .c.spoke { background: var(--fired); }
.legend i { display: inline-block; width: .8em; height: .8em; margin: 0 .2em 0 .6em; }
.path { font-size: .85em; color: var(--quiet); overflow-wrap: anywhere; }
ul.quiet-sessions { font-size: .9em; color: var(--quiet); }
table td.n { text-align: right; font-variant-numeric: tabular-nums; padding-left: 1em; }
@media (max-width: 40em) {
  body { padding: .6em; font-size: 14px; }
  .row { grid-template-columns: repeat(4, 1fr); }
  .row .wide { grid-column: 2 / -1; white-space: normal; }
  .row .hide { display: none; }
  .charts { grid-template-columns: 1fr; }
}
"""

_SCRIPT = """
document.querySelectorAll('#loops .head button').forEach(function (button) {
  button.addEventListener('click', function () {
    var cell = button.parentElement, key = button.dataset.key;
    var numeric = button.dataset.type === 'n';
    var descending = cell.getAttribute('aria-sort') !== (numeric ? 'descending' : 'ascending')
      ? numeric : !numeric;
    document.querySelectorAll('#loops .head [aria-sort]').forEach(function (other) {
      other.removeAttribute('aria-sort');
    });
    cell.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    var list = document.getElementById('loop-rows');
    var rows = Array.prototype.slice.call(list.children);
    rows.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key];
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { list.appendChild(row); });
  });
});
"""

_COLUMNS = (
    ("ordinal", "#", "n", ""),
    ("session", "session", "t", "wide"),
    ("project", "project", "t", "hide"),
    ("date", "date", "t", "hide"),
    ("rule", "rule", "t", "hide"),
    ("calls", "calls", "n", ""),
    ("seconds", "time", "n", ""),
    ("tokens", "tokens", "n", ""),
    ("cost", "cost", "n", ""),
)
SESSION_NAME = 90
"""Characters of a session's first prompt shown in its name."""


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


_POLICY = (
    "default-src 'none'; img-src data:; "
    f"style-src 'sha256-{_digest(_STYLE)}'; script-src 'sha256-{_digest(_SCRIPT)}'"
)


@dataclass(frozen=True, slots=True)
class _Placed:
    """A fragment's place in the store, and what orders it on the page."""

    offset: int
    length: int
    key: tuple[object, ...]


class Page:
    """The page, filled session by session as the report reads them."""

    def __init__(self, *, excerpts: bool, group_by: str, priced: bool) -> None:
        self.excerpts = excerpts
        self.group_by = group_by
        self.priced = priced
        self._store: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._loops: list[_Placed] = []
        self._sessions: dict[str, list[_Placed]] = {}
        self._quiet: dict[str, list[_Placed]] = {}
        self._ordinal = 0
        self._count = 0

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, result: SessionResult) -> None:
        self._count += 1
        anchor = f"session-{self._count}"
        for loop in result.loops:
            self._ordinal += 1
            loop.ordinal = self._ordinal
            row = _loop_row(loop, result, anchor, excerpts=self.excerpts, priced=self.priced)
            self._loops.append(self._put(row, (-loop.total_tokens, -loop.calls, loop.ordinal)))
        group = group_of(result, self.group_by)
        key = (result.started or "", self._count)
        if result.loops:
            fragment = _session(result, anchor, excerpts=self.excerpts)
            self._sessions.setdefault(group, []).append(self._put(fragment, key))
        else:
            fragment = f"<li>{_session_name(result, excerpts=self.excerpts)}</li>\n"
            self._quiet.setdefault(group, []).append(self._put(fragment, key))

    def _put(self, fragment: str, key: tuple[object, ...]) -> _Placed:
        data = fragment.encode()
        offset = self._store.seek(0, os.SEEK_END)
        self._store.write(data)
        return _Placed(offset, len(data), key)

    def _copy(self, placed: _Placed, out: TextIO) -> None:
        self._store.seek(placed.offset)
        out.write(self._store.read(placed.length).decode())

    def write(self, path: str, report: Report, *, paths: list[str]) -> None:
        """The page at ``path``: a fresh 0600 file beside it, renamed over it, so a link
        planted there is replaced, never written through, and the page (excerpts of your
        own tool calls) is yours alone to share."""
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".streamd-report-", suffix=".html", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                self._write(out, report, paths)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _write(self, out: TextIO, report: Report, paths: list[str]) -> None:
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        privacy = (
            "It holds excerpts of your own tool calls and results: share it with care."
            if self.excerpts
            else "It holds no arguments or result text (--no-excerpts)."
        )
        out.write(
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>streamd report</title><style>{_STYLE}</style></head><body>\n"
            "<h1>Where your agents looped</h1>\n"
            f'<p class="origin">Made by <code>streamd report</code> on {when} from '
            f"{plural(report.files, 'file')} in {html.escape(', '.join(paths))}. "
            f"{html.escape(privacy)}</p>\n"
        )
        out.write(_cards(report, priced=self.priced))
        out.write(_charts(report))
        self._write_loops(out, report)
        self._write_sessions(out, report)
        out.write(_skipped(report))
        out.write(f"<script>{_SCRIPT}</script>\n</body></html>\n")

    def _write_loops(self, out: TextIO, report: Report) -> None:
        out.write('<section id="loops"><h2>Loops</h2>\n')
        if not self._loops:
            out.write("<p>No loops found.</p></section>\n")
            return
        default = "tokens" if report.tokens_in_loops else "calls"
        out.write(
            '<p class="quiet">Open a loop for its calls; the column names sort the list '
            f"(now by {default}, most first).</p>\n"
        )
        head = []
        for key, name, kind, where in _COLUMNS:
            if key == "cost" and not self.priced:
                continue
            sort = ' aria-sort="descending"' if key == default else ""
            head.append(
                f'<span role="columnheader" class="{where}"{sort}>'
                f'<button type="button" data-key="{key}" data-type="{kind}">{name}</button></span>'
            )
        out.write(f'<div class="row head" role="row">{"".join(head)}</div>\n<div id="loop-rows">\n')
        # A loop's key is (-tokens, -calls, ordinal); without tokens, the calls lead.
        first = 0 if default == "tokens" else 1
        for placed in sorted(self._loops, key=lambda p: p.key[first:]):
            self._copy(placed, out)
        out.write("</div></section>\n")

    def _write_sessions(self, out: TextIO, report: Report) -> None:
        by = report.by_day if self.group_by == "day" else report.by_project
        groups = sorted(set(self._sessions) | set(self._quiet))
        if self.group_by == "day":
            groups.sort(reverse=True)  # the newest first; "undated" sorts after the digits
            groups.sort(key=lambda day: day == "undated")
        else:
            groups.sort(key=lambda project: -by.get(project, Totals()).loops)
        out.write(f'<section id="sessions"><h2>Sessions by {self.group_by}</h2>\n')
        out.write(
            '<p class="legend quiet">Each call is a cell:<i class="c"></i>making progress'
            '<i class="c in-loop"></i>in a loop<i class="c in-note"></i>in a loop streamd '
            'notes for you only<i class="c spoke"></i>where streamd spoke. A loop\'s cells '
            "lead to it in the list above.</p>\n"
        )
        for group in groups:
            totals = by.get(group, Totals())
            title = os.path.basename(group.rstrip(os.sep)) or group
            out.write(
                f'<section class="group"><h3>{html.escape(title)} <small>'
                f"{plural(totals.sessions, 'session')}, {plural(totals.loops, 'loop')}, "
                f"{plural(totals.calls_in_loops, 'call')} in loops"
                + (f" · {html.escape(group)}" if title != group else "")
                + "</small></h3>\n"
            )
            for placed in sorted(self._sessions.get(group, []), key=lambda p: p.key):
                self._copy(placed, out)
            quiet = sorted(self._quiet.get(group, []), key=lambda p: p.key)
            if quiet:
                out.write(
                    f"<details><summary>{plural(len(quiet), 'session')} without loops"
                    '</summary><ul class="quiet-sessions">\n'
                )
                for placed in quiet:
                    self._copy(placed, out)
                out.write("</ul></details>\n")
            out.write("</section>\n")
        out.write("</section>\n")


def _cards(report: Report, *, priced: bool) -> str:
    notes = report.loops_by_audience["people"]
    cards = [
        ("sessions", f"{report.sessions:,}"),
        ("tool calls", f"{report.tool_calls:,}"),
        ("loops", f"{report.loops:,}"),
        ("calls inside loops", f"{report.calls_in_loops:,}"),
    ]
    if notes:
        cards.insert(3, ("of them notes for you", f"{notes:,}"))
    if report.seconds_in_loops:
        cards.append(("agent time in loops", duration(report.seconds_in_loops)))
    if report.tokens_in_loops:
        cards.append(("tokens in loops", count(sum(report.tokens_in_loops.values()))))
    elif report.result_bytes_in_loops:
        cards.append(
            (f"tokens in loops, estimated at {BYTES_PER_TOKEN} bytes a token",
             count(report.token_estimate))
        )  # fmt: skip
    if priced:
        cards.append(("cost of loops at your prices", money(report.cost_in_loops)))
    items = "".join(f"<li><b>{v}</b>{html.escape(k)}</li>" for k, v in cards)
    usage = ""
    if report.tokens_in_loops:
        kinds = ", ".join(f"{count(n)} {k.replace('_', ' ')}" for k, n in _kinds(report))
        usage = (
            f'<p class="quiet">Tokens are the transcripts\' own usage records for the model '
            f"turns that made the looping calls: {kinds}"
            + (
                f"; {report.loops - report.loops_with_usage} loops' transcripts record none"
                if report.loops_with_usage < report.loops
                else ""
            )
            + (
                f"; {count(report.unpriced_tokens)} tokens had no price given"
                if priced and report.unpriced_tokens
                else ""
            )
            + ".</p>\n"
        )
    return f'<ul class="cards" id="summary">{items}</ul>\n{usage}'


def _kinds(report: Report) -> list[tuple[str, int]]:
    order = ("input", "cache_creation", "cache_read", "output")
    return sorted(report.tokens_in_loops.items(), key=lambda kv: (*order, kv[0]).index(kv[0]))


def _charts(report: Report) -> str:
    if not report.loops:
        return ""
    unit, periods = _plots.periods([d for d in report.by_day if d != "undated"])
    tokens = bool(report.tokens_in_loops)
    lost = "tokens" if tokens else "calls"

    def wasted(totals: Totals) -> float:
        return totals.tokens_in_loops if tokens else totals.calls_in_loops

    by_period: dict[str, Totals] = {}
    for day, totals in report.by_day.items():
        by_period.setdefault(day[: 7 if unit == "month" else 10], Totals()).include(totals)
    charts = []
    if periods:
        charts.append(_plots.column_chart(
            f"loops-per-{unit}", f"Loops per {unit}",
            [(d, by_period.get(d, Totals()).loops) for d in periods], _whole,
        ))  # fmt: skip
        charts.append(_plots.column_chart(
            f"{lost}-per-{unit}", f"{lost.capitalize()} lost in loops per {unit}",
            [(d, wasted(by_period.get(d, Totals()))) for d in periods], count,
        ))  # fmt: skip
    projects = sorted(report.by_project.items(), key=lambda kv: -kv[1].loops)[:12]
    projects = [(p, t) for p, t in projects if t.loops]
    names = short_names([p for p, _ in projects])
    charts.append(_plots.bar_chart(
        "loops-per-project", "Loops by project",
        [(names[p], t.loops) for p, t in projects], _whole,
    ))  # fmt: skip
    charts.append(_plots.bar_chart(
        f"{lost}-per-project", f"{lost.capitalize()} lost in loops by project",
        [(names[p], wasted(t)) for p, t in projects], count,
    ))  # fmt: skip
    charts.append(_plots.column_chart(
        "loop-lengths", "How many calls a loop made (loops of each length)",
        _length_bins(report), _whole,
    ))  # fmt: skip
    return f'<section id="plots"><h2>Over time and by project</h2><div class="charts">' \
        f'{"".join(charts)}</div></section>\n'  # fmt: skip


def short_names(paths: list[str]) -> dict[str, str]:
    """Each folder by its last name, or by more of its path where two share one."""

    def tail(path: str, depth: int) -> str:
        return os.sep.join(path.rstrip(os.sep).split(os.sep)[-depth:]) or path

    names = {}
    for path in paths:
        name = path
        for depth in (1, 2, 3):
            if sum(tail(other, depth) == tail(path, depth) for other in paths) == 1:
                name = tail(path, depth)
                break
        names[path] = name
    return names


def _length_bins(report: Report) -> list[tuple[str, float]]:
    bins = [(2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, 50), (51, 10**9)]
    points = []
    for low, high in bins:
        n = sum(v for length, v in report.loop_lengths.items() if low <= length <= high)
        label = str(low) if low == high else f"{low}+" if high == 10**9 else f"{low}–{high}"
        points.append((label, float(n)))
    small = sum(v for length, v in report.loop_lengths.items() if length < 2)
    if small:
        points.insert(0, ("1", float(small)))
    return points


def _loop_row(
    loop: Loop, result: SessionResult, anchor: str, *, excerpts: bool, priced: bool
) -> str:
    name = _session_name(result, excerpts=excerpts, short=True)
    project = os.path.basename(result.project.rstrip(os.sep)) or result.project
    stamp = loop.timestamp or result.started or ""
    tokens = loop.total_tokens
    cells = [
        ("", f"#{loop.ordinal}"),
        ("wide", name),
        ("hide", html.escape(project)),
        ("hide", html.escape(_minute(stamp))),
        ("hide", html.escape(loop.rule) + (' <span class="badge people">note</span>'
                                           if loop.audience == "people" else "")),
        ("n", f"{loop.calls:,}"),
        ("n", duration(loop.seconds) if loop.seconds is not None else "–"),
        ("n", count(tokens) if loop.tokens else "–"),
    ]  # fmt: skip
    if priced:
        cells.append(("n", money(loop.cost) if loop.cost is not None else "–"))
    data = {
        "ordinal": loop.ordinal,
        "session": result.prompt if excerpts and result.prompt else result.session,
        "project": project, "date": stamp, "rule": loop.rule, "calls": loop.calls,
        "seconds": -1 if loop.seconds is None else round(loop.seconds, 3),
        "tokens": tokens if loop.tokens else -1,
        "cost": -1 if loop.cost is None else round(loop.cost, 6),
    }  # fmt: skip
    attributes = " ".join(f'data-{k}="{html.escape(str(v))}"' for k, v in data.items())
    summary = "".join(f'<span class="{cls}">{text}</span>' for cls, text in cells)
    return (
        f'<details class="loop" id="loop-{loop.ordinal}" {attributes}>'
        f'<summary class="row">{summary}</summary><div class="evidence">'
        f"<p>{html.escape(loop.describe(excerpts=excerpts))}"
        f' (<a href="#{anchor}">its session</a>, calls {loop.start + 1}–{loop.end + 1} of '
        f"{result.calls}{_token_kinds(loop)}).</p>{_evidence(loop, excerpts=excerpts)}"
        "</div></details>\n"
    )


def _token_kinds(loop: Loop) -> str:
    if not loop.tokens:
        return ""
    kinds = ", ".join(f"{count(n)} {k.replace('_', ' ')}" for k, n in sorted(loop.tokens.items()))
    return f"; tokens: {kinds}"


def _evidence(loop: Loop, *, excerpts: bool) -> str:
    items = []
    for n, call in enumerate(loop.evidence):
        if n == 4 and loop.skipped_evidence:
            items.append(f"<li>… {plural(loop.skipped_evidence, 'more call')} …</li>")
        items.append(_evidence_item(call, excerpts=excerpts))
    return f"<ol>{''.join(items)}</ol>"


def _evidence_item(call: Call, *, excerpts: bool) -> str:
    said = f' <span class="badge">{html.escape(call.rule)}</span>' if call.rule else ""
    head = f"<b>{html.escape(call.tool)}</b> {html.escape(call.state.lower())}{said}"
    if not excerpts:
        return f"<li>{head} <code>{html.escape(call.shape)}</code></li>"
    result = f"<pre>{html.escape(call.result)}</pre>" if call.result else ""
    return f"<li>{head}<pre>{html.escape(call.arguments)}</pre>{result}</li>"


def _session(result: SessionResult, anchor: str, *, excerpts: bool) -> str:
    in_loop: dict[int, Loop] = {}
    for loop in result.loops:
        for index in range(loop.start, loop.end + 1):
            in_loop.setdefault(index, loop)
    cells = []
    for index, call in enumerate(result.steps):
        title = html.escape(_cell_title(call, index))
        within = in_loop.get(index)
        if within is None:
            cells.append(f'<span class="c" title="{title}"></span>')
            continue
        kind = "spoke" if call.rule else "in-note" if within.audience == "people" else "in-loop"
        cells.append(
            f'<a class="c {kind}" href="#loop-{within.ordinal}" title="{title}" '
            f'aria-label="loop #{within.ordinal}, call {index + 1}"></a>'
        )
    links = ", ".join(
        f'<a href="#loop-{lp.ordinal}">#{lp.ordinal} {html.escape(lp.rule)}, '
        f"{plural(lp.calls, 'call')}</a>"
        for lp in result.loops
    )
    return (
        f'<details class="session" id="{anchor}"><summary>'
        f"{_session_name(result, excerpts=excerpts)}</summary>"
        f'<div class="strip">{"".join(cells)}</div><p>Loops: {links}</p>'
        f'<p class="path">{html.escape(result.path)}</p></details>\n'
    )


def _cell_title(call: Call, index: int) -> str:
    """A call's cell's hover text: which call, and what streamd made of it. Its
    arguments and result are in its loop's evidence: a session's every call in a title
    made pages of tens of megabytes."""
    rule = f" ({call.rule})" if call.rule else ""
    return f"call {index + 1}: {call.tool}, {call.state.lower()}{rule}"


def _session_name(result: SessionResult, *, excerpts: bool, short: bool = False) -> str:
    """Date, duration and first prompt (or the session's id), then its counts."""
    prompt = result.prompt if excerpts and result.prompt else None
    limit = SESSION_NAME // 2 if short else SESSION_NAME
    what = (
        html.escape(prompt if len(prompt) <= limit else prompt[: limit - 1] + "…")
        if prompt
        else f"<code>{html.escape(result.session)}</code>"
    )
    if short:
        return what
    seconds = result.seconds
    when = _minute(result.started or "") or "undated"
    took = f", {duration(seconds)}" if seconds else ""
    loops = f", {plural(len(result.loops), 'loop')}" if result.loops else ""
    return (
        f"<b>{html.escape(when)}</b>{took} · {what} <small>{html.escape(result.format)}, "
        f"{plural(result.calls, 'call')}{loops}</small>"
    )


def _skipped(report: Report) -> str:
    if not report.skipped:
        return ""
    items = "".join(
        f"<tr><td>{html.escape(why)}</td><td class=n>{n:,}</td></tr>"
        for why, n in sorted(report.skipped.items())
    )
    return f'<section id="skipped"><h2>Skipped</h2><table>{items}</table></section>\n'


def _minute(stamp: str) -> str:
    """``YYYY-MM-DD HH:MM`` of an ISO 8601 time, as written."""
    return stamp[:16].replace("T", " ") if len(stamp) >= 16 else stamp


def _whole(value: float) -> str:
    return f"{value:,.0f}"
