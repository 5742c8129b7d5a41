"""GitHub Copilot CLI: camel-case payloads that name no event (told from their fields),
arguments as a JSON string, and an answer it reads on failures only."""

from __future__ import annotations

from collections.abc import Mapping

from ._base import HOOK_TIMEOUT_SECONDS, Host, Installer, json_or_as_is


def adapt(event: Mapping[str, object]) -> dict[str, object]:
    """An ``error`` is a failure, a ``toolResult`` a result, neither the session's end."""
    result = event.get("toolResult")
    if event.get("error") is not None or (
        isinstance(result, Mapping) and result.get("resultType") == "failure"
    ):
        name = "PostToolUseFailure"
    elif event.get("toolName") is not None:
        name = "PostToolUse"
    else:
        name = "SessionEnd"
    out: dict[str, object] = {
        "hook_event_name": name,
        "session_id": event.get("sessionId"),
        "cwd": event.get("cwd"),
        "tool_name": event.get("toolName"),
        "tool_input": json_or_as_is(event.get("toolArgs")),
    }
    if isinstance(result, Mapping) and result.get("textResultForLlm") is not None:
        seen: object = result.get("textResultForLlm")
    else:
        seen = result
    if name == "PostToolUseFailure":
        out["error"] = event.get("error") if event.get("error") is not None else seen
    elif seen is not None:
        out["tool_response"] = seen
    return out


def probe(cwd: str, session: str, n: int | None) -> dict[str, object]:
    """A failing call: Copilot CLI reads answers to failures only."""
    base: dict[str, object] = {"sessionId": session, "cwd": cwd, "timestamp": n or 0}
    if n is None:
        return {**base, "reason": "complete"}
    return {
        **base,
        "toolName": "bash",
        "toolArgs": '{"command": "false # streamd doctor"}',
        "error": "streamd doctor: a harmless failure",
    }


HOST = Host(
    "copilot",
    "GitHub Copilot CLI",
    {
        "postToolUse": "PostToolUse",
        "postToolUseFailure": "PostToolUseFailure",
        "sessionEnd": "SessionEnd",
    },
    "additionalContext",
    "postToolUse",
    Installer(
        ".github/hooks/streamd.json",
        None,
        nested=False,
        entry={"type": "command", "timeoutSec": HOOK_TIMEOUT_SECONDS},
        command_key="bash",
        top_level={"version": 1},
    ),
    "`postToolUseFailure` (`error`); its answer is read on failures only, so "
    "`postToolUse` steps are recorded silently",
    "Copilot CLI hooks reference and SDK docs (docs.github.com)",
    adapt=adapt,
    answered=frozenset({"postToolUseFailure"}),
    probe=probe,
)
