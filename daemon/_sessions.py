"""Live sessions: each one's stream state in memory, kept equal to a full replay of its log.

``SessionTable.apply`` runs in a worker thread, on the session's writer lane, so one
session's steps never interleave. Under the log's ``flock`` it checks that the log is
the size the daemon last left it; if not (the shim's fallback wrote while the daemon
was down or slow, or the daemon has just started), it recovers the session from the
log's tail first.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streamd.client._options import DEFAULT_LANES
from streamd.shared import (
    DEFAULT_POLICY,
    IDEMPOTENCY_WINDOW,
    Decision,
    Detector,
    LockedLog,
    Policy,
    PolicyError,
    Recovery,
    Target,
    Verdict,
    decide,
    load_policy,
    lock_log,
    open_log,
    policy_path,
    recover_fd,
    window_ids,
)

log = logging.getLogger("streamd")

SessionKey = tuple[str, str]
Wanted = Callable[[], bool]
"""Whether the request's client still waits for the answer."""
Job = tuple["Session", Target, str | None, Wanted | None]


@dataclass(slots=True)
class Session:
    workspace: str
    session: str
    host: str
    inflight: int = 0
    detector: Detector | None = None
    size: int = -1
    last_tool: str = ""
    recent_ids: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=IDEMPOTENCY_WINDOW)
    )
    """The ids of the records in the log's idempotency window."""
    last_verdict: Verdict | None = None
    firings: int = 0
    last_seen: float = field(default_factory=time.time)


@dataclass(slots=True)
class _PolicyEntry:
    stamp: tuple[int, int, int] | None
    policy: Policy
    error: str | None = None


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
        error = None
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            log.error("%s; using the default policy until it is fixed", exc)
            policy, error = DEFAULT_POLICY, str(exc)
        self._entries[workspace] = _PolicyEntry(stamp, policy, error)
        return policy

    def errors(self) -> list[str]:
        """Why each ``dos.toml`` not in force was refused."""
        return sorted({e.error for e in self._entries.values() if e.error})

    def error(self, workspace: str) -> str | None:
        """Why the workspace's ``dos.toml`` was not used, when it was not."""
        entry = self._entries.get(workspace)
        return entry.error if entry is not None else None


class SessionTable:
    def __init__(self, lanes: int = DEFAULT_LANES, open_logs_per_lane: int = 128) -> None:
        self.sessions: dict[SessionKey, Session] = {}
        self.policies = Policies()
        self.open_logs = [OpenLogs(open_logs_per_lane) for _ in range(lanes)]

    def session_for(self, target: Target, host: str) -> Session:
        key = (target.workspace, target.session)
        session = self.sessions.get(key)
        if session is None:
            session = self.sessions[key] = Session(target.workspace, target.session, host)
        return session

    def drop(self, workspace: str, session: str) -> bool:
        return self.sessions.pop((workspace, session), None) is not None

    def evict_idle(self, idle_seconds: float, now: float | None = None) -> int:
        cutoff = (now if now is not None else time.time()) - idle_seconds
        idle = [k for k, s in self.sessions.items() if s.last_seen < cutoff and not s.inflight]
        for key in idle:
            self.drop(*key)
        return len(idle)

    def apply(self, lane: int, job: Job) -> Decision | None:
        """Decide one step and append its record; blocking, on the session's lane.
        None when the client stopped waiting: it decides the call itself, so applying it
        late would record it twice or out of its order."""
        session, target, run_id, wanted = job
        policy = self.policies.get(session.workspace)
        event = target.event
        log_file = self.open_logs[lane].lock(target.log_path)
        try:
            if wanted is not None and not wanted():
                return None
            detector = session.detector
            unchanged = detector is not None and session.size == log_file.size
            stale = event.tool_use_id is not None and event.tool_use_id in session.recent_ids
            recovery: Recovery | None = None
            if detector is None or not unchanged or detector.policy != policy or stale:
                recovery = recover_fd(
                    log_file.fd, log_file.size, policy, tool_use_id=event.tool_use_id
                )
                detector = session.detector = recovery.detector
                if not unchanged:
                    session.recent_ids.clear()
                    session.recent_ids.extend(window_ids(log_file.fd, log_file.size))
            assert detector is not None
            recorded = recovery.recorded if recovery is not None else None
            decision = decide(detector, target, run_id=run_id, recorded=recorded)
            if decision.record is not None and decision.after is not None:
                log_file.append(decision.record, ends_clean=unchanged)
                session.detector = decision.after
                if event.tool_use_id is not None:
                    session.recent_ids.append(event.tool_use_id)
            session.size = log_file.size
        finally:
            log_file.unlock()
        if event.step is not None:
            session.last_tool = event.step.tool_name
        session.last_seen = time.time()
        if decision.verdict is not None:
            session.last_verdict = decision.verdict
            if decision.record is not None and decision.verdict.fired:
                session.firings += 1
        return decision


class OpenLogs:
    """One lane's open session logs, least recently used closed first.
    Only the lane's thread touches it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._fds: collections.OrderedDict[str, int] = collections.OrderedDict()

    def lock(self, path: str) -> LockedLog:
        """The log at ``path``, open and locked; reopened if it was deleted meanwhile."""
        fd = self._fds.get(path)
        if fd is None:
            fd = self._open(path)
        else:
            self._fds.move_to_end(path)
        log_file = lock_log(fd)
        if log_file.unlinked:
            log_file.unlock()
            self.close(path)
            log_file = lock_log(self._open(path))
        return log_file

    def _open(self, path: str) -> int:
        fd = self._fds[path] = open_log(path)
        while len(self._fds) > self.capacity:
            _, oldest = self._fds.popitem(last=False)
            os.close(oldest)
        return fd

    def close(self, path: str) -> None:
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def close_all(self) -> None:
        while self._fds:
            os.close(self._fds.popitem()[1])
