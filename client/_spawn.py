"""Starting and stopping a ``streamd serve`` child process (the demo, the benchmarks)."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import IO

from streamd.shared import StreamdError

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
