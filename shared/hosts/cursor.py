"""Cursor: camel-case events, ``conversation_id`` for the session, the result as a JSON
string in ``tool_output`` (``{"output": .., "exitCode": N}``), the answer a flat
``additional_context``."""

from __future__ import annotations

from collections.abc import Mapping

from .._adapter import failure_of
from ._base import Host, Installer, json_or_as_is


def adapt(event: Mapping[str, object]) -> dict[str, object]:
    out = dict(event)
    out["hook_event_name"] = HOST.mapped(event)
    out["session_id"] = event.get("conversation_id") or event.get("session_id")
    roots = event.get("workspace_roots")
    if not event.get("cwd") and isinstance(roots, list) and roots and isinstance(roots[0], str):
        out["cwd"] = roots[0]
    out.pop("tool_response", None)
    if "error" not in event and event.get("error_message") is not None:
        out["error"] = event["error_message"]
    return out


def _parsed(result: object, marker: str) -> object:
    return json_or_as_is(result) if isinstance(result, str) and marker in result else result


def failure(result: object) -> str | None:
    """A ``tool_output`` whose ``exitCode`` is not 0."""
    parsed = _parsed(result, "xitCode")
    return failure_of("PostToolUse", parsed) if parsed is not result else None


def visible(result: object) -> object:
    parsed = _parsed(result, '"output"')
    if isinstance(parsed, Mapping) and isinstance(parsed.get("output"), str):
        return parsed["output"]
    return result


def probe(cwd: str, session: str, n: int | None) -> dict[str, object]:
    base: dict[str, object] = {"conversation_id": session, "workspace_roots": [cwd]}
    if n is None:
        return {**base, "hook_event_name": "sessionEnd", "reason": "completed"}
    return {
        **base,
        "hook_event_name": "postToolUse",
        "tool_name": "Shell",
        "tool_input": {"command": "echo streamd doctor"},
        "tool_output": '{"exitCode": 0, "stdout": "streamd doctor\\n"}',
        "tool_use_id": f"streamd-doctor-{n}",
    }


HOST = Host(
    "cursor",
    "Cursor",
    {
        "postToolUse": "PostToolUse",
        "postToolUseFailure": "PostToolUseFailure",
        "sessionEnd": "SessionEnd",
    },
    "additional_context",
    "postToolUse",
    Installer(".cursor/hooks.json", ".cursor/hooks.json", nested=False, top_level={"version": 1}),
    "`postToolUseFailure` (`error_message`); a `postToolUse` whose `tool_output` JSON "
    "holds a non-zero `exitCode`",
    "payloads captured from cursor-agent 2026.10 by third parties (forgelore 0.1.10)",
    adapt=adapt,
    failure=failure,
    visible=visible,
    probe=probe,
)
