"""From a host's hook event to a step: digests computed exactly as dos-kernel does.

``args_digest`` hashes ``{"tool": name, "input": tool_input}`` and ``result_digest`` the
environment-authored result, both over ``canonical_bytes``. A failed call (Claude
Code's ``PostToolUseFailure``) has no result, so its ``error`` text stands in for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from ._verdict import Step

RESULT_KEYS = ("tool_response", "tool_output")
FAILURE_EVENTS = frozenset({"PostToolUseFailure"})
SESSION_END_EVENTS = frozenset({"SessionEnd"})
DEFAULT_EVENT_NAME = "PostToolUse"


def canonical_bytes(value: object) -> bytes:
    """A string is its own UTF-8; anything else is its sorted-key ``json.dumps``."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text.encode("utf-8", "replace")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def parse_event(raw: bytes) -> dict[str, object] | None:
    """The event object a hook read from stdin, or None when it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip():
        return None
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


_ABSENT = object()


def _result_of(event: Mapping[str, object]) -> object:
    for key in RESULT_KEYS:
        value = event.get(key)
        if value is not None:
            return value
    if event.get("hook_event_name") in FAILURE_EVENTS:
        error = event.get("error")
        if error is not None:
            return error
    return _ABSENT


@dataclass(frozen=True, slots=True)
class HookEvent:
    """What streamd needs from one hook event."""

    event_name: str
    session_id: str | None
    cwd: str | None
    tool_use_id: str | None
    step: Step | None
    result: object

    @property
    def is_session_end(self) -> bool:
        return self.event_name in SESSION_END_EVENTS

    @property
    def has_result(self) -> bool:
        return self.result is not _ABSENT


def step_from_event(event: Mapping[str, object]) -> Step | None:
    """The step an event records, or None when it names no tool."""
    return adapt_event(event).step


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _encodable_or_none(value: object) -> str | None:
    text = _str_or_none(value)
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def adapt_event(event: Mapping[str, object]) -> HookEvent:
    name = event.get("hook_event_name")
    event_name = name if isinstance(name, str) and name else DEFAULT_EVENT_NAME
    tool_name = event.get("tool_name")
    step: Step | None = None
    result = _ABSENT
    if isinstance(tool_name, str) and tool_name:
        tool_input = event.get("tool_input")
        if tool_input is None:
            tool_input = {}
        args_digest = digest(canonical_bytes({"tool": tool_name, "input": tool_input}))
        result = _result_of(event)
        result_digest = None if result is _ABSENT else digest(canonical_bytes(result))
        step = Step(tool_name, args_digest, result_digest)
    session_id = event.get("session_id")
    return HookEvent(
        event_name=event_name,
        session_id=session_id if isinstance(session_id, str) and session_id.strip() else None,
        cwd=_str_or_none(event.get("cwd")),
        tool_use_id=_encodable_or_none(event.get("tool_use_id")),
        step=step,
        result=result,
    )


def safe_session_name(session_id: str) -> str | None:
    """The session id as a file name: alphanumerics, ``-`` and ``_`` only."""
    safe = "".join(c for c in session_id if c.isalnum() or c in "-_")
    return safe or None
