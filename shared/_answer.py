"""The answer a hook prints: advisory context for the agent, in the host's dialect.

Nothing for ADVANCING. For REPEATING or STALLED, the host's context field (Claude
Code's ``hookSpecificOutput.additionalContext`` for PostToolUse or PostToolUseFailure),
quoting a bounded excerpt of the repeated result so the value the agent keeps asking
for is put back in front of it.
"""

from __future__ import annotations

import json

from . import hosts
from ._adapter import canonical_bytes
from ._verdict import Verdict
from .rules import BY_NAME, EXCERPT_LIMIT, Evidence, clip


def excerpt(result: object, limit: int = EXCERPT_LIMIT, *, host: hosts.Host | None = None) -> str:
    """At most ``limit`` characters of the result as the agent saw it (the part of it
    ``host``'s model reads)."""
    seen = host.visible(result) if host is not None else result
    return clip(canonical_bytes(seen).decode("utf-8", "replace"), limit)


def context_text(
    verdict: Verdict,
    result: object | None,
    failure: str | None = None,
    *,
    host: hosts.Host | None = None,
) -> str:
    """The advice of the rule that decided, with the repeated evidence put back before
    it."""
    quoted = None if result is None else excerpt(result, host=host)
    return BY_NAME[verdict.rule].advice(verdict, Evidence(quoted, failure))


def render_answer(
    verdict: Verdict,
    *,
    event_name: str | None,
    result: object | None,
    host: str = hosts.DEFAULT_HOST,
    failure: str | None = None,
    stop: str | None = None,
    outlook: str = "",
) -> bytes:
    """The bytes to print for this verdict, in ``host``'s dialect for its ``event_name``:
    empty when there is nothing to say or the event takes no answer. ``stop``: the
    breaker's reason to stop the agent, said where the host can stop it at this event;
    ``outlook``: how close the breaker is, added to the advice."""
    if not verdict.fired:
        return b""
    h = hosts.get(host)
    answered = h.answered_event(event_name)
    if answered is None:
        return b""
    text = context_text(verdict, result, failure, host=h) + outlook
    payload = h.answer(answered, text)
    if stop is not None and answered in h.stops:
        payload = {"continue": False, "stopReason": stop, **payload}
    return _encoded(payload)


def render_stop(reason: str, *, event_name: str | None, host: str = hosts.DEFAULT_HOST) -> bytes:
    """The stop alone (after a batch), where the host can stop the agent at that event."""
    h = hosts.get(host)
    if event_name not in h.stops:
        return b""
    return _encoded({"continue": False, "stopReason": reason})


def _encoded(payload: dict[str, object]) -> bytes:
    return (json.dumps(payload, sort_keys=True) + "\n").encode("ascii")
