"""The shim's fallback: one hook call decided from the session log alone, under the
log's lock, exactly as the daemon would have decided it."""

from __future__ import annotations

import time

from ._decide import HookRequest, TooDeep, decide, resolve
from ._log import LockedLog, open_locked
from ._tail import recover_fd
from ._workspace import policy_or_default


def handle_offline(request: HookRequest, *, deadline: float | None = None) -> bytes:
    """Decide one hook call from the session log alone, as the daemon would."""
    try:
        target = resolve(request)
    except TooDeep:
        return b""
    if target is None or target.event.is_session_end:
        return b""
    policy = policy_or_default(target.workspace)
    log = _open_locked_until(target.log_path, deadline)
    if log is None:
        return b""
    with log:
        recovery = recover_fd(log.fd, log.size, policy, tool_use_id=target.event.tool_use_id)
        decision = decide(
            recovery.detector, target, run_id=request.run_id, recorded=recovery.recorded
        )
        if decision.record is not None:
            log.append(decision.record)
    return decision.answer


def _open_locked_until(path: str, deadline: float | None) -> LockedLog | None:
    if deadline is None:
        return open_locked(path)
    while True:
        try:
            return open_locked(path, blocking=False)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)
