"""The JSON reporter: one versioned object (``"format"``), the totals and the sessions
that lost the most. A new key is added beside the old ones; a changed meaning bumps
``FORMAT``."""

from __future__ import annotations

from typing import Any

from streamd.shared._breaker import Breaker

from ._model import Report, Totals, groups

FORMAT = 2
"""2: ``tokens_in_loops`` and ``seconds_in_loops`` (the transcripts' own usage and
times), ``loops_for_model`` and ``loops_for_people``, ``loop_lengths``, the sessions'
``project``, ``started`` and ``seconds``; ``breaker`` with ``--stop-at``,
``cost_in_loops`` and ``unpriced_tokens`` with prices, ``groups`` with ``--group-by``."""


def as_json(
    report: Report,
    *,
    excerpts: bool,
    breaker: Breaker | None = None,
    group_by: str | None = None,
) -> dict[str, Any]:
    found = _findings(report, excerpts=excerpts)
    if report.prices:
        found["cost_in_loops"] = round(report.cost_in_loops, 6)
        found["unpriced_tokens"] = report.unpriced_tokens
    if group_by is not None:
        found["group_by"] = group_by
        found["groups"] = [
            {"group": name, **_totals(totals)} for name, totals in groups(report, group_by)
        ]
    if breaker is not None:
        found["breaker"] = {
            "stop_at": breaker.stop_at,
            "budget": breaker.budget,
            "sessions_stopped": report.sessions_stopped,
            "calls_saved": report.calls_saved,
        }
    return found


def _findings(report: Report, *, excerpts: bool) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "files": report.files,
        "sessions": report.sessions,
        "tool_calls": report.tool_calls,
        "skipped": sum(report.skipped.values()),
        "skipped_by_reason": dict(report.skipped),
        "loops": report.loops,
        "loops_by_rule": dict(report.loops_by_rule),
        "loops_for_model": report.loops_by_audience["model"],
        "loops_for_people": report.loops_by_audience["people"],
        "calls_in_loops": report.calls_in_loops,
        "result_bytes_in_loops": report.result_bytes_in_loops,
        "token_estimate": report.token_estimate,
        "tokens_in_loops": dict(report.tokens_in_loops),
        "seconds_in_loops": round(report.seconds_in_loops, 3),
        "loops_with_usage": report.loops_with_usage,
        "loop_lengths": {str(n): k for n, k in sorted(report.loop_lengths.items())},
        "top_sessions": [
            {
                "session": r.session,
                "path": r.path,
                "format": r.format,
                "project": r.project,
                "started": r.started,
                "seconds": r.seconds,
                **({"prompt": r.prompt} if excerpts and r.prompt else {}),
                "calls": r.calls,
                "calls_in_loops": r.calls_in_loops,
                "worst_loop": r.worst.describe(excerpts=excerpts),
            }
            for r in report.worst
        ],
    }


def _totals(t: Totals) -> dict[str, Any]:
    return {
        "sessions": t.sessions,
        "tool_calls": t.calls,
        "loops": t.loops,
        "calls_in_loops": t.calls_in_loops,
        "tokens_in_loops": t.tokens_in_loops,
        "seconds_in_loops": round(t.seconds_in_loops, 3),
        "cost_in_loops": round(t.cost_in_loops, 6),
    }
