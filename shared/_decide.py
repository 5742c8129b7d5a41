"""One hook call, decided: shared by the daemon and the shim's in-process fallback.

``resolve`` turns a request into the session it concerns; ``decide`` turns the
session's detector into the record to append and the bytes to print. Both sides call
the same two functions, which is why the fallback prints what the daemon would have.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import FrameType

from . import hosts
from ._adapter import HookEvent, adapt_event, parse_event, safe_session_name
from ._answer import render_answer, render_stop
from ._breaker import loop_count, stop_reason
from ._errors import StreamdError
from ._record import encode_record, log_path
from ._verdict import Verdict
from ._workspace import project_root
from .rules import Detector


@dataclass(frozen=True, slots=True)
class HookRequest:
    event: bytes
    cwd: str
    workspace: str | None = None
    """``--workspace``, else the host's project folder; None: the project root of the
    event's ``cwd`` (``_workspace.project_root``)."""
    run_id: str | None = None
    host: str = hosts.DEFAULT_HOST
    key: str | None = None
    """The shim's idempotency key, for an event without a ``tool_use_id`` (Gemini CLI
    sends none): the daemon and the shim's fallback record the call under it alike."""


@dataclass(frozen=True, slots=True)
class Target:
    """The session one hook event is about."""

    workspace: str
    session: str
    log_path: str
    event: HookEvent
    host: str = hosts.DEFAULT_HOST
    host_event: str | None = None
    """The event's name in the host's own dialect."""


@dataclass(frozen=True, slots=True)
class Decision:
    record: bytes | None
    answer: bytes
    verdict: Verdict | None
    after: Detector | None = None
    """The detector once ``record`` is appended: the caller adopts it instead of
    folding the step again."""


NOTHING = Decision(None, b"", None)


class TooDeep(StreamdError):
    """Raised when an event nests deeper than ``NESTING`` levels: it is not recorded, by
    the daemon and the hook's fallback alike, and the daemon says so in its log."""


NESTING = 900
"""Levels of nesting an event may have, whatever the depth the caller runs at."""


@contextlib.contextmanager
def _nesting_room() -> Iterator[None]:
    """Parsing and hashing recurse once per level of the event, and Python's limit
    counts the caller's frames too: the daemon (an event loop) and the hook (a short
    script) would cut off at different depths. Both get exactly ``NESTING`` levels."""
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + NESTING + 50)  # 50: the frames of parsing itself
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def resolve(request: HookRequest) -> Target | None:
    """The session an event is about, or None when there is nothing to do. Raises
    ``TooDeep`` for an event nested past ``NESTING`` levels."""
    try:
        host = hosts.get(request.host)
    except hosts.UnknownHost:
        return None
    try:
        with _nesting_room():
            raw = parse_event(request.event)
            if raw is None:
                return None
            event = adapt_event(host.to_claude_shape(raw), host=host)
    except RecursionError:
        raise TooDeep(f"an event nested past {NESTING} levels was not recorded") from None
    if event.step is None and not event.is_session_end and not event.is_batch:
        return None
    if event.session_id is None:
        return None
    session = safe_session_name(event.session_id)
    if session is None:
        return None
    if request.workspace:
        workspace = os.path.abspath(os.path.join(request.cwd, request.workspace))
    else:
        workspace = project_root(os.path.abspath(os.path.join(request.cwd, event.cwd or "")))
    if event.tool_use_id is None and request.key:
        event = replace(event, tool_use_id=f"streamd-{request.key}")
    name = raw.get("hook_event_name")
    host_event = name if isinstance(name, str) else host.event_name(event.event_name)
    path = log_path(workspace, session)
    if event.is_batch and not os.path.lexists(path):
        return None  # nothing recorded yet, so nothing to stop: no log is made for it
    return Target(workspace, session, path, event, request.host, host_event)


def decide(
    detector: Detector,
    target: Target,
    *,
    run_id: str | None = None,
    recorded: Verdict | None = None,
) -> Decision:
    """What to append and print for ``target``'s step, given the session's detector.
    ``recorded`` is the verdict of a record already holding this call."""
    event = target.event
    step = event.step
    if event.is_batch:
        return Decision(None, _batch_answer(detector, target), None)
    if step is None:
        return NOTHING
    result = event.result if event.has_result else None
    breaker = detector.policy.breaker

    def answer(verdict: Verdict, in_loops: int, stop: str | None = None) -> bytes:
        if verdict.audience != "model" and not detector.policy.notes_to_model:
            return b""  # a note for people: recorded, not said
        armed = breaker is not None and verdict.fired and verdict.audience == "model"
        return render_answer(
            verdict,
            event_name=target.host_event,
            result=result,
            host=target.host,
            failure=event.failure,
            stop=stop,
            outlook=breaker.outlook(verdict, in_loops) if armed and breaker else "",
        )

    if recorded is not None:
        return Decision(None, answer(recorded, detector.in_loops), recorded)
    probe = detector.clone()
    verdict = probe.push(step)
    stop: dict[str, object] | None = None
    reason = None
    if breaker is not None and step.artifact is None and breaker.trips(verdict, probe.in_loops):
        count = loop_count(verdict)
        stop = {"rule": verdict.rule, "count": count}
        probe.stopped = (step.tool_name, verdict.rule, count, probe.in_loops)
        reason = stop_reason(*probe.stopped)
    exact = probe.exact.verdict()
    exact_fired = exact.fired and step.artifact is None
    fired: dict[str, object] | None = None
    if verdict.fired and verdict.rule != "exact":
        fired = {
            "rule": verdict.rule,
            "state": verdict.state.value,
            "count": verdict.repeat_run,
            "period": verdict.period,
        }
        if verdict.audience != "model":
            fired["audience"] = verdict.audience
    try:
        record = encode_record(
            step,
            step_index=detector.steps,
            verdict_state=exact.state.value if exact_fired else None,
            run_id=run_id if exact_fired else None,
            tool_use_id=event.tool_use_id,
            streamd_verdict=fired,
            in_loops=probe.in_loops,
            stop=stop,
        )
    except UnicodeEncodeError:
        return NOTHING
    return Decision(record, answer(verdict, probe.in_loops, reason), verdict, probe)


def _batch_answer(detector: Detector, target: Target) -> bytes:
    """After a batch (Claude Code's ``PostToolBatch``): the stop, when the batch's last
    call tripped the breaker (a failing call's own answer cannot stop Claude Code)."""
    if detector.stopped is None:
        return b""
    return render_stop(
        stop_reason(*detector.stopped), event_name=target.host_event, host=target.host
    )
