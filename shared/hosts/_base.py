"""What every host module defines: a ``Host``, its installer's data, and where its
transcripts live. A host module holds all that streamd knows of one agent: its hook
dialect mapped onto Claude Code's, how it reports a failure, what of a result the
model reads, the answer's shape, the installer's data and its transcript reader."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._transcript import Transcript

HOOK_TIMEOUT_SECONDS = 10
SECONDS = {"type": "command", "timeout": HOOK_TIMEOUT_SECONDS}
MILLISECONDS = {"type": "command", "timeout": HOOK_TIMEOUT_SECONDS * 1000}
CLAUDE_EVENTS = {
    "PostToolUse": "PostToolUse",
    "PostToolUseFailure": "PostToolUseFailure",
    "SessionEnd": "SessionEnd",
}
HOOK_SPECIFIC = "hookSpecificOutput"

Adapter = Callable[[Mapping[str, object]], dict[str, object]]
FailureReader = Callable[[object], str | None]
Visible = Callable[[object], object]
Probe = Callable[[str, str, "int | None"], dict[str, object]]
"""``(cwd, session, n)``: the ``n``-th of a harmless repeated call in a host's words, or
with ``n`` None the session's end: what ``streamd doctor`` runs the installed hook on."""


# Plain dataclasses, no slots: every hook call that the fallback decides imports them.
@dataclass(frozen=True)
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


def as_is(result: object) -> object:
    return result


@dataclass(frozen=True)
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
    failure: FailureReader | None = None
    """A failure in the host's own form (an exit code inside its result), read before
    the forms every host shares; None when it has none of its own."""
    visible: Visible = as_is
    """The part of a (Claude-shaped) result that the model reads."""
    answered: frozenset[str] | None = None
    """The events whose answer the host reads; None: every tool event."""
    transcript_folders: tuple[str, ...] = ()
    """Where the host keeps its transcripts, relative to the home directory."""
    read_transcript: Callable[[str], Transcript] | None = None
    """Reads one transcript into the hook events the host would have sent."""
    probe: Probe | None = None
    stops: frozenset[str] = frozenset()
    """The host's events whose answer can stop the agent (``continue: false``), as
    checked with the real client; empty where none can, so the breaker only advises."""
    no_stop: str = "no way confirmed: advice only"
    """What the host table says where ``stops`` is empty."""

    def to_claude_shape(self, event: Mapping[str, object]) -> dict[str, object]:
        """The event with Claude Code's field names."""
        return self.adapt(event) if self.adapt is not None else dict(event)

    def mapped(self, event: Mapping[str, object]) -> object:
        """The Claude Code name of the event's ``hook_event_name``."""
        name = event.get("hook_event_name")
        return self.events.get(name, name) if isinstance(name, str) else name

    def event_name(self, claude_event: str) -> str | None:
        """The host's own name for a Claude Code event, for payloads that name none."""
        return next((own for own, ours in self.events.items() if ours == claude_event), None)

    def answered_event(self, host_event: str | None) -> str | None:
        """The host's name of the event to answer, or None when it takes no answer."""
        if host_event is None or host_event not in self.events:
            return None if self.answered is not None else self.post_event
        if self.events[host_event] == "SessionEnd":
            return None
        if self.answered is not None and host_event not in self.answered:
            return None
        return host_event

    def answer(self, host_event: str, text: str) -> dict[str, object]:
        """The JSON object the host reads the advisory context from."""
        if self.answer_key == HOOK_SPECIFIC:
            return {HOOK_SPECIFIC: {"hookEventName": host_event, "additionalContext": text}}
        return {self.answer_key: text}


def claude_probe(cwd: str, session: str, n: int | None) -> dict[str, object]:
    """A probe in Claude Code's dialect (Qwen Code and Codex speak it too)."""
    if n is None:
        return {"session_id": session, "cwd": cwd, "hook_event_name": "SessionEnd"}
    return {
        "session_id": session,
        "cwd": cwd,
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "echo streamd doctor"},
        "tool_response": {"stdout": "streamd doctor\n", "stderr": ""},
        "tool_use_id": f"streamd-doctor-{n}",
    }


def counts(record: object) -> dict[str, int] | None:
    """A usage record's whole-number fields (a bool is no count); None when it is no
    object."""
    if not isinstance(record, dict):
        return None
    return {k: v for k, v in record.items() if isinstance(v, int) and not isinstance(v, bool)}


def json_or_as_is(value: object) -> object:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value
