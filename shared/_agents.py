"""Transcripts of the benchmark agents that run no hook: SWE-agent ``.traj``,
mini-swe-agent ``.traj.json`` and OpenHands event streams, read into the hook events a
host would have sent."""

from __future__ import annotations

import re
from typing import Any

from ._transcript import Transcript, json_list, load_json, session_of, text_of


def swe_agent(path: str) -> Transcript:
    """``trajectory`` steps, each an ``action`` (the command word is the tool) and the
    ``observation`` it got."""
    t = Transcript(path, "swe-agent", session_of(path))
    _, steps = json_list(path, t, "trajectory", "no trajectory")
    for n, step in enumerate(steps):
        action = step.get("action") if isinstance(step, dict) else None
        if not isinstance(action, str) or not action.strip():
            t.skipped["step without an action"] += 1
            continue
        t.events.append(
            {
                "session_id": t.session,
                "hook_event_name": "PostToolUse",
                "tool_name": _command_word(action),
                "tool_input": {"command": action.strip()},
                "tool_response": step.get("observation"),
                "tool_use_id": f"step-{n}",
            }
        )
    return t


def _command_word(action: str) -> str:
    """The action's command word; ``bash`` when it opens with an assignment
    (``TOKEN=... cmd``), whose value must not become a tool's name."""
    word = action.split()[0]
    return "bash" if "=" in word else word


_BASH_BLOCK = re.compile(r"```(?:bash|sh)?[ \t]*+\n(.*?)```", re.DOTALL)
_RETURNCODE = re.compile(r"<returncode>(-?\d+)</returncode>")


def mini_swe_agent(path: str) -> Transcript:
    """An assistant message's bash block, answered by the next user message,
    ``<returncode>N</returncode>`` first; a non-zero code is a failure."""
    t = Transcript(path, "mini-swe-agent", session_of(path))
    _, messages = json_list(path, t, "messages", "no messages")
    pending: str | None = None
    for message in messages:
        if not isinstance(message, dict):
            t.skipped["message that is not an object"] += 1
            continue
        content = message.get("content")
        text = content if isinstance(content, str) else text_of(content)
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


def openhands(path: str) -> Transcript:
    """Actions and the observations that name them as ``cause``."""
    t = Transcript(path, "openhands", session_of(path))
    data = load_json(path, t)
    events = data.get("history") if isinstance(data, dict) else data
    if not isinstance(events, list):
        t.skipped["no event list"] += 1
        return t
    actions: dict[object, dict[str, Any]] = {}
    for item in events:
        if not isinstance(item, dict):
            t.skipped["event that is not an object"] += 1
            continue
        t.saw(item.get("timestamp"))
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
