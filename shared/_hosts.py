"""Host dialects: each agent's hook event mapped onto Claude Code's shape, and the
verdict rendered back in the words that host reads.

Claude Code events pass through untouched, so their digests stay dos-kernel's. Codex
speaks the same dialect. Gemini CLI's ``AfterTool`` result is the part the model sees
(``llmContent`` and any ``error``; ``returnDisplay`` is for the terminal). Cursor keys
a session by ``conversation_id`` and sends ``tool_output`` as a JSON string, hashed as
sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._errors import StreamdError

HOSTS = ("claude", "codex", "gemini", "cursor")
DEFAULT_HOST = "claude"


class UnknownHost(StreamdError, ValueError):
    """Raised when a host name is not one streamd speaks."""


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    events: Mapping[str, str]
    """The host's event names, each mapped to Claude Code's."""
    answer_key: str
    """``hookSpecificOutput`` for the Claude-shaped answer, else a flat key."""
    post_event: str
    """The host's post-tool event, the name an unnamed event is answered as."""


DIALECTS = {
    "claude": Dialect(
        "claude",
        {
            "PostToolUse": "PostToolUse",
            "PostToolUseFailure": "PostToolUseFailure",
            "SessionEnd": "SessionEnd",
        },
        "hookSpecificOutput",
        "PostToolUse",
    ),
    "codex": Dialect(
        "codex",
        {"PostToolUse": "PostToolUse", "SessionEnd": "SessionEnd"},
        "hookSpecificOutput",
        "PostToolUse",
    ),
    "gemini": Dialect(
        "gemini",
        {"AfterTool": "PostToolUse", "SessionEnd": "SessionEnd"},
        "hookSpecificOutput",
        "AfterTool",
    ),
    "cursor": Dialect(
        "cursor",
        {
            "postToolUse": "PostToolUse",
            "postToolUseFailure": "PostToolUseFailure",
            "sessionEnd": "SessionEnd",
        },
        "additional_context",
        "postToolUse",
    ),
}


def dialect(host: str) -> Dialect:
    try:
        return DIALECTS[host]
    except KeyError:
        raise UnknownHost(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}") from None


def to_claude_shape(host: str, event: Mapping[str, object]) -> dict[str, object]:
    """The event with Claude Code's field names; Claude's and Codex's pass unchanged."""
    dialect(host)
    if host == "gemini":
        return _from_gemini(event)
    if host == "cursor":
        return _from_cursor(event)
    return dict(event)


def _mapped_name(host: str, event: Mapping[str, object]) -> object:
    name = event.get("hook_event_name")
    return DIALECTS[host].events.get(name, name) if isinstance(name, str) else name


def _from_gemini(event: Mapping[str, object]) -> dict[str, object]:
    out = dict(event)
    out["hook_event_name"] = _mapped_name("gemini", event)
    response = event.get("tool_response")
    if isinstance(response, Mapping):
        seen = {k: response[k] for k in ("llmContent", "error") if response.get(k) is not None}
        out["tool_response"] = seen or None
    return out


def _from_cursor(event: Mapping[str, object]) -> dict[str, object]:
    out = dict(event)
    out["hook_event_name"] = _mapped_name("cursor", event)
    out["session_id"] = event.get("conversation_id") or event.get("session_id")
    roots = event.get("workspace_roots")
    if not event.get("cwd") and isinstance(roots, list) and roots and isinstance(roots[0], str):
        out["cwd"] = roots[0]
    out.pop("tool_response", None)
    if "error" not in event and event.get("error_message") is not None:
        out["error"] = event["error_message"]
    return out


def answer_payload(host: str, host_event: str, text: str) -> dict[str, object]:
    """The JSON object a host reads the advisory context from."""
    d = dialect(host)
    if d.answer_key == "hookSpecificOutput":
        return {"hookSpecificOutput": {"hookEventName": host_event, "additionalContext": text}}
    return {str(d.answer_key): text}


def answered_event(host: str, host_event: str | None) -> str | None:
    """The host's name of the event to answer, or None when it takes no answer."""
    d = dialect(host)
    if host_event is None or host_event not in d.events:
        return d.post_event
    return None if d.events[host_event] == "SessionEnd" else host_event
