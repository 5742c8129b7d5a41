"""Gemini CLI: ``AfterTool`` for a finished call, a failure as ``tool_response.error``
(``{message, type}``), the model's text in ``llmContent``. Transcripts: the recorded
chats in ``~/.gemini/tmp/<project>/chats/session-*.json``, read into the same
``AfterTool`` events the hook receives."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._adapter import exit_line
from ._base import HOOK_SPECIFIC, MILLISECONDS, Host, Installer, counts

if TYPE_CHECKING:
    from .._transcript import Transcript

_HOOK_CONTEXT = re.compile(r"\n\n<hook_context>.*</hook_context>\Z", re.DOTALL)
"""What hooks added after a result (streamd's advice among them): the model saw it, but
the tool did not return it, and the hook received the result without it."""
_WORKSPACE = re.compile(r"Workspace Directories:\*\*\n\s*- (.+)")


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
    ``llmContent``. A ``.json`` file holds the conversation; a ``.jsonl`` (0.61 on)
    its records: the conversation's fields, then messages (a message's id written again
    replaces it) and ``$set`` updates."""
    from .._transcript import (  # read only here, never by the hook
        Transcript,
        json_list,
        session_of,
    )

    t = Transcript(path, "gemini", session_of(path))
    if path.endswith(".jsonl"):
        data, messages = _records(path, t)
    else:
        data, messages = json_list(path, t, "messages", "no messages")
    if not messages:
        return t
    t.session = str(data.get("sessionId") or t.session)
    t.saw(data.get("startTime"))
    for message in messages:
        if not isinstance(message, dict):
            t.skipped["message that is not an object"] += 1
            continue
        t.saw(message.get("timestamp"))
        if message.get("type") == "user":
            text = _text(message.get("content"))
            found = _WORKSPACE.search(text or "")
            t.project = t.project or (found.group(1).strip() if found else None)
            t.asked(text)
        tokens = _tokens(message.get("tokens"))
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
            event = HOST.to_claude_shape(event)
            stamp = call.get("timestamp", message.get("timestamp"))
            if isinstance(stamp, str):
                event["timestamp"] = stamp
                t.saw(stamp)
            if tokens is not None:
                event["streamd_turn"], event["streamd_tokens"] = message.get("id"), tokens
                event["streamd_model"] = message.get("model")
            t.events.append(event)
    return t


def _records(path: str, t: Transcript) -> tuple[dict[str, Any], list[Any]]:
    """A JSONL session's fields and its messages in order. Every message recorded is
    kept, even one a later ``$rewindTo`` takes out of the conversation: its calls ran,
    and the hook saw them."""
    from .._transcript import lines

    data: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for record in lines(path, t):
        update = record.get("$set")
        if isinstance(record.get("id"), str):
            messages[record["id"]] = record
        elif isinstance(update, dict):
            for message in update.get("messages") or []:
                if isinstance(message, dict) and isinstance(message.get("id"), str):
                    messages[message["id"]] = message
            data.update((k, v) for k, v in update.items() if k != "messages")
        elif "sessionId" in record:
            data.update(record)
    return data, list(messages.values())


def _tokens(tokens: object) -> dict[str, int] | None:
    """A turn's tokens as Gemini CLI records them: its ``input`` (the prompt count)
    holds the cached part, told apart here; ``thoughts`` are billed as output."""
    n = counts(tokens)
    if n is None:
        return None
    cached = n.get("cached", 0)
    return {
        "input": n.get("input", 0) - cached,
        "cache_read": cached,
        "output": n.get("output", 0) + n.get("thoughts", 0),
    }


def _text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(texts) or None


def _output(result: object) -> object:
    parts = result if isinstance(result, list) else [result]
    for part in parts:
        response = part.get("functionResponse") if isinstance(part, dict) else None
        if isinstance(response, dict) and isinstance(response.get("response"), dict):
            inner = response["response"]
            output = inner.get("output", inner.get("error", inner))
            return _HOOK_CONTEXT.sub("", output) if isinstance(output, str) else output
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
