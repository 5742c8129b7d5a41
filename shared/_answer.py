"""The answer a hook prints: advisory context for the agent, in the host's dialect.

Nothing for ADVANCING. For REPEATING or STALLED, the host's context field (Claude
Code's ``hookSpecificOutput.additionalContext`` for PostToolUse or PostToolUseFailure),
quoting a bounded excerpt of the repeated result so the value the agent keeps asking
for is put back in front of it.
"""

from __future__ import annotations

import json

from ._adapter import canonical_bytes
from ._hosts import DEFAULT_HOST, answer_payload, answered_event
from ._shape import failure_gist
from ._verdict import StreamState, Verdict

EXCERPT_LIMIT = 1000


def model_visible(result: object) -> object:
    """The part of a host's result object that the model reads: a shell call's stdout
    and stderr (Claude Code's Bash), a file's content (Read), Gemini's ``llmContent``,
    a JSON-string result's ``output`` (Cursor); the result itself otherwise."""
    if isinstance(result, str) and result[:1] == "{" and '"output"' in result:
        try:
            result = json.loads(result)
        except ValueError:
            return result
    if not isinstance(result, dict):
        return result
    stdout, stderr = result.get("stdout"), result.get("stderr")
    if isinstance(stdout, str) or isinstance(stderr, str):
        parts = [p for p in (stdout, stderr) if isinstance(p, str) and p]
        return "\n".join(parts)
    file = result.get("file")
    if isinstance(file, dict) and isinstance(file.get("content"), str):
        return file["content"]
    for key in ("llmContent", "content", "output"):
        value = result.get(key)
        if isinstance(value, str):
            return value
    return result


def excerpt(result: object, limit: int = EXCERPT_LIMIT) -> str:
    """At most ``limit`` characters of the result as the agent saw it."""
    text = canonical_bytes(model_visible(result)).decode("utf-8", "replace")
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"


def _lead(verdict: Verdict) -> str:
    if verdict.state is StreamState.STALLED:
        return f"streamd: the loop looks stuck. {verdict.state.value}:"
    return f"streamd: no new information. {verdict.state.value}:"


def context_text(verdict: Verdict, result: object | None, failure: str | None = None) -> str:
    """The advice, in the agent's terms, with the repeated evidence put back before it."""
    step = verdict.repeated_step
    tool = step.tool_name if step else "this tool"
    count = verdict.repeat_run
    if verdict.rule == "failure" and failure is not None:
        gist = failure_gist(failure)
        first = gist.splitlines()[0] if gist else "(no error text)"
        return (
            f"{_lead(verdict)} `{tool}` has failed {count} times in a row with the same "
            f"error: {first}\nChanging the arguments has not changed the failure. Read the "
            "error again and deal with its cause before you retry; if the approach cannot "
            f"work, try a different one.\n\nThe recurring error:\n{excerpt(failure)}"
        )
    if verdict.rule == "cycle":
        return (
            f"{_lead(verdict)} the last {count} calls are the same {verdict.period} calls "
            f"repeating, each returning what it returned the round before (ending with "
            f"`{tool}`). Going round again will not bring anything new. Use what these "
            "results already told you, or change the approach." + _quoted(result)
        )
    if verdict.rule == "noisy":
        return (
            f"{_lead(verdict)} `{tool}` has returned the same output for the same call "
            f"{count} times in a row; only timings, ids or other noise changed. Asking "
            "again will not change the answer. Use the value you already have; if you are "
            "waiting for a background task, wait for its completion signal before you "
            "check again." + _quoted(result)
        )
    digest = step.result_digest if step else "unknown"
    return (
        f"{_lead(verdict)} `{tool}` has returned byte-identical output for "
        f"the same call {count} times in a row (result digest {digest}). "
        "Asking again will not change the answer. Use the value you already have; if you "
        "are waiting for a background task or an asynchronous write, wait for its "
        "completion signal before you check again." + _quoted(result)
    )


def _quoted(result: object | None) -> str:
    return "" if result is None else f"\n\nThe repeated result:\n{excerpt(result)}"


def render_answer(
    verdict: Verdict,
    *,
    event_name: str | None,
    result: object | None,
    host: str = DEFAULT_HOST,
    failure: str | None = None,
) -> bytes:
    """The bytes to print for this verdict, in ``host``'s dialect for its ``event_name``:
    empty when there is nothing to say or the event takes no answer."""
    if not verdict.fired:
        return b""
    answered = answered_event(host, event_name)
    if answered is None:
        return b""
    payload = answer_payload(host, answered, context_text(verdict, result, failure))
    return (json.dumps(payload, sort_keys=True) + "\n").encode("ascii")
