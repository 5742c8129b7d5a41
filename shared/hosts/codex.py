"""Codex CLI: Claude Code's event and answer names, no failure event (a failed shell
call is a ``PostToolUse`` whose output opens as an error report). Transcripts: the
rollouts in ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``, today's (each line a
``{timestamp, type, payload}`` envelope) and 2025's (a bare first line, then the items
themselves, with ``{"record_type": "state"}`` lines between)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._base import HOOK_SPECIFIC, SECONDS, Host, Installer, claude_probe, json_or_as_is

_EXIT = re.compile(r"^Exit code: (-?\d+)", re.MULTILINE)
_ITEMS = frozenset({
    "message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
    "custom_tool_call_output", "local_shell_call",
})  # fmt: skip

if TYPE_CHECKING:
    from .._transcript import Transcript


def read(path: str) -> Transcript:
    """A ``function_call`` (or ``custom_tool_call``) answered by the output with its
    ``call_id``. A shell call's non-zero exit code, in the output's metadata or its
    ``Exit code: N`` line, is a failure. The hook names tools and arguments its own way
    (``Bash`` for ``shell``), so digests here are the rollout's, not the hook's."""
    from .._transcript import Transcript, lines, session_of  # read only here, never by the hook

    t = Transcript(path, "codex", session_of(path))
    calls: dict[str, dict[str, Any]] = {}
    cwd = None
    turn: tuple[str, dict[str, int]] | None = None  # the latest token count: the turn's
    for entry in lines(path, t):
        payload = entry.get("payload")
        t.started = t.started or entry.get("timestamp")
        kind = entry.get("type")
        if not isinstance(payload, dict):
            if kind in _ITEMS:  # a rollout of 2025: its items stand at the top level
                payload, kind = entry, "response_item"
            elif kind is None and "id" in entry and "timestamp" in entry:
                t.session = str(entry["id"] or t.session)  # that era's first line
                continue
            else:
                continue  # {"record_type": "state"} and other bookkeeping
        if kind == "event_msg" and payload.get("type") == "token_count":
            tokens = _tokens(payload.get("info"))
            if tokens is not None:
                turn = (f"turn-{entry.get('timestamp')}", tokens)
            continue
        if kind == "session_meta":
            t.session = str(payload.get("id") or t.session)
            cwd = payload.get("cwd")
            continue
        if kind != "response_item":
            continue
        item = payload.get("type")
        if item in ("function_call", "custom_tool_call", "local_shell_call"):
            call_id = payload.get("call_id")
            if isinstance(call_id, str):
                calls[call_id] = payload
        elif item in ("function_call_output", "custom_tool_call_output"):
            call = calls.pop(str(payload.get("call_id")), None)
            if call is None:
                t.skipped["result of no call"] += 1
                continue
            event = _event(t, call, payload.get("output"), cwd)
            if isinstance(entry.get("timestamp"), str):
                event["timestamp"] = entry["timestamp"]
            if turn is not None:
                event["streamd_turn"], event["streamd_tokens"] = turn
            t.events.append(event)
    if calls:
        t.skipped["call with no result"] += len(calls)
    return t


def _tokens(info: object) -> dict[str, int] | None:
    """A turn's tokens from Codex's ``token_count`` (``last_token_usage``): its input
    counts the cached part too, which is told apart here."""
    last = info.get("last_token_usage") if isinstance(info, dict) else None
    if not isinstance(last, dict):
        return None
    values = {k: v for k, v in last.items() if isinstance(v, int) and not isinstance(v, bool)}
    cached = values.get("cached_input_tokens", 0)
    return {
        "input": values.get("input_tokens", 0) - cached,
        "cache_read": cached,
        "output": values.get("output_tokens", 0),
    }


def _event(t: Transcript, call: dict[str, Any], output: object, cwd: object) -> dict[str, Any]:
    arguments = json_or_as_is(call.get("arguments", call.get("input", call.get("action"))))
    text = output
    code = None
    parsed = json_or_as_is(output)
    if isinstance(parsed, dict):
        text = parsed.get("output", output)
        meta = parsed.get("metadata")
        code = meta.get("exit_code") if isinstance(meta, dict) else None
    if code is None and isinstance(text, str):
        found = _EXIT.search(text[:200])
        code = int(found.group(1)) if found else None
    event: dict[str, Any] = {
        "session_id": t.session,
        "cwd": cwd,
        "tool_name": call.get("name") or call.get("type"),
        "tool_input": arguments,
        "tool_use_id": call.get("call_id"),
    }
    if isinstance(code, int) and code != 0:
        event.update(hook_event_name="PostToolUseFailure", error=text)
    else:
        event.update(hook_event_name="PostToolUse", tool_response=text)
    return event


HOST = Host(
    "codex",
    "Codex CLI",
    {"PostToolUse": "PostToolUse", "SessionEnd": "SessionEnd"},
    HOOK_SPECIFIC,
    "PostToolUse",
    Installer(
        ".codex/hooks.json",
        ".codex/hooks.json",
        entry=SECONDS,
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
    transcript_folders=(".codex/sessions",),
    read_transcript=read,
    probe=claude_probe,
    no_stop=(
        "none (0.169.0: `continue: false` is ignored from `PostToolUse` and `PreToolUse`; a "
        "`PreToolUse` deny blocks the call but the agent goes on): advice only"
    ),
)
