"""Service management: real socket activation (LISTEN_FDS on fd 3), real sd_notify
datagrams, unit files checked by systemd-analyze, the LaunchAgent by plistlib."""

from __future__ import annotations

import os
import plistlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamd.client import DaemonClient, _service

from ..harness import read_event, records, run_shim, state_of

pytestmark = pytest.mark.process

WRAPPER = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); "
    "os.environ['LISTEN_FDS'] = '1'; os.environ['LISTEN_PID'] = str(os.getpid()); "
    "os.execv(sys.executable, [sys.executable, '-m', 'streamd.daemon', 'serve', *sys.argv[2:]])"
)


class Manager:
    """Plays systemd: holds the listening socket and the notify socket, starts the daemon."""

    def __init__(self, root: Path) -> None:
        self.socket_path = root / "act.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.socket_path))
        self.listener.listen(64)
        self.notify_path = root / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(10)
        self.log = root / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, watchdog_usec: int = 200_000) -> None:
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(self.notify_path),
            "WATCHDOG_USEC": str(watchdog_usec),
        }
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WRAPPER,
                    str(self.listener.fileno()),
                    "--socket",
                    "/nonexistent/x.sock",
                ],
                pass_fds=(self.listener.fileno(),),
                env=env,
                stdout=log,
                stderr=log,
            )

    def message(self) -> str:
        return self.notify.recv(4096).decode()

    def wait_for(self, prefix: str) -> str:
        while True:
            message = self.message()
            if message.startswith(prefix):
                return message

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.listener.close()
        self.notify.close()


@pytest.fixture
def manager(sockdir: Path) -> Iterator[Manager]:
    m = Manager(sockdir)
    try:
        yield m
    finally:
        m.close()


class TestSocketActivation:
    def test_serves_the_inherited_socket_and_speaks_sd_notify(
        self, manager: Manager, tmp_path: Path
    ) -> None:
        manager.start()
        ready = manager.message()
        assert ready.startswith("READY=1") and f"MAINPID={manager.proc.pid}" in ready  # type: ignore[union-attr]
        assert manager.message() == "WATCHDOG=1"
        assert manager.message() == "WATCHDOG=1"  # again, at half of WATCHDOG_USEC
        outs = [
            state_of(run_shim(read_event(tmp_path, n), manager.socket_path).stdout)
            for n in range(5)
        ]
        assert outs == [None, None, "REPEATING", "REPEATING", "STALLED"]
        assert not Path("/nonexistent/x.sock").exists()
        manager.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        assert manager.wait_for("STOPPING=1").startswith("STOPPING=1")
        assert manager.proc.wait(15) == 0  # type: ignore[union-attr]
        assert manager.socket_path.exists()  # the manager's socket, not the daemon's to remove

    def test_restart_gap_is_covered_by_the_fallback_and_nothing_doubles(
        self, manager: Manager, tmp_path: Path
    ) -> None:
        manager.start()
        manager.wait_for("READY=1")
        for n in range(2):
            run_shim(read_event(tmp_path, n), manager.socket_path)
        manager.proc.kill()  # type: ignore[union-attr]
        manager.proc.wait()  # type: ignore[union-attr]
        # Down: the socket still accepts (the manager holds it), nobody answers.
        gap = run_shim(read_event(tmp_path, 2), manager.socket_path)
        assert state_of(gap.stdout) == "REPEATING"  # the fallback decided it
        manager.start()  # it accepts the connection the gap left queued, and must not redo it
        manager.wait_for("READY=1")
        outs = [
            state_of(run_shim(read_event(tmp_path, n), manager.socket_path).stdout) for n in (3, 4)
        ]
        assert outs == ["REPEATING", "STALLED"]
        reply = DaemonClient(str(manager.socket_path)).status()
        assert reply.steps_answered == 2  # the restarted daemon answered these itself
        assert [r.tool_use_id for r in records(tmp_path)] == [
            f"toolu_sess-1_{n:04d}" for n in range(5)
        ]

    def test_listen_pid_for_another_process_is_ignored(self, sockdir: Path) -> None:
        own = sockdir / "own.sock"
        env = {**os.environ, "LISTEN_PID": "1", "LISTEN_FDS": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamd.daemon", "serve", "--socket", str(own)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 15
            while not own.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert own.exists()
        finally:
            proc.terminate()
            proc.wait(15)


def _systemd_analyze() -> str | None:
    return shutil.which("systemd-analyze")


class TestUnitFiles:
    @pytest.mark.skipif(
        _systemd_analyze() is None, reason="systemd-analyze is not installed (.ci/run installs it)"
    )
    def test_systemd_analyze_verifies_the_units(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The telemetry settings the service carries, quoted as systemd reads them.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", 'x-key=a%20b"c\\d')
        plan = _service.plan("systemd", "/run/user/1000/streamd/streamd.sock", home=tmp_path)
        service = plan.files[1].content.decode()
        assert 'Environment="OTEL_EXPORTER_OTLP_HEADERS=x-key=a%%20b\\"c\\\\d"' in service
        for f in plan.files:
            f.path.parent.mkdir(parents=True, exist_ok=True)
            f.path.write_bytes(f.content)
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        done = subprocess.run(
            ["systemd-analyze", "--user", "verify", *(str(f.path) for f in plan.files)],
            capture_output=True,
            text=True,
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)},
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr

    def test_units_say_what_the_issue_asks(self) -> None:
        socket_unit, service_unit = _service.systemd_units(
            "/usr/bin/python3", "/run/user/7/streamd/streamd.sock"
        )
        assert (
            "ListenStream=/run/user/7/streamd/streamd.sock" in socket_unit
            and "SocketMode=0600" in socket_unit
        )
        for line in (
            "Type=notify",
            "WatchdogSec=30",
            "Restart=on-failure",
            "--socket /run/user/7/streamd/streamd.sock",
        ):
            assert line in service_unit

    def test_the_telemetry_settings_go_to_a_private_unit(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer secret")
        plan = _service.plan("systemd", "/run/s.sock", home=tmp_path)
        for f in plan.files:
            f.path.parent.mkdir(parents=True, exist_ok=True)
            _service._write_private(f.path, f.content)  # as install writes them
            assert f.path.stat().st_mode & 0o777 == 0o600
        assert b"Bearer secret" in plan.files[1].path.read_bytes()

    def test_launchd_plist(self, tmp_path: Path) -> None:
        plan = _service.plan(
            "launchd", "/Users/u/Library/Caches/TemporaryItems/streamd/streamd.sock", home=tmp_path
        )
        [f] = plan.files
        assert f.path == tmp_path / "Library" / "LaunchAgents" / "dev.streamd.daemon.plist"
        data = plistlib.loads(f.content)
        assert data["Label"] == "dev.streamd.daemon"
        assert data["ProgramArguments"][1:4] == ["-m", "streamd.daemon", "serve"]
        listener = data["Sockets"]["Listeners"]
        assert (
            listener["SockPathName"].endswith("streamd.sock") and listener["SockPathMode"] == 0o600
        )
        assert data["KeepAlive"] == {"SuccessfulExit": False}
        assert plan.enable[0][:2] == ("launchctl", "bootstrap")


def streamd_service(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"}
    env.update(HOME=str(home), PATH="/nonexistent")  # no systemctl: the manager is unreachable
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "streamd.client",
            "service",
            *args,
            "--socket",
            str(home / "s.sock"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


class TestServiceCommand:
    def test_print_writes_nothing(self, tmp_path: Path) -> None:
        done = streamd_service("print", "--manager", "systemd", home=tmp_path)
        assert "[Socket]" in done.stdout and "[Service]" in done.stdout
        assert not (tmp_path / ".config").exists()

    def test_dry_run_writes_nothing(self, tmp_path: Path) -> None:
        done = streamd_service("install", "--dry-run", "--manager", "systemd", home=tmp_path)
        assert (
            "would write" in done.stdout
            and "systemctl --user enable --now streamd.socket" in done.stdout
        )
        assert not (tmp_path / ".config").exists()

    def test_install_without_a_manager_says_what_to_run_then_uninstall(
        self, tmp_path: Path
    ) -> None:
        done = streamd_service("install", "--manager", "systemd", home=tmp_path)
        assert done.returncode == 1, done.stderr  # written, but not enabled
        unit_dir = tmp_path / ".config" / "systemd" / "user"
        assert {p.name for p in unit_dir.iterdir()} == {"streamd.socket", "streamd.service"}
        assert (
            "not reachable" in done.stdout
            and "systemctl --user enable --now streamd.socket" in done.stdout
        )
        (unit_dir / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
        removed = streamd_service("uninstall", "--manager", "systemd", home=tmp_path)
        assert removed.returncode == 0 and removed.stdout.count("removed") == 2
        assert {p.name for p in unit_dir.iterdir()} == {"other.service"}
        again = streamd_service("uninstall", "--manager", "systemd", home=tmp_path)
        assert "no streamd service files" in again.stdout

    def test_refuses_to_overwrite_a_file_it_did_not_write(self, tmp_path: Path) -> None:
        unit = tmp_path / ".config" / "systemd" / "user" / "streamd.service"
        unit.parent.mkdir(parents=True)
        unit.write_text("[Service]\nExecStart=/opt/mine\n")
        done = streamd_service("install", "--manager", "systemd", home=tmp_path)
        assert done.returncode == 1 and "not written by streamd" in done.stderr
        assert unit.read_text() == "[Service]\nExecStart=/opt/mine\n"
