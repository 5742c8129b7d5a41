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
from ._verdict import StreamState, Verdict

EXCERPT_LIMIT = 1000


def excerpt(result: object, limit: int = EXCERPT_LIMIT) -> str:
    """At most ``limit`` characters of the result as the agent saw it."""
    text = canonical_bytes(result).decode("utf-8", "replace")
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"


def context_text(verdict: Verdict, result: object | None) -> str:
    step = verdict.repeated_step
    tool = step.tool_name if step else "this tool"
    digest = step.result_digest if step else "unknown"
    lead = (
        "streamd: the loop looks stuck."
        if verdict.state is StreamState.STALLED
        else "streamd: no new information."
    )
    text = (
        f"{lead} {verdict.state.value}: `{tool}` has returned byte-identical output for "
        f"the same call {verdict.repeat_run} times in a row (result digest {digest}). "
        "Asking again will not change the answer. Use the value you already have; if you "
        "are waiting for a background task or an asynchronous write, wait for its "
        "completion signal before you check again."
    )
    if result is not None:
        text += f"\n\nThe repeated result:\n{excerpt(result)}"
    return text


def render_answer(
    verdict: Verdict, *, event_name: str | None, result: object | None, host: str = DEFAULT_HOST
) -> bytes:
    """The bytes to print for this verdict, in ``host``'s dialect for its ``event_name``:
    empty when there is nothing to say or the event takes no answer."""
    if not verdict.fired:
        return b""
    answered = answered_event(host, event_name)
    if answered is None:
        return b""
    payload = answer_payload(host, answered, context_text(verdict, result))
    return (json.dumps(payload, sort_keys=True) + "\n").encode("ascii")
