"""The JSON reporter: one versioned object (``"format"``), the totals and the sessions
that lost the most. A new key is added beside the old ones; a changed meaning bumps
``FORMAT``."""

from __future__ import annotations

from typing import Any

from streamd.shared._breaker import Breaker

from ._model import Report

FORMAT = 2
"""2: ``tokens_in_loops`` and ``seconds_in_loops`` (the transcripts' own usage and
times), ``loops_for_model`` and ``loops_for_people``, ``breaker`` with ``--stop-at``."""


def as_json(report: Report, *, excerpts: bool, breaker: Breaker | None = None) -> dict[str, Any]:
    found = _findings(report, excerpts=excerpts)
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
        "top_sessions": [
            {
                "session": r.session,
                "path": r.path,
                "format": r.format,
                "calls": r.calls,
                "calls_in_loops": r.calls_in_loops,
                "worst_loop": r.worst.describe(excerpts=excerpts),
            }
            for r in report.worst
        ],
    }
