"""Starting and stopping the daemon: a ``streamd serve`` child (the demo, the
benchmarks), or one detached from the terminal (``streamd start``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from streamd.shared import StreamdError, _wire

from . import _files
from ._api import DaemonClient, DaemonError, DaemonUnavailable


class DaemonDidNotStart(StreamdError):
    """Raised when a spawned daemon exits or does not answer in time."""


def start_daemon(
    socket_path: str,
    *extra: str,
    log: IO[bytes] | int = subprocess.DEVNULL,
    timeout: float = 15.0,
    poll: float = 0.002,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``streamd serve`` on ``socket_path``, returned once it answers a ping; ``env``
    is its environment (another ``PYTHONPATH`` runs another streamd)."""
    daemon = subprocess.Popen(
        [sys.executable, "-m", "streamd.daemon", "serve", "--socket", socket_path, *extra],
        stdout=log,
        stderr=log,
        env=env,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            DaemonClient(socket_path, timeout=0.5).ping()
            return daemon
        except DaemonUnavailable:
            if daemon.poll() is not None:
                break
            time.sleep(poll)
    daemon.kill()
    daemon.wait()
    raise DaemonDidNotStart(f"the daemon on {socket_path} did not start")


def stop_daemon(daemon: subprocess.Popen[bytes], socket_path: str) -> None:
    """Ask the daemon to stop; kill it if it does not within 10 seconds."""
    try:
        DaemonClient(socket_path).stop()
        daemon.wait(10)
    except (DaemonUnavailable, DaemonError, subprocess.TimeoutExpired):
        daemon.kill()
        daemon.wait()


def state_dir() -> Path:
    """streamd's per-user state folder (the detached daemon's log and pid):
    ``$XDG_STATE_HOME/streamd``, else ``~/.local/state/streamd`` (on macOS
    ``~/Library/Logs/streamd``)."""
    return _files.user_dir("XDG_STATE_HOME", ".local/state", "Library/Logs")


@dataclass(frozen=True)
class Detached:
    pid: int
    socket: str
    log: Path
    pid_file: Path


def _private_state() -> Path:
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = folder.lstat()
    if not _wire.is_private_dir(st):
        raise DaemonDidNotStart(
            f"{folder} is not a private folder of yours (mode {st.st_mode & 0o777:o}); "
            f"`chmod 700 {folder}` or remove it"
        )
    return folder


def start_detached(socket_path: str, *extra: str, timeout: float = 30.0) -> Detached:
    """``streamd serve`` in a session of its own (closing the terminal does not end it),
    its output appended to ``daemon.log`` in the state folder, its pid in
    ``daemon.pid``; returned once it answers."""
    folder = _private_state()
    log_path, pid_path = folder / "daemon.log", folder / "daemon.pid"
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    log_fd = os.open(log_path, flags, 0o600)
    try:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "streamd.daemon", "serve", "--socket", socket_path, *extra],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            start_new_session=True,
        )
    finally:
        os.close(log_fd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = DaemonClient(socket_path, timeout=0.5).ping().pid
        except DaemonUnavailable:
            if daemon.poll() is not None:
                raise DaemonDidNotStart(
                    f"the daemon exited with status {daemon.returncode}; see {log_path}"
                ) from None
            time.sleep(0.02)
            continue
        _files.write(pid_path, f"{pid}\n{socket_path}\n".encode())
        return Detached(pid, socket_path, log_path, pid_path)
    daemon.kill()
    daemon.wait()
    raise DaemonDidNotStart(f"the daemon did not answer on {socket_path} in time; see {log_path}")


def recorded_socket() -> str | None:
    """The socket the daemon ``streamd start`` last started listens on, from its pid file."""
    try:
        lines = (state_dir() / "daemon.pid").read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[1] if len(lines) > 1 and lines[1] else None


def forget(socket_path: str) -> None:
    """Remove the pid file of the daemon on ``socket_path`` once it stopped."""
    if recorded_socket() == socket_path:
        with contextlib.suppress(OSError):
            (state_dir() / "daemon.pid").unlink()
