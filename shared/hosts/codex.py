"""Codex CLI: Claude Code's event and answer names, no failure event (a failed shell
call is a ``PostToolUse`` whose output opens as an error report). Transcripts: the
rollouts in ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``, today's (each line a
``{timestamp, type, payload}`` envelope) and 2025's (a bare first line, then the items
themselves, with ``{"record_type": "state"}`` lines between)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._base import (
    HOOK_SPECIFIC,
    SECONDS,
    Host,
    Installer,
    claude_probe,
    counts,
    json_or_as_is,
)

_EXIT = re.compile(r"^Exit code: (-?\d+)", re.MULTILINE)
_CWD = re.compile(r"<cwd>([^<]+)</cwd>")
_EXEC_OUTPUT = re.compile(r"Chunk ID: [^\n]*\n(?:[A-Z][^\n]*\n)*?Output:\n(.*)\Z", re.DOTALL)
"""``exec_command``'s output as the rollout holds it: a header (chunk, wall time, exit
code, token count), then the output itself, which is all the hook receives."""
_ITEMS = frozenset({
    "message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
    "custom_tool_call_output", "local_shell_call",
})  # fmt: skip

if TYPE_CHECKING:
    from .._transcript import Transcript


def read(path: str) -> Transcript:
    """A ``function_call`` (or ``custom_tool_call``) answered by the output with its
    ``call_id``. ``exec_command`` (0.169 on) is read as the hook receives it: ``Bash``,
    its ``command``, the output below the rollout's own header, a failure told by the
    host's rule. Elsewhere a shell call's non-zero exit code, in the output's metadata
    or its ``Exit code: N`` line, is a failure. A call's tokens are the first usage
    record after it (``token_usage_record`` from 0.169, else ``token_count``)."""
    from .._transcript import Transcript, lines, session_of  # read only here, never by the hook

    t = Transcript(path, "codex", session_of(path))
    calls: dict[str, dict[str, Any]] = {}
    unpriced: list[dict[str, Any]] = []  # calls no usage record has followed yet
    usage_of: dict[int, tuple[str, dict[str, int], object]] = {}  # by id() of the call
    cwd = None
    model = None
    events: list[tuple[dict[str, Any], dict[str, Any]]] = []  # each with its call
    for entry in lines(path, t):
        payload = entry.get("payload")
        t.saw(entry.get("timestamp"))
        kind = entry.get("type")
        if not isinstance(payload, dict):
            if kind in _ITEMS:  # a rollout of 2025: its items stand at the top level
                payload, kind = entry, "response_item"
                cwd = _user_message(t, entry) or cwd
            elif kind is None and "id" in entry and "timestamp" in entry:
                t.session = str(entry["id"] or t.session)  # that era's first line
                continue
            else:
                continue  # {"record_type": "state"} and other bookkeeping
        usage = _usage(kind, payload)
        if usage is not None:
            turn = f"turn-{entry.get('timestamp')}-{payload.get('response_id', '')}"
            for waiting in unpriced:
                usage_of[id(waiting)] = (turn, usage, model)
            unpriced.clear()
            continue
        if kind == "event_msg" and payload.get("type") in ("user_message", "item_completed"):
            t.asked(_prompt(payload))
            continue
        if kind == "turn_context":
            model = payload.get("model") if isinstance(payload.get("model"), str) else model
            continue
        if kind == "session_meta":
            t.session = str(payload.get("id") or t.session)
            cwd = payload.get("cwd")
            t.project = cwd if isinstance(cwd, str) else t.project
            continue
        if kind != "response_item":
            continue
        item = payload.get("type")
        if item in ("function_call", "custom_tool_call", "local_shell_call"):
            call_id = payload.get("call_id")
            if isinstance(call_id, str):
                calls[call_id] = payload
                unpriced.append(payload)
        elif item in ("function_call_output", "custom_tool_call_output"):
            call = calls.pop(str(payload.get("call_id")), None)
            if call is None:
                t.skipped["result of no call"] += 1
                continue
            event = _event(t, call, payload.get("output"), cwd)
            if isinstance(entry.get("timestamp"), str):
                event["timestamp"] = entry["timestamp"]
            events.append((event, call))
    for event, call in events:
        if id(call) in usage_of:
            turn, tokens, named = usage_of[id(call)]
            event["streamd_turn"], event["streamd_tokens"] = turn, tokens
            event["streamd_model"] = named
        t.events.append(event)
    if calls:
        t.skipped["call with no result"] += len(calls)
    return t


def _prompt(payload: dict[str, Any]) -> str | None:
    """The user's words: a ``user_message``'s, or (0.169) a completed ``UserMessage``."""
    if payload.get("type") == "user_message":
        message = payload.get("message")
        return message if isinstance(message, str) else None
    item = payload.get("item")
    if not isinstance(item, dict) or item.get("type") != "UserMessage":
        return None
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(texts) or None


def _usage(kind: object, payload: dict[str, Any]) -> dict[str, int] | None:
    """The tokens of one model response, from a record that gives them."""
    if kind == "token_usage_record":
        return _tokens(payload.get("usage"))
    if kind == "event_msg" and payload.get("type") == "token_count":
        info = payload.get("info")
        return _tokens(info.get("last_token_usage") if isinstance(info, dict) else None)
    return None


def _user_message(t: Transcript, item: dict[str, Any]) -> str | None:
    """A 2025 rollout's user message: the prompt, or the environment it states (the
    working folder, returned); that era has no ``session_meta`` or ``user_message``."""
    if item.get("type") != "message" or item.get("role") != "user":
        return None
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    text = "\n".join(p.get("text", "") for p in parts if isinstance(p, dict))
    found = _CWD.search(text)
    if found:
        t.project = t.project or found.group(1).strip()
        return t.project
    t.asked(text)  # not the environment it states, nor another tag
    return None


def _tokens(usage: object) -> dict[str, int] | None:
    """A response's tokens as Codex counts them: its input holds the part read from the
    cache (and any written to it), told apart here; its output, the reasoning."""
    values = counts(usage)
    if values is None:
        return None
    cached = values.get("cached_input_tokens", 0)
    written = values.get("cache_write_input_tokens", 0)
    tokens = {
        "input": values.get("input_tokens", 0) - cached - written,
        "cache_read": cached,
        "output": values.get("output_tokens", 0),
    }
    if written:
        tokens["cache_creation"] = written
    return tokens


def _event(t: Transcript, call: dict[str, Any], output: object, cwd: object) -> dict[str, Any]:
    arguments = json_or_as_is(call.get("arguments", call.get("input", call.get("action"))))
    if call.get("name") == "exec_command" and isinstance(arguments, dict):
        body = _EXEC_OUTPUT.match(output) if isinstance(output, str) else None
        return {
            "session_id": t.session, "cwd": cwd, "hook_event_name": "PostToolUse",
            "tool_name": "Bash", "tool_input": {"command": arguments.get("cmd")},
            "tool_use_id": call.get("call_id"),
            "tool_response": body.group(1) if body else output,
        }  # fmt: skip
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
