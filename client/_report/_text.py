"""The terminal reporter: the totals, and the sessions that lost the most."""

from __future__ import annotations

from typing import TextIO

from streamd.shared._breaker import Breaker

from .._terminal import plural
from ._model import BYTES_PER_TOKEN, Report


def render(report: Report, out: TextIO, *, excerpts: bool, breaker: Breaker | None = None) -> None:
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
        f"{_audiences(report)}; "
        f"{plural(report.calls_in_loops, 'call')} inside them, handing back "
        f"{report.result_bytes_in_loops:,} bytes of results (about "
        f"{report.token_estimate:,} tokens, at {BYTES_PER_TOKEN} bytes a token)\n"
    )
    if breaker is not None:
        limits = ", ".join(
            f"{k} = {v}" for k, v in (("stop_at", breaker.stop_at), ("budget", breaker.budget)) if v
        )
        out.write(
            f"with the circuit breaker at {limits}: {plural(report.sessions_stopped, 'session')} "
            f"would have stopped, saving about {plural(report.calls_saved, 'call')}\n"
        )
    if report.worst:
        out.write("sessions that lost the most:\n")
    for r in report.worst:
        out.write(
            f"  {r.session} ({r.format}): {r.calls_in_loops} of {r.calls} calls in loops; "
            f"worst: {r.worst.describe(excerpts=excerpts)}\n"
        )


def _audiences(report: Report) -> str:
    notes = report.loops_by_audience["people"]
    if not notes:
        return ""
    advice = report.loops_by_audience["model"]
    return f", {advice} advised to the model and {plural(notes, 'note')} for you"
