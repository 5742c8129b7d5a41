"""Gemini CLI: ``AfterTool`` for a finished call, a failure as ``tool_response.error``
(``{message, type}``), the model's text in ``llmContent``. Transcripts: the recorded
chats in ``~/.gemini/tmp/<project>/chats/session-*.json``, read into the same
``AfterTool`` events the hook receives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._adapter import exit_line
from ._base import HOOK_SPECIFIC, MILLISECONDS, Host, Installer

if TYPE_CHECKING:
    from .._transcript import Transcript


def adapt(event: Mapping[str, object]) -> dict[str, object]:
    out = dict(event)
    out["hook_event_name"] = HOST.mapped(event)
    response = event.get("tool_response")
    if isinstance(response, Mapping):
        seen = {k: response[k] for k in ("llmContent", "error") if response.get(k) is not None}
        out["tool_response"] = seen or None
    return out


def failure(result: object) -> str | None:
    """Gemini's shell reports a failed command as ``Exit Code: N`` in ``llmContent``."""
    seen = result.get("llmContent") if isinstance(result, Mapping) else None
    return seen if isinstance(seen, str) and exit_line(seen) else None


def visible(result: object) -> object:
    seen = result.get("llmContent") if isinstance(result, Mapping) else None
    return seen if isinstance(seen, str) else result


def read(path: str) -> Transcript:
    """A ``gemini`` message's ``toolCalls``, each with its ``result`` parts and
    ``status``; the model saw the ``functionResponse``'s output, the hook's
    ``llmContent``."""
    from .._transcript import (  # read only here, never by the hook
        Transcript,
        json_list,
        session_of,
    )

    t = Transcript(path, "gemini", session_of(path))
    data, messages = json_list(path, t, "messages", "no messages")
    if not messages:
        return t
    t.session = str(data.get("sessionId") or t.session)
    t.started = data.get("startTime")
    for message in messages:
        if not isinstance(message, dict):
            t.skipped["message that is not an object"] += 1
            continue
        for call in message.get("toolCalls") or []:
            if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                t.skipped["tool call without a name"] += 1
                continue
            if call.get("result") is None:
                t.skipped["call with no result"] += 1
                continue
            seen = _output(call["result"])
            response: dict[str, Any] = {"llmContent": seen}
            if call.get("status") == "error":
                response["error"] = {"message": seen}
            event: dict[str, Any] = {
                "hook_event_name": "AfterTool",
                "session_id": t.session,
                "tool_name": call["name"],
                "tool_input": call.get("args"),
                "tool_use_id": call.get("id"),
                "tool_response": response,
            }
            if call.get("status") == "cancelled":  # the user's, not an attempt
                event["streamd_artifact"] = "interrupted"
            t.events.append(HOST.to_claude_shape(event))
    return t


def _output(result: object) -> object:
    parts = result if isinstance(result, list) else [result]
    for part in parts:
        response = part.get("functionResponse") if isinstance(part, dict) else None
        if isinstance(response, dict) and isinstance(response.get("response"), dict):
            inner = response["response"]
            return inner.get("output", inner.get("error", inner))
    return result


def probe(cwd: str, session: str, n: int | None) -> dict[str, Any]:
    if n is None:
        return {"session_id": session, "cwd": cwd, "hook_event_name": "SessionEnd"}
    return {
        "session_id": session,
        "cwd": cwd,
        "hook_event_name": "AfterTool",
        "tool_name": "run_shell_command",
        "tool_input": {"command": "echo streamd doctor"},
        "tool_response": {"llmContent": "streamd doctor\n", "returnDisplay": ""},
    }


HOST = Host(
    "gemini",
    "Gemini CLI",
    {"AfterTool": "PostToolUse", "SessionEnd": "SessionEnd"},
    HOOK_SPECIFIC,
    "AfterTool",
    Installer(
        ".gemini/settings.json", ".gemini/settings.json", entry={**MILLISECONDS, "name": "streamd"}
    ),
    "`AfterTool` with `tool_response.error` (`{message, type}`)",
    "source and docs; real client 0.61.0 on a scripted model (REFERENCE.md)",
    adapt=adapt,
    failure=failure,
    visible=visible,
    transcript_folders=(".gemini/tmp",),
    read_transcript=read,
    probe=probe,
    stops=frozenset({"AfterTool"}),  # measured with 0.61.0 (REFERENCE.md)
)
