"""Live sessions: each one's stream state in memory, kept equal to a full replay of its log.

``SessionTable.apply`` runs in a worker thread while the caller holds that session's
lock. Under the log's ``flock`` it checks that the log is the size the daemon last
left it; if not (the shim's fallback wrote while the daemon was down or slow, or the
daemon has just started), it recovers the session from the log's tail first.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import anyio

from streamd.shared import (
    DEFAULT_POLICY,
    Decision,
    Policy,
    PolicyError,
    StreamTracker,
    Target,
    Verdict,
    decide,
    load_policy,
    open_locked,
    policy_path,
    recover_fd,
)

log = logging.getLogger("streamd")

SessionKey = tuple[str, str]


@dataclass(slots=True)
class Session:
    workspace: str
    session: str
    host: str
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    tracker: StreamTracker | None = None
    size: int = -1
    last_tool: str = ""
    last_tool_use_id: str | None = None
    last_verdict: Verdict | None = None
    firings: int = 0
    last_seen: float = field(default_factory=time.time)
    evicted: bool = False


@dataclass(slots=True)
class _PolicyEntry:
    stamp: tuple[int, int, int] | None
    policy: Policy


class Policies:
    """Each workspace's policy, re-read when its ``dos.toml`` changes."""

    def __init__(self) -> None:
        self._entries: dict[str, _PolicyEntry] = {}

    def get(self, workspace: str) -> Policy:
        path = policy_path(workspace)
        try:
            st = os.stat(path)
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        entry = self._entries.get(workspace)
        if entry is not None and entry.stamp == stamp:
            return entry.policy
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            log.error("%s; using the default policy until it is fixed", exc)
            policy = DEFAULT_POLICY
        self._entries[workspace] = _PolicyEntry(stamp, policy)
        return policy


class SessionTable:
    def __init__(self) -> None:
        self.sessions: dict[SessionKey, Session] = {}
        self.policies = Policies()

    def session_for(self, target: Target, host: str) -> Session:
        key = (target.workspace, target.session)
        session = self.sessions.get(key)
        if session is None:
            session = self.sessions[key] = Session(target.workspace, target.session, host)
        return session

    def drop(self, workspace: str, session: str) -> bool:
        dropped = self.sessions.pop((workspace, session), None)
        if dropped is not None:
            dropped.evicted = True
        return dropped is not None

    def evict_idle(self, idle_seconds: float, now: float | None = None) -> int:
        cutoff = (now if now is not None else time.time()) - idle_seconds
        idle = [k for k, s in self.sessions.items() if s.last_seen < cutoff and not s.lock.locked()]
        for key in idle:
            self.drop(*key)
        return len(idle)

    def apply(self, session: Session, target: Target, run_id: str | None) -> Decision:
        """Decide one step and append its record; blocking, in a worker thread."""
        policy = self.policies.get(session.workspace)
        event = target.event
        with open_locked(target.log_path) as log_file:
            recorded: Verdict | None = None
            tracker = session.tracker
            if tracker is None or session.size != log_file.size or tracker.policy != policy:
                recovery = recover_fd(
                    log_file.fd, log_file.size, policy, tool_use_id=event.tool_use_id
                )
                tracker, recorded = recovery.tracker, recovery.recorded
                session.tracker = tracker
            elif event.tool_use_id is not None and event.tool_use_id == session.last_tool_use_id:
                recorded = session.last_verdict
            decision = decide(tracker, target, run_id=run_id, recorded=recorded)
            if decision.record is not None and event.step is not None:
                log_file.append(decision.record)
                tracker.push(event.step)
            session.size = log_file.size
        if event.step is not None:
            session.last_tool = event.step.tool_name
        session.last_seen = time.time()
        if decision.verdict is not None:
            session.last_tool_use_id = event.tool_use_id
            session.last_verdict = decision.verdict
            if decision.record is not None and decision.verdict.fired:
                session.firings += 1
        return decision
