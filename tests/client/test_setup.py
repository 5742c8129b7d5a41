"""Setting streamd up and keeping it working: the hook launcher, ``start``, ``doctor``,
``hook status`` and the hook run by hand."""

from __future__ import annotations

import json
import os
import pty
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamd.client import _launcher
from streamd.client._api import DaemonClient, DaemonUnavailable

from ..harness import DaemonProcess, read_event, records, state_of

pytestmark = pytest.mark.process


def streamd(
    *args: str, home: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    folders = {"XDG_DATA_HOME": str(home / ".local" / "share"), "XDG_STATE_HOME": str(home / "s")}
    return subprocess.run(
        [sys.executable, "-m", "streamd.client", *args],
        capture_output=True,
        text=True,
        cwd=cwd or home,
        env={**os.environ, "HOME": str(home), **folders, **(env or {})},
        timeout=120,
    )


def launcher_of(home: Path) -> Path:
    return home / ".local" / "share" / "streamd" / "hook.py"


def problems_besides_the_checkout(output: str) -> list[str]:
    """The problems reported, but for this checkout's own place: a clone in a temporary
    folder is rightly called fragile, and CI may clone there."""
    root = _launcher.package_root()
    fragile_root = _launcher.fragile(root)
    flagged = ("BROKEN", "OUTDATED", "FRAGILE", "SOCKET")
    return [
        line
        for line in output.splitlines()
        if any(f in line for f in flagged) and not (fragile_root and root in line)
    ]


def installed_command(home: Path) -> str:
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    command: str = settings["hooks"]["PostToolUse"][0]["hooks"][0]["command"]
    return command


def run_command(command: str, event: dict[str, object]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        command, shell=True, input=json.dumps(event).encode(), capture_output=True, timeout=60
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    return home


class TestLauncher:
    def test_install_writes_a_launcher_the_command_runs(
        self, home: Path, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        done = streamd("hook", "install", "--socket", str(daemon.socket_path), home=home)
        assert done.returncode == 0, done.stderr
        command = installed_command(home)
        argv = shlex.split(command)
        assert argv[3] == str(launcher_of(home))
        assert _launcher.recorded_root(launcher_of(home)) == _launcher.package_root()
        states = [state_of(run_command(command, read_event(tmp_path, n)).stdout) for n in range(3)]
        assert states == [None, None, "REPEATING"]
        assert daemon.status().steps_answered == 3

    def test_without_a_chosen_socket_none_is_baked_in(self, home: Path) -> None:
        streamd("hook", "install", home=home)
        assert "--socket" not in installed_command(home)

    def test_a_moved_package_is_found_through_the_streamd_command(self, tmp_path: Path) -> None:
        """A new Python under pipx or uv moves the package; the launcher follows the
        ``streamd`` command's interpreter to it."""
        prefix = tmp_path / "venv"
        site = prefix / "lib" / "python3.99" / "site-packages"
        site.mkdir(parents=True)
        (site / "streamd").symlink_to(_launcher.package_root())
        command = tmp_path / "streamd"
        command.write_text(f"#!{prefix}/bin/python\n# the console script\n")
        launcher = tmp_path / "hook.py"
        launcher.write_bytes(_launcher.render(str(tmp_path / "gone"), str(command)))
        hook = shlex.join([sys.executable, "-S", "-I", str(launcher)])
        events = [read_event(tmp_path / "ws", n) for n in range(3)]
        outs = [run_command(hook + " --socket /nonexistent/s.sock", e) for e in events]
        assert [o.returncode for o in outs] == [0, 0, 0]
        assert [state_of(o.stdout) for o in outs] == [None, None, "REPEATING"]
        assert len(records(tmp_path / "ws")) == 3

    def test_no_package_anywhere_does_nothing_and_exits_0(self, tmp_path: Path) -> None:
        launcher = tmp_path / "hook.py"
        launcher.write_bytes(_launcher.render(str(tmp_path / "gone"), str(tmp_path / "none")))
        done = run_command(
            shlex.join([sys.executable, "-S", "-I", str(launcher)]), read_event(tmp_path, 0)
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


class TestHookStatus:
    def _with_command(self, home: Path, command: str) -> None:
        settings = home / ".claude" / "settings.json"
        hook = {"type": "command", "command": command}
        groups = [{"matcher": "*", "hooks": [hook]}]
        events = ("PostToolUse", "PostToolUseFailure", "SessionEnd")
        settings.write_text(json.dumps({"hooks": {e: groups for e in events}}))

    def test_a_working_install_exits_0(self, home: Path) -> None:
        assert streamd("hook", "install", home=home).returncode == 0
        done = streamd("hook", "status", home=home)
        assert problems_besides_the_checkout(done.stdout) == []
        assert done.returncode == (1 if _launcher.fragile(_launcher.package_root()) else 0)

    def test_a_command_into_a_build_folder_is_flagged(self, home: Path) -> None:
        build = home / "checkout" / "build" / "__editable__.streamd" / "streamd" / "client"
        build.mkdir(parents=True)
        (build / "hook.py").write_text("")
        self._with_command(home, shlex.join([sys.executable, "-S", "-I", str(build / "hook.py")]))
        done = streamd("hook", "status", home=home)
        assert done.returncode == 1
        assert "FRAGILE" in done.stdout and "build folder" in done.stdout
        assert "OUTDATED" in done.stdout  # and it is not the launcher

    def test_a_vanished_command_is_broken_and_exits_1(self, home: Path, tmp_path: Path) -> None:
        self._with_command(home, f"{sys.executable} -S -I {tmp_path}/streamd/gone/hook.py")
        done = streamd("hook", "status", home=home)
        assert done.returncode == 1 and "BROKEN" in done.stdout

    def test_a_socket_the_daemon_does_not_listen_on_is_flagged(
        self, home: Path, daemon: DaemonProcess, sockdir: Path
    ) -> None:
        streamd("hook", "install", "--socket", str(sockdir / "elsewhere.sock"), home=home)
        done = streamd("hook", "status", "--socket", str(daemon.socket_path), home=home)
        assert done.returncode == 1 and "SOCKET" in done.stdout
        assert str(daemon.socket_path) in done.stdout


@pytest.fixture
def started(home: Path, sockdir: Path) -> Iterator[Path]:
    sock = sockdir / "started.sock"
    yield sock
    try:
        pid = DaemonClient(str(sock), timeout=2).ping().pid
    except DaemonUnavailable:
        return
    os.kill(pid, signal.SIGKILL)


class TestStart:
    def test_start_detaches_logs_and_records_its_pid(self, home: Path, started: Path) -> None:
        done = streamd("start", "--socket", str(started), home=home)
        assert done.returncode == 0, done.stderr
        pid = DaemonClient(str(started)).ping().pid
        assert os.getsid(pid) == pid  # a session of its own: a closed terminal leaves it be
        state = home / "s" / "streamd"
        assert (state / "daemon.pid").read_text().splitlines() == [str(pid), str(started)]
        assert (state / "daemon.log").stat().st_mode & 0o777 == 0o600
        assert f"pid {pid}" in done.stdout and "daemon.log" in done.stdout

        again = streamd("start", "--socket", str(started), home=home)
        assert again.returncode == 0 and "already listens" in again.stdout
        assert DaemonClient(str(started)).ping().pid == pid

        restarted = streamd("restart", "--socket", str(started), home=home)
        assert restarted.returncode == 0, restarted.stderr
        assert DaemonClient(str(started)).ping().pid != pid

        stopped = streamd("stop", "--socket", str(started), home=home)
        assert stopped.returncode == 0 and not (state / "daemon.pid").exists()


class TestDoctor:
    def test_all_well_exits_0_after_running_the_hook(
        self, home: Path, daemon: DaemonProcess
    ) -> None:
        sock = str(daemon.socket_path)
        assert streamd("hook", "install", "--socket", sock, home=home).returncode == 0
        done = streamd("doctor", "--socket", sock, home=home)
        assert "a sample loop got the answer: streamd" in done.stdout
        assert problems_besides_the_checkout(done.stdout) == []
        if not _launcher.fragile(_launcher.package_root()):
            assert done.returncode == 0 and "all well" in done.stdout
        assert daemon.status().sessions == []  # the sample session was ended

    def test_each_problem_says_what_to_do_and_exits_1(
        self, home: Path, daemon: DaemonProcess
    ) -> None:
        sock = str(daemon.socket_path)
        streamd("hook", "install", "--socket", sock, home=home)
        (home / "dos.toml").write_text("[tool_stream]\nstall_n = 1\nrepeat_n = 3\n")
        done = streamd("doctor", "--socket", sock, home=home)
        assert done.returncode == 1 and "stall_n" in done.stdout
        assert [p for p in problems_besides_the_checkout(done.stdout) if "stall_n" not in p] == []

    def test_no_hook_installed_is_a_problem(self, home: Path, sockdir: Path) -> None:
        done = streamd("doctor", "--socket", str(sockdir / "none.sock"), home=home)
        assert done.returncode == 1 and "no agent runs the hook" in done.stdout
        assert "streamd start" in done.stdout  # the daemon is optional: said, not counted

    def test_a_hook_that_does_not_answer_is_a_problem(self, home: Path) -> None:
        streamd("hook", "install", home=home)
        launcher_of(home).write_bytes(_launcher.render("/nonexistent", "/nonexistent"))
        done = streamd("doctor", home=home)
        assert done.returncode == 1 and "BROKEN" in done.stdout


class TestHookByHand:
    def test_a_terminal_on_stdin_gets_told_what_the_hook_expects(self) -> None:
        primary, secondary = pty.openpty()
        try:
            done = subprocess.run(
                [sys.executable, "-S", "-I", _launcher.package_root() + "/client/hook.py"],
                stdin=secondary,
                capture_output=True,
                timeout=30,
            )
        finally:
            os.close(primary)
            os.close(secondary)
        assert done.returncode == 2 and done.stdout == b""
        assert b"hook event (JSON) on stdin" in done.stderr
