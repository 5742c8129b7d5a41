"""The terminal reporter: the totals, and the sessions that lost the most."""

from __future__ import annotations

from typing import TextIO

from streamd.shared._breaker import Breaker

from .._terminal import plural
from ._model import BYTES_PER_TOKEN, Report, groups
from ._units import money


def render(
    report: Report,
    out: TextIO,
    *,
    excerpts: bool,
    breaker: Breaker | None = None,
    group_by: str | None = None,
) -> None:
    skipped = sum(report.skipped.values())
    out.write(
        f"read {plural(report.files, 'file')}: {plural(report.sessions, 'session')}, "
        f"{plural(report.tool_calls, 'tool call')}"
    )
    if skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items()))
        out.write(f"; skipped {skipped} ({reasons})")
    out.write("\n")
    by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(report.loops_by_rule.items()))
    out.write(
        f"loops found: {report.loops}{f' ({by_rule})' if by_rule else ''}"
        f"{_audiences(report)}; {plural(report.calls_in_loops, 'call')} inside them"
        f"{_seconds(report)}\n"
    )
    out.write(_cost(report))
    out.write(_priced(report))
    if breaker is not None:
        limits = ", ".join(
            f"{k} = {v}" for k, v in (("stop_at", breaker.stop_at), ("budget", breaker.budget)) if v
        )
        out.write(
            f"with the circuit breaker at {limits}: {plural(report.sessions_stopped, 'session')} "
            f"would have stopped, saving about {plural(report.calls_saved, 'call')}\n"
        )
    if group_by is not None:
        _groups(report, out, group_by)
    if report.worst:
        out.write("sessions that lost the most:\n")
    for r in report.worst:
        out.write(
            f"  {r.session} ({r.format}, {r.project}): {r.calls_in_loops} of {r.calls} calls "
            f"in loops; worst: {r.worst.describe(excerpts=excerpts)}\n"
        )


def _groups(report: Report, out: TextIO, by: str) -> None:
    out.write(f"by {by}:\n")
    rows = groups(report, by)
    width = max((len(name) for name, _ in rows), default=0)
    for name, t in rows:
        tokens = f", {t.tokens_in_loops:,} tokens" if t.tokens_in_loops else ""
        seconds = f", {t.seconds_in_loops:,.0f} s" if t.seconds_in_loops else ""
        cost = f", cost {money(t.cost_in_loops)}" if report.prices else ""
        out.write(
            f"  {name:<{width}}  {plural(t.sessions, 'session')}, {plural(t.loops, 'loop')}, "
            f"{plural(t.calls_in_loops, 'call')} in loops{seconds}{tokens}{cost}\n"
        )


def _priced(report: Report) -> str:
    if not report.prices or not report.tokens_in_loops:
        return ""
    left = (
        f" ({report.unpriced_tokens:,} tokens had no price given: add it with --price)"
        if report.unpriced_tokens
        else ""
    )
    return f"at your prices those tokens cost {money(report.cost_in_loops)}{left}\n"


def _audiences(report: Report) -> str:
    notes = report.loops_by_audience["people"]
    if not notes:
        return ""
    advice = report.loops_by_audience["model"]
    return f", {advice} advised to the model and {plural(notes, 'note')} for you"


def _seconds(report: Report) -> str:
    if not report.seconds_in_loops:
        return ""
    return f" over {report.seconds_in_loops:,.0f} s of the agents' time"


def _cost(report: Report) -> str:
    tokens = report.tokens_in_loops
    if tokens:
        cached = tokens.get("cache_read", 0)
        written = tokens.get("cache_creation", 0)
        parts = [f"{tokens.get('input', 0) + cached + written:,} input tokens"]
        if cached or written:
            parts[0] += f" ({cached:,} read from the cache, {written:,} written to it)"
        parts.append(f"{tokens.get('output', 0):,} output tokens")
        share = (
            ""
            if report.loops_with_usage == report.loops
            else f" (in {report.loops_with_usage} of the {report.loops} loops; the others' "
            "transcripts record none)"
        )
        return f"the model turns that made those calls used {' and '.join(parts)}{share}\n"
    if not report.loops:
        return ""
    if not report.result_bytes_in_loops:
        return "the files record no token usage or result text to count\n"
    return (
        f"the transcripts record no token usage: the repeated results came to "
        f"{report.result_bytes_in_loops:,} bytes, about {report.token_estimate:,} tokens at "
        f"{BYTES_PER_TOKEN} bytes a token\n"
    )
