"""The real shim fed hostile stdin, with a daemon and without: it always exits 0 within
its bound, prints nothing to stderr, and leaves no log line the reader rejects."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from streamd.client import _shim
from streamd.shared import parse_line

from ..harness import DaemonProcess, run_shim, short_tempdir
from ..strategies import hostile_stdin

pytestmark = pytest.mark.process


def check_logs(workspace: Path) -> None:
    for log in workspace.rglob("*.jsonl"):
        for line in log.read_bytes().split(b"\n"):
            assert not line.strip() or parse_line(line), line


@pytest.mark.parametrize("with_daemon", [True, False])
def test_hostile_stdin(with_daemon: bool, tmp_path: Path) -> None:
    with short_tempdir() as sockdir:
        daemon = DaemonProcess(sockdir / "f.sock").start() if with_daemon else None
        socket_path = sockdir / "f.sock"
        try:

            @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
            @given(hostile_stdin(str(tmp_path)))
            def run(raw: bytes) -> None:
                started = time.monotonic()
                done = run_shim(raw, socket_path, cwd=tmp_path)
                # The hard bound is the promise (4 s); 8 s allowed, for a loaded machine.
                assert time.monotonic() - started < 2 * _shim.HARD_DEADLINE
                assert (done.returncode, done.stderr) == (0, b"")
                if done.stdout:
                    assert "hookSpecificOutput" in json.loads(done.stdout)

            run()
            if daemon is not None:
                assert daemon.alive()
        finally:
            if daemon is not None:
                daemon.kill()
    check_logs(tmp_path)
