"""Factory Droid: Claude Code's dialect, some builds spelling the common fields in
camel case; no failure event (a failed call says ``success: false``)."""

from __future__ import annotations

from collections.abc import Mapping

from .._adapter import as_text, failure_of
from . import claude
from ._base import HOOK_SPECIFIC, SECONDS, Host, Installer

_CAMEL = (
    ("sessionId", "session_id"),
    ("hookEventName", "hook_event_name"),
    ("transcriptPath", "transcript_path"),
    ("toolName", "tool_name"),
    ("toolInput", "tool_input"),
    ("toolResponse", "tool_response"),
)


def adapt(event: Mapping[str, object]) -> dict[str, object]:
    out = dict(event)
    for camel, snake in _CAMEL:
        if snake not in out and camel in event:
            out[snake] = event[camel]
    return out


def failure(result: object) -> str | None:
    """``success: false``: its ``error`` when it says one, else the whole result."""
    if not isinstance(result, Mapping) or result.get("success") is not False:
        return None
    return failure_of("PostToolUse", result) or as_text(result)


def probe(cwd: str, session: str, n: int | None) -> dict[str, object]:
    base: dict[str, object] = {"sessionId": session, "cwd": cwd}
    if n is None:
        return {**base, "hookEventName": "SessionEnd", "reason": "exit"}
    return {
        **base,
        "hookEventName": "PostToolUse",
        "tool_name": "Execute",
        "tool_input": {"command": "echo streamd doctor"},
        "tool_response": "streamd doctor\n",
    }


HOST = Host(
    "droid",
    "Factory Droid",
    {"PostToolUse": "PostToolUse", "SessionEnd": "SessionEnd"},
    HOOK_SPECIFIC,
    "PostToolUse",
    Installer(
        ".factory/settings.json",
        ".factory/settings.json",
        matcher="*",
        entry=SECONDS,
        notice=(
            "Droid's docs name hooks.json, but droid 0.186 reads hooks only from the "
            "`hooks` key of settings.json (Factory-AI/factory#3), where streamd wrote "
            "them; if you keep a hooks.json beside it, check that the hook fires."
        ),
    ),
    "none: a failed call is a `PostToolUse`; read as a failure from `success: false` "
    "or an output that opens as an error report",
    "Factory hooks docs; third-party integrations and issues (cupcake, hookshot, "
    "Factory-AI/factory#3)",
    adapt=adapt,
    failure=failure,
    visible=claude.visible,
    probe=probe,
    # Its hooks reference (docs.factory.ai) lists continue: false / stopReason among the
    # fields of every hook's output; no Droid client runs here to confirm it.
    stops=frozenset({"PostToolUse"}),
)
