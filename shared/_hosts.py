"""The hosts streamd speaks, in one registry: each agent's hook dialect (its events
mapped onto Claude Code's, its fields, how it reports a failure, where it reads the
answer) and where its installer writes.

Claude Code events pass through untouched, so their digests stay dos-kernel's. The
``--host`` choices, the installers and the README's host table are built from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import StreamdError

DEFAULT_HOST = "claude"
HOOK_TIMEOUT_SECONDS = 10


class UnknownHost(StreamdError, ValueError):
    """Raised when a host name is not one streamd speaks."""


Adapter = Callable[[Mapping[str, object]], dict[str, object]]


@dataclass(frozen=True, slots=True)
class Installer:
    """Where and how a host's hook config is written."""

    project_file: str
    """Relative to the project directory."""
    user_file: str | None
    """Relative to the home directory; None where the host reads no user-level file."""
    nested: bool = True
    """Matcher groups holding ``hooks`` lists (Claude style), or flat entries."""
    matcher: str | None = None
    entry: Mapping[str, Any] = field(default_factory=dict)
    """Fields of our entry besides the command (its timeout in the host's unit)."""
    command_key: str = "command"
    timeouts: Mapping[str, Any] = field(default_factory=dict)
    """Per event, a timeout field that differs from ``entry``'s."""
    top_level: Mapping[str, Any] = field(default_factory=dict)
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    title: str
    events: Mapping[str, str]
    """The host's event names, each mapped to Claude Code's; the installer hooks each."""
    answer_key: str
    """``hookSpecificOutput`` for the Claude-shaped answer, else a flat key."""
    post_event: str
    """The post-tool event, the name an event without one is answered as."""
    installer: Installer
    failures: str
    """How the host reports a failed call (the README's host table)."""
    checked: str
    """Where its contract was checked."""
    adapt: Adapter | None = None
    """Maps an event onto Claude Code's field names; None when it already has them."""
    answered: frozenset[str] | None = None
    """The events whose answer the host reads; None: every tool event."""


def _mapped(host: str, event: Mapping[str, object]) -> object:
    name = event.get("hook_event_name")
    return HOSTS[host].events.get(name, name) if isinstance(name, str) else name


def _from_gemini(event: Mapping[str, object]) -> dict[str, object]:
    out = dict(event)
    out["hook_event_name"] = _mapped("gemini", event)
    response = event.get("tool_response")
    if isinstance(response, Mapping):
        seen = {k: response[k] for k in ("llmContent", "error") if response.get(k) is not None}
        out["tool_response"] = seen or None
    return out


def _from_cursor(event: Mapping[str, object]) -> dict[str, object]:
    out = dict(event)
    out["hook_event_name"] = _mapped("cursor", event)
    out["session_id"] = event.get("conversation_id") or event.get("session_id")
    roots = event.get("workspace_roots")
    if not event.get("cwd") and isinstance(roots, list) and roots and isinstance(roots[0], str):
        out["cwd"] = roots[0]
    out.pop("tool_response", None)
    if "error" not in event and event.get("error_message") is not None:
        out["error"] = event["error_message"]
    return out


def _from_copilot(event: Mapping[str, object]) -> dict[str, object]:
    """Copilot CLI's camelCase payloads; its events carry no name of their own, so the
    event is told from its fields: an ``error`` is a failure, a ``toolResult`` a result."""
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
        "tool_input": _json_or_as_is(event.get("toolArgs")),
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


def _from_droid(event: Mapping[str, object]) -> dict[str, object]:
    """Factory Droid speaks Claude Code's dialect; some builds spell the common fields in
    camelCase."""
    out = dict(event)
    for camel, snake in (
        ("sessionId", "session_id"),
        ("hookEventName", "hook_event_name"),
        ("transcriptPath", "transcript_path"),
        ("toolName", "tool_name"),
        ("toolInput", "tool_input"),
        ("toolResponse", "tool_response"),
    ):
        if snake not in out and camel in event:
            out[snake] = event[camel]
    return out


def _json_or_as_is(value: object) -> object:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_CLAUDE_EVENTS = {
    "PostToolUse": "PostToolUse",
    "PostToolUseFailure": "PostToolUseFailure",
    "SessionEnd": "SessionEnd",
}
_SECONDS = {"type": "command", "timeout": HOOK_TIMEOUT_SECONDS}
_MILLISECONDS = {"type": "command", "timeout": HOOK_TIMEOUT_SECONDS * 1000}

HOSTS: dict[str, Host] = {
    "claude": Host(
        "claude",
        "Claude Code",
        _CLAUDE_EVENTS,
        "hookSpecificOutput",
        "PostToolUse",
        Installer(
            ".claude/settings.json",
            ".claude/settings.json",
            matcher="*",
            entry=_SECONDS,
        ),
        "`PostToolUseFailure` (`error`)",
        "hooks documentation; real client 2.1.332 on a scripted model (REFERENCE.md)",
    ),
    "codex": Host(
        "codex",
        "Codex CLI",
        {"PostToolUse": "PostToolUse", "SessionEnd": "SessionEnd"},
        "hookSpecificOutput",
        "PostToolUse",
        Installer(
            ".codex/hooks.json",
            ".codex/hooks.json",
            entry=_SECONDS,
            timeouts={"SessionEnd": 3},  # Codex clamps a SessionEnd hook to 3 s
            notice=(
                "Codex runs a hook only after you trust it, and trusts the exact command: "
                "open /hooks in Codex and trust it (again after any reinstall that changed "
                "the command)."
            ),
        ),
        "none: a failed shell call is a `PostToolUse` whose `tool_response` is the output "
        "text; read as a failure when it opens as an error report",
        "real client 0.169.0 on a scripted model (REFERENCE.md)",
    ),
    "gemini": Host(
        "gemini",
        "Gemini CLI",
        {"AfterTool": "PostToolUse", "SessionEnd": "SessionEnd"},
        "hookSpecificOutput",
        "AfterTool",
        Installer(
            ".gemini/settings.json",
            ".gemini/settings.json",
            entry={**_MILLISECONDS, "name": "streamd"},
        ),
        "`AfterTool` with `tool_response.error` (`{message, type}`)",
        "source and docs; real client 0.61.0 on a scripted model (REFERENCE.md)",
        adapt=_from_gemini,
    ),
    "cursor": Host(
        "cursor",
        "Cursor",
        {
            "postToolUse": "PostToolUse",
            "postToolUseFailure": "PostToolUseFailure",
            "sessionEnd": "SessionEnd",
        },
        "additional_context",
        "postToolUse",
        Installer(
            ".cursor/hooks.json",
            ".cursor/hooks.json",
            nested=False,
            top_level={"version": 1},
        ),
        "`postToolUseFailure` (`error_message`); a `postToolUse` whose `tool_output` JSON "
        "holds a non-zero `exitCode`",
        "payloads captured from cursor-agent 2026.10 by third parties (forgelore 0.1.10)",
        adapt=_from_cursor,
    ),
    "copilot": Host(
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
        adapt=_from_copilot,
        answered=frozenset({"postToolUseFailure"}),
    ),
    "qwen": Host(
        "qwen",
        "Qwen Code",
        _CLAUDE_EVENTS,
        "hookSpecificOutput",
        "PostToolUse",
        Installer(
            ".qwen/settings.json",
            ".qwen/settings.json",
            matcher="*",
            entry=_MILLISECONDS,
        ),
        "`PostToolUseFailure` (`error`)",
        "Qwen Code hooks guide and reference (qwenlm.github.io)",
    ),
    "droid": Host(
        "droid",
        "Factory Droid",
        {"PostToolUse": "PostToolUse", "SessionEnd": "SessionEnd"},
        "hookSpecificOutput",
        "PostToolUse",
        Installer(
            ".factory/settings.json",
            ".factory/settings.json",
            matcher="*",
            entry=_SECONDS,
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
        adapt=_from_droid,
    ),
}


def host(name: str) -> Host:
    try:
        return HOSTS[name]
    except KeyError:
        raise UnknownHost(f"unknown host {name!r}; streamd speaks {', '.join(HOSTS)}") from None


def to_claude_shape(name: str, event: Mapping[str, object]) -> dict[str, object]:
    """The event with Claude Code's field names (Claude's, Codex's and Qwen's pass as
    they are)."""
    adapt = host(name).adapt
    return adapt(event) if adapt is not None else dict(event)


def host_event_name(name: str, claude_event: str) -> str | None:
    """The host's own name for a Claude Code event, for hosts whose payloads name none."""
    return next((own for own, ours in host(name).events.items() if ours == claude_event), None)


def answer_payload(name: str, host_event: str, text: str) -> dict[str, object]:
    """The JSON object a host reads the advisory context from."""
    h = host(name)
    if h.answer_key == "hookSpecificOutput":
        return {"hookSpecificOutput": {"hookEventName": host_event, "additionalContext": text}}
    return {h.answer_key: text}


def answered_event(name: str, host_event: str | None) -> str | None:
    """The host's name of the event to answer, or None when it takes no answer."""
    h = host(name)
    if host_event is None or host_event not in h.events:
        if h.answered is not None:
            return None
        return h.post_event
    if h.events[host_event] == "SessionEnd":
        return None
    if h.answered is not None and host_event not in h.answered:
        return None
    return host_event


def host_table() -> str:
    """The README's host table, made from this registry."""
    rows = [
        "| host | `--host` | events installed | failures | answer | config (user; project) "
        "| checked against |",
        "|---|---|---|---|---|---|---|",
    ]
    for h in HOSTS.values():
        inst = h.installer
        answer = (
            "`hookSpecificOutput.additionalContext`"
            if h.answer_key == "hookSpecificOutput"
            else f"`{h.answer_key}`"
        )
        if h.answered is not None:
            answer += " (on " + ", ".join(f"`{e}`" for e in sorted(h.answered)) + " only)"
        user = f"`~/{inst.user_file}`" if inst.user_file else "none"
        rows.append(
            f"| {h.title} | `{h.name}` | {', '.join(f'`{e}`' for e in h.events)} | "
            f"{h.failures} | {answer} | {user}; `{inst.project_file}` | {h.checked} |"
        )
    return "\n".join(rows)
