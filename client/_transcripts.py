"""Agents' own transcripts, turned into the hook events the live hook would have
received, in order, so that a replay gives the verdicts the hook would have given.

One reader per format, each a generator over one file: Claude Code session files
(``~/.claude/projects/<project>/<session>.jsonl``, subagent files too), SWE-agent
``.traj``, mini-swe-agent ``.traj.json``, and OpenHands event streams (a ``history``
list, or the list itself). A malformed line or an unknown entry is skipped and counted
by reason in ``Transcript.skipped``, never fatal.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

FORMATS = ("claude", "codex", "gemini", "swe-agent", "mini-swe-agent", "openhands")


@dataclass
class Transcript:
    """One session read from a file: its events, and what was skipped and why."""

    path: str
    format: str
    session: str
    events: list[dict[str, Any]] = field(default_factory=list)
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    started: str | None = None
    """The first timestamp the file gives, as written."""


class UnknownFormat(ValueError):
    """Raised when a file is in none of the transcript formats streamd reads."""


def detect(path: str) -> str:
    """The format of ``path``, from its name and first bytes."""
    name = os.path.basename(path)
    if name.endswith(".traj.json"):
        return "mini-swe-agent"
    if name.endswith(".traj"):
        return "swe-agent"
    with open(path, "rb") as f:
        head = f.read(4096).lstrip()
    if name.endswith(".jsonl"):
        first = head.split(b"\n", 1)[0]
        if (b'"schema"' in first and b"tool-stream" in first) or b'"args_digest"' in first:
            return "session-log"
        if b'"payload"' in first and (b'"session_meta"' in first or b'"response_item"' in first):
            return "codex"
        return "claude"
    if head.startswith(b"[") or b'"history"' in head:
        return "openhands"
    if b'"projectHash"' in head or (b'"sessionId"' in head and b'"messages"' in head):
        return "gemini"
    if b'"trajectory"' in head:
        return "swe-agent"
    if b'"messages"' in head:
        return "mini-swe-agent"
    raise UnknownFormat(f"{path}: not a transcript streamd reads ({', '.join(FORMATS)})")


def read(path: str, fmt: str | None = None) -> Transcript:
    fmt = fmt or detect(path)
    readers: dict[str, Callable[[str], Transcript]] = {
        "claude": _claude,
        "codex": _codex,
        "gemini": _gemini,
        "swe-agent": _swe_agent,
        "mini-swe-agent": _mini_swe_agent,
        "openhands": _openhands,
    }
    if fmt not in readers:
        raise UnknownFormat(f"{path}: no reader for {fmt!r}")
    return readers[fmt](path)


def _session_of(path: str) -> str:
    name = os.path.basename(path)
    for suffix in (".traj.json", ".traj", ".jsonl", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


_decode = msgspec.json.Decoder().decode


def _json(raw: bytes) -> Any:
    """``json.loads``'s value, decoded by msgspec where it can (several times faster);
    where msgspec refuses (``1e400``, a lone surrogate escape) ``json`` decides."""
    try:
        return _decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw)


def _lines(path: str, t: Transcript) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                entry = _json(raw)
            except ValueError:
                t.skipped["unreadable line"] += 1
                continue
            if isinstance(entry, dict):
                yield entry
            else:
                t.skipped["line that is not an object"] += 1


def _claude(path: str) -> Transcript:
    """Claude Code: ``tool_use`` blocks in assistant entries (a streamed message repeats
    them: one per id), answered by ``tool_result`` blocks; ``toolUseResult`` is the
    structured result the hook receives, and ``is_error`` a ``PostToolUseFailure``."""
    t = Transcript(path, "claude", _session_of(path))
    calls: dict[str, dict[str, Any]] = {}
    answered: set[str] = set()
    for entry in _lines(path, t):
        kind = entry.get("type")
        t.started = t.started or entry.get("timestamp")
        if isinstance(entry.get("sessionId"), str):
            t.session = entry["sessionId"] + (
                f"-{entry['agentId']}" if entry.get("agentId") else ""
            )
        message = entry.get("message")
        blocks = message.get("content") if isinstance(message, dict) else None
        if kind not in ("assistant", "user") or not isinstance(blocks, list):
            if kind not in ("assistant", "user", "progress", "system", "summary",
                            "queue-operation", "file-history-snapshot"):  # fmt: skip
                t.skipped[f"entry of type {kind!r}"] += 1
            continue
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                calls.setdefault(block["id"], {**block, "cwd": entry.get("cwd")})
            elif block.get("type") == "tool_result":
                use_id = block.get("tool_use_id")
                call = calls.get(use_id) if isinstance(use_id, str) else None
                if call is None or not isinstance(use_id, str):
                    t.skipped["result of no call"] += 1
                    continue
                if use_id in answered:
                    continue
                answered.add(use_id)
                t.events.append(_claude_event(t, call, block, entry.get("toolUseResult")))
    unanswered = len(set(calls) - answered)
    if unanswered:
        t.skipped["call with no result"] += unanswered
    return t


def _claude_event(
    t: Transcript, call: dict[str, Any], block: dict[str, Any], structured: object
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "session_id": t.session,
        "cwd": call.get("cwd"),
        "tool_name": call.get("name"),
        "tool_input": call.get("input"),
        "tool_use_id": call.get("id"),
    }
    content = block.get("content")
    if block.get("is_error"):
        event["hook_event_name"] = "PostToolUseFailure"
        event["error"] = structured if isinstance(structured, str) else _text_of(content)
    else:
        event["hook_event_name"] = "PostToolUse"
        event["tool_response"] = structured if structured is not None else content
    return event


_EXIT = re.compile(r"^Exit code: (-?\d+)", re.MULTILINE)


def _codex(path: str) -> Transcript:
    """Codex CLI rollouts (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``): a
    ``function_call`` (or ``custom_tool_call``) answered by the output with its
    ``call_id``. A shell call's non-zero exit code, in the output's metadata or its
    ``Exit code: N`` line, is a failure. The hook names tools and arguments its own way
    (``Bash`` for ``shell``), so digests here are the rollout's, not the hook's."""
    t = Transcript(path, "codex", _session_of(path))
    calls: dict[str, dict[str, Any]] = {}
    cwd = None
    for entry in _lines(path, t):
        payload = entry.get("payload")
        t.started = t.started or entry.get("timestamp")
        if not isinstance(payload, dict):
            continue
        kind = entry.get("type")
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
            t.events.append(_codex_event(t, call, payload.get("output"), cwd))
    if calls:
        t.skipped["call with no result"] += len(calls)
    return t


def _codex_event(
    t: Transcript, call: dict[str, Any], output: object, cwd: object
) -> dict[str, Any]:
    arguments = call.get("arguments", call.get("input", call.get("action")))
    if isinstance(arguments, str) and arguments[:1] in "{[":
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    text = output
    code = None
    if isinstance(output, str) and output[:1] == "{":
        try:
            parsed = json.loads(output)
        except ValueError:
            parsed = None
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


def _gemini(path: str) -> Transcript:
    """Gemini CLI's recorded chats (``~/.gemini/tmp/<project>/chats/session-*.json``): a
    ``gemini`` message's ``toolCalls``, each with its ``result`` parts and ``status``;
    the model saw the ``functionResponse``'s output, as the hook's ``llmContent``."""
    t = Transcript(path, "gemini", _session_of(path))
    data = _load_json(path, t)
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        t.skipped["no messages"] += 1
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
            seen = _gemini_output(call["result"])
            event: dict[str, Any] = {
                "session_id": t.session,
                "tool_name": call["name"],
                "tool_input": call.get("args"),
                "tool_use_id": call.get("id"),
            }
            if call.get("status") == "error":
                event.update(hook_event_name="PostToolUseFailure", error=seen)
            else:
                event.update(hook_event_name="PostToolUse", tool_response={"llmContent": seen})
            t.events.append(event)
    return t


def _gemini_output(result: object) -> object:
    parts = result if isinstance(result, list) else [result]
    for part in parts:
        response = part.get("functionResponse") if isinstance(part, dict) else None
        if isinstance(response, dict) and isinstance(response.get("response"), dict):
            inner = response["response"]
            return inner.get("output", inner.get("error", inner))
    return result


def _text_of(content: object) -> str:
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return content if isinstance(content, str) else json.dumps(content)


def _load_json(path: str, t: Transcript) -> Any:
    try:
        with open(path, "rb") as f:
            return _json(f.read())
    except ValueError:
        t.skipped["unreadable file"] += 1
        return None


def _swe_agent(path: str) -> Transcript:
    """SWE-agent: ``trajectory`` steps, each an ``action`` (the command word is the tool)
    and the ``observation`` it got."""
    t = Transcript(path, "swe-agent", _session_of(path))
    data = _load_json(path, t)
    steps = data.get("trajectory") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        t.skipped["no trajectory"] += 1
        return t
    for n, step in enumerate(steps):
        action = step.get("action") if isinstance(step, dict) else None
        if not isinstance(action, str) or not action.strip():
            t.skipped["step without an action"] += 1
            continue
        t.events.append(
            {
                "session_id": t.session,
                "hook_event_name": "PostToolUse",
                "tool_name": action.split()[0],
                "tool_input": {"command": action.strip()},
                "tool_response": step.get("observation"),
                "tool_use_id": f"step-{n}",
            }
        )
    return t


_BASH_BLOCK = re.compile(r"```(?:bash|sh)?\s*\n(.*?)```", re.DOTALL)
_RETURNCODE = re.compile(r"<returncode>(-?\d+)</returncode>")


def _mini_swe_agent(path: str) -> Transcript:
    """mini-swe-agent: an assistant message's bash block, answered by the next user
    message, ``<returncode>N</returncode>`` first; a non-zero code is a failure."""
    t = Transcript(path, "mini-swe-agent", _session_of(path))
    data = _load_json(path, t)
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        t.skipped["no messages"] += 1
        return t
    pending: str | None = None
    for message in messages:
        if not isinstance(message, dict):
            t.skipped["message that is not an object"] += 1
            continue
        content = message.get("content")
        text = content if isinstance(content, str) else _text_of(content)
        if message.get("role") == "assistant":
            blocks = _BASH_BLOCK.findall(text)
            pending = blocks[0].strip() if blocks else None
        elif message.get("role") == "user" and pending is not None:
            code = _RETURNCODE.search(text)
            event: dict[str, Any] = {
                "session_id": t.session,
                "tool_name": "bash",
                "tool_input": {"command": pending},
                "tool_use_id": f"call-{len(t.events)}",
            }
            if code is not None and code.group(1) != "0":
                event.update(hook_event_name="PostToolUseFailure", error=text)
            else:
                event.update(hook_event_name="PostToolUse", tool_response=text)
            t.events.append(event)
            pending = None
    return t


_NOT_TOOLS = {"message", "system", "change_agent_state", "finish", "think", "recall", "null"}


def _openhands(path: str) -> Transcript:
    """OpenHands: actions and the observations that name them as ``cause``."""
    t = Transcript(path, "openhands", _session_of(path))
    data = _load_json(path, t)
    events = data.get("history") if isinstance(data, dict) else data
    if not isinstance(events, list):
        t.skipped["no event list"] += 1
        return t
    actions: dict[object, dict[str, Any]] = {}
    for item in events:
        if not isinstance(item, dict):
            t.skipped["event that is not an object"] += 1
            continue
        t.started = t.started or item.get("timestamp")
        if "action" in item:
            if item["action"] not in _NOT_TOOLS:
                actions[item.get("id")] = item
            continue
        cause = item.get("cause")
        if "observation" not in item or cause not in actions:
            continue
        action = actions.pop(cause)
        args = {k: v for k, v in (action.get("args") or {}).items() if k != "thought"}
        extras = item.get("extras") or {}
        failed = item.get("observation") == "error" or extras.get("exit_code") not in (None, 0)
        event: dict[str, Any] = {
            "session_id": t.session,
            "tool_name": action["action"],
            "tool_input": args,
            "tool_use_id": f"event-{cause}",
        }
        if failed:
            event.update(hook_event_name="PostToolUseFailure", error=item.get("content"))
        else:
            event.update(hook_event_name="PostToolUse", tool_response=item.get("content"))
        t.events.append(event)
    if actions:
        t.skipped["call with no result"] += len(actions)
    return t
