"""Real processes for the integration tests: ``streamd serve`` on a temporary socket,
and the hook shim run the way a host runs it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from streamd.client import (
    DaemonClient,
    DaemonDidNotStart,
    DaemonUnavailable,
    shim_path,
    start_daemon,
)
from streamd.client import protocol as proto
from streamd.shared import Record, read_records


@contextlib.contextmanager
def short_tempdir() -> Iterator[Path]:
    """A directory with a path short enough for a Unix socket (108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class DaemonProcess:
    def __init__(
        self,
        socket_path: Path,
        *extra: str,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.extra = extra
        self.env = env
        self.log_path = log_path or socket_path.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        """The daemon, once it answers; a failure to start shows its log."""
        with open(self.log_path, "ab") as log:
            try:
                self.proc = start_daemon(
                    str(self.socket_path),
                    "--log-level",
                    "debug",
                    *self.extra,
                    log=log,
                    env=self.env,
                )
            except DaemonDidNotStart as exc:
                raise AssertionError(f"{exc}:\n{self.log()}") from None
        return self

    def ask(self, message: proto.Request) -> proto.Reply:
        return DaemonClient(str(self.socket_path)).send(message)

    def alive(self) -> bool:
        try:
            return isinstance(self.ask(proto.Ping()), proto.Pong)
        except DaemonUnavailable:
            return False

    def status(self) -> proto.StatusReply:
        reply = self.ask(proto.Status())
        assert isinstance(reply, proto.StatusReply)
        return reply

    def kill(self) -> None:
        """SIGKILL: no cleanup, the socket file stays behind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def run_shim(
    event: bytes | dict[str, Any],
    socket_path: Path | str,
    *args: str,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 20.0,
) -> subprocess.CompletedProcess[bytes]:
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    return subprocess.run(
        [sys.executable, "-S", "-I", shim_path(), "--socket", str(socket_path), *args],
        input=raw,
        capture_output=True,
        cwd=cwd,
        env=env if env is not None else {k: v for k, v in os.environ.items() if k != "CID_RUN_ID"},
        timeout=timeout,
    )


def read_event(
    workspace: Path, n: int = 0, *, session: str = "sess-1", **fields: Any
) -> dict[str, Any]:
    """A Claude Code PostToolUse event for a Read that returns the same file."""
    body: dict[str, Any] = {
        "session_id": session,
        "transcript_path": "/home/u/.claude/projects/x/transcript.jsonl",
        "cwd": str(workspace),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": str(workspace / "app.py")},
        "tool_response": {"type": "text", "file": {"content": "print('hi')\n", "numLines": 1}},
        "tool_use_id": f"toolu_{session}_{n:04d}",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def session_log(workspace: Path, session: str = "sess-1") -> Path:
    return workspace / ".dos" / "streams" / f"{session}.jsonl"


def records(workspace: Path, session: str = "sess-1") -> list[Record]:
    return read_records(str(session_log(workspace, session)))


def raw_records(workspace: Path, session: str = "sess-1") -> list[dict[str, Any]]:
    """Every line of the log as JSON, minus the timestamp; raises on an unreadable line."""
    out = []
    for line in session_log(workspace, session).read_bytes().splitlines():
        if line.strip():
            obj = json.loads(line)
            obj.pop("ts")
            out.append(obj)
    return out


def state_of(stdout: bytes) -> str | None:
    if not stdout:
        return None
    context = json.loads(stdout)["hookSpecificOutput"]["additionalContext"]
    for state in ("REPEATING", "STALLED"):
        if f" {state}:" in context:
            return state
    raise AssertionError(context)


def wait_until_it_answers(sock: Path, proc: subprocess.Popen[bytes]) -> None:
    """Until the daemon answers a ping (the socket file exists a moment before it listens)."""
    for _ in range(3000):
        try:
            DaemonClient(str(sock), timeout=1.0).ping()
            return
        except DaemonUnavailable:
            assert proc.poll() is None, "the daemon exited while starting"
            time.sleep(0.01)
    raise AssertionError("the daemon did not answer within 30 s")
