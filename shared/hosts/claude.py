"""Claude Code: the dialect every other host is mapped onto, so its events pass through
untouched and their digests stay dos-kernel's. Transcripts: the session files in
``~/.claude/projects/<project>/<session>.jsonl`` (subagent files too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import (
    CLAUDE_EVENTS,
    HOOK_SPECIFIC,
    SECONDS,
    Host,
    Installer,
    claude_probe,
    counts,
)

if TYPE_CHECKING:
    from .._transcript import Transcript


def visible(result: object) -> object:
    """A shell call's stdout and stderr (Bash), a file's content (Read), a ``content``
    text; the result itself otherwise."""
    if not isinstance(result, dict):
        return result
    stdout, stderr = result.get("stdout"), result.get("stderr")
    if isinstance(stdout, str) or isinstance(stderr, str):
        return "\n".join(p for p in (stdout, stderr) if isinstance(p, str) and p)
    file = result.get("file")
    if isinstance(file, dict) and isinstance(file.get("content"), str):
        return file["content"]
    content = result.get("content")
    return content if isinstance(content, str) else result


_NOT_CALLS = ("assistant", "user", "progress", "system", "summary", "queue-operation",
              "file-history-snapshot")  # fmt: skip


def read(path: str) -> Transcript:
    """``tool_use`` blocks in assistant entries (a streamed message repeats them: one per
    id), answered by ``tool_result`` blocks; ``toolUseResult`` is the structured result
    the hook receives, and ``is_error`` a ``PostToolUseFailure``."""
    from .._transcript import (  # read only here, never by the hook
        Transcript,
        lines,
        session_of,
    )

    t = Transcript(path, "claude", session_of(path))
    calls: dict[str, dict[str, Any]] = {}
    answered: set[str] = set()
    usage_of: dict[str, object] = {}  # a streamed message's latest usage, by message id
    model_of: dict[str, object] = {}
    for entry in lines(path, t):
        kind = entry.get("type")
        t.saw(entry.get("timestamp"))
        if isinstance(entry.get("sessionId"), str):
            agent = entry.get("agentId")
            t.session = entry["sessionId"] + (f"-{agent}" if agent else "")
        if t.project is None and isinstance(entry.get("cwd"), str):
            t.project = entry["cwd"]
        message = entry.get("message")
        blocks = message.get("content") if isinstance(message, dict) else None
        if kind == "user" and not entry.get("isMeta") and isinstance(message, dict):
            t.asked(_prompt(blocks))
        if kind not in ("assistant", "user") or not isinstance(blocks, list):
            if kind not in _NOT_CALLS and _holds_calls(blocks):
                t.skipped[f"entry of type {kind!r} holding tool calls"] += 1
            continue  # Claude Code's other entries (attachments, costs...) hold none
        turn = message.get("id") if isinstance(message, dict) else None
        if kind == "assistant" and isinstance(turn, str) and isinstance(message, dict):
            usage_of[turn] = message.get("usage")
            model_of[turn] = message.get("model")
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                calls.setdefault(block["id"], {**block, "cwd": entry.get("cwd"), "turn": turn})
            elif block.get("type") == "tool_result":
                use_id = block.get("tool_use_id")
                call = calls.get(use_id) if isinstance(use_id, str) else None
                if call is None or not isinstance(use_id, str):
                    t.skipped["result of no call"] += 1
                    continue
                if use_id in answered:
                    continue
                answered.add(use_id)
                event = _event(t, call, block, entry.get("toolUseResult"))
                if isinstance(entry.get("timestamp"), str):
                    event["timestamp"] = entry["timestamp"]  # when the result came back
                tokens = _tokens(usage_of.get(call.get("turn") or ""))
                if tokens is not None:
                    event["streamd_turn"], event["streamd_tokens"] = call["turn"], tokens
                    event["streamd_model"] = model_of.get(call.get("turn") or "")
                if _refused(entry):
                    event["streamd_artifact"] = "refused"
                t.events.append(event)
    unanswered = len(set(calls) - answered)
    if unanswered:
        t.skipped["call with no result"] += unanswered
    return t


def _tokens(usage: object) -> dict[str, int] | None:
    """A model turn's tokens, as Claude Code records its ``usage``."""
    found = counts(usage)
    if found is None:
        return None
    names = {
        "input": "input_tokens",
        "cache_creation": "cache_creation_input_tokens",
        "cache_read": "cache_read_input_tokens",
        "output": "output_tokens",
    }
    return {ours: found[theirs] for ours, theirs in names.items() if theirs in found}


def _prompt(blocks: object) -> str | None:
    """A user entry's typed text: a string, or its text blocks (an entry of tool results
    holds none); ``Transcript.asked`` passes over Claude Code's own wrappers
    (``<command-name>``...)."""
    from .._transcript import text_of

    if isinstance(blocks, list) and not any(
        isinstance(b, dict) and b.get("type") == "text" for b in blocks
    ):
        return None
    return text_of(blocks)


def _holds_calls(blocks: object) -> bool:
    return isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result") for b in blocks
    )


def _refused(entry: dict[str, Any]) -> bool:
    """Whether Claude Code marked the result as a refusal (no hook event fires for one:
    seen with the real client 2.1.332)."""
    decision = entry.get("permissionDecision")
    rejected = isinstance(decision, dict) and decision.get("decision") == "reject"
    return rejected or bool(entry.get("toolDenialKind"))


def _event(
    t: Transcript, call: dict[str, Any], block: dict[str, Any], structured: object
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "session_id": t.session,
        "cwd": call.get("cwd"),
        "tool_name": call.get("name"),
        "tool_input": call.get("input"),
        "tool_use_id": call.get("id"),
    }
    from .._transcript import text_of

    content = block.get("content")
    if block.get("is_error"):
        event["hook_event_name"] = "PostToolUseFailure"
        event["error"] = structured if isinstance(structured, str) else text_of(content)
    else:
        event["hook_event_name"] = "PostToolUse"
        event["tool_response"] = structured if structured is not None else content
    return event


HOST = Host(
    "claude",
    "Claude Code",
    {**CLAUDE_EVENTS, "PostToolBatch": "PostToolBatch"},
    HOOK_SPECIFIC,
    "PostToolUse",
    Installer(".claude/settings.json", ".claude/settings.json", matcher="*", entry=SECONDS),
    "`PostToolUseFailure` (`error`)",
    "hooks documentation; real client 2.1.332 on a scripted model (REFERENCE.md)",
    visible=visible,
    transcript_folders=(".claude/projects",),
    read_transcript=read,
    probe=claude_probe,
    # Measured with 2.1.332: PostToolUseFailure's continue: false is ignored, so a loop of
    # failing calls is stopped from PostToolBatch, which follows every batch.
    stops=frozenset({"PostToolUse", "PostToolBatch"}),
)
