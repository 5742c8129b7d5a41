"""The ``streamd`` operator command, run as a subprocess."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from streamd.client._launcher import launcher_path

from ..harness import DaemonProcess, read_event, run_shim, session_log
from ..transcripts import claude_session

pytestmark = pytest.mark.process


def streamd(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamd.client", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


class TestStatus:
    def test_table_lists_live_sessions(self, daemon: DaemonProcess, tmp_path: Path) -> None:
        for n in range(3):
            run_shim(read_event(tmp_path, n), daemon.socket_path)
        done = streamd("status", "--socket", str(daemon.socket_path))
        assert done.returncode == 0, done.stderr
        assert f"pid {daemon.proc.pid}" in done.stdout  # type: ignore[union-attr]
        assert "sessions  1 live" in done.stdout
        row = next(line for line in done.stdout.splitlines() if "sess-1" in line)
        assert str(tmp_path) in row and "REPEATING" in row and "Read" in row

    def test_json(self, daemon: DaemonProcess, tmp_path: Path) -> None:
        run_shim(read_event(tmp_path, 0), daemon.socket_path)
        done = streamd("status", "--json", "--socket", str(daemon.socket_path))
        data = json.loads(done.stdout)
        assert data["pid"] == daemon.proc.pid  # type: ignore[union-attr]
        assert data["sessions"][0]["session"] == "sess-1" and data["sessions"][0]["steps"] == 1

    def test_socket_from_the_environment(self, daemon: DaemonProcess) -> None:
        done = streamd("status", env={**os.environ, "STREAMD_SOCKET": str(daemon.socket_path)})
        assert done.returncode == 0 and str(daemon.socket_path) in done.stdout

    def test_daemon_down_fails_loudly(self, sockdir: Path) -> None:
        done = streamd("status", "--socket", str(sockdir / "none.sock"))
        assert done.returncode != 0 and done.stdout == ""
        assert "no daemon is running" in done.stderr and "streamd start" in done.stderr


class TestStop:
    def test_stops_the_daemon(self, daemon: DaemonProcess) -> None:
        done = streamd("stop", "--socket", str(daemon.socket_path))
        assert done.returncode == 0 and "stopped" in done.stdout
        assert daemon.proc is not None and daemon.proc.wait(10) == 0

    def test_nothing_to_stop(self, sockdir: Path) -> None:
        done = streamd("stop", "--socket", str(sockdir / "none.sock"))
        assert done.returncode != 0 and "nothing to stop" in done.stderr


class TestHookCommand:
    def test_prints_a_shell_quoted_command_that_runs(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        done = streamd("hook", "command", "--socket", str(daemon.socket_path))
        command = done.stdout.strip()
        argv = shlex.split(command)
        assert argv[1:4] == ["-S", "-I", str(launcher_path())]
        assert argv[-1] == str(daemon.socket_path)
        for n in range(3):
            out = subprocess.run(
                command,
                shell=True,
                input=json.dumps(read_event(tmp_path, n)).encode(),
                capture_output=True,
            )
        assert b"REPEATING" in out.stdout


class TestReadableReplay:
    """A transcript replayed as a person reads it: when, what was called with what, what
    came back, and each rule's count in its own unit."""

    def test_time_arguments_and_result(self, tmp_path: Path) -> None:
        transcript = tmp_path / "s-1.jsonl"
        claude_session(transcript, calls=4)
        table = streamd("replay", str(transcript)).stdout.splitlines()
        third = next(line for line in table if line.split()[0] == "2")
        assert "10:00:03" in third and "REPEATING" in third
        assert "pytest -x" in third and "FAILED test_x" in third

    def test_only_fired_with_context(self, tmp_path: Path) -> None:
        transcript = tmp_path / "s-1.jsonl"
        claude_session(transcript, calls=4)
        only = streamd("replay", str(transcript), "--only-fired").stdout.splitlines()
        steps = [line.split()[0] for line in only[1:-1]]
        assert steps == ["2", "3"]
        around = streamd("replay", str(transcript), "--only-fired", "--context", "1")
        assert [line.split()[0] for line in around.stdout.splitlines()[1:-1]] == ["1", "2", "3"]

    def test_a_cycle_counts_rounds(self, tmp_path: Path) -> None:
        steps = [
            {"action": f"cat {'ab'[n % 2]}", "observation": f"{'ab'[n % 2]}"} for n in range(6)
        ]
        (tmp_path / "run.traj").write_text(json.dumps({"trajectory": steps}))
        done = streamd("replay", str(tmp_path / "run.traj"), "--json")
        last = json.loads(done.stdout.splitlines()[-1])
        assert (last["rule"], last["count"], last["repeat_run"]) in {
            ("cycle", 3, 6),
            ("recurrence", 3, 3),  # the third of the same call, nothing written between
        }
        table = streamd(
            "replay", str(tmp_path / "run.traj"), "--policy", str(self.cycle_only(tmp_path))
        )
        assert " 3r " in table.stdout.splitlines()[-2]

    @staticmethod
    def cycle_only(folder: Path) -> Path:
        policy = folder / "cycle.toml"
        policy.write_text('[streamd]\nrules = ["cycle"]\n')
        return policy


class TestReplay:
    def test_table_and_json(self, sockdir: Path, tmp_path: Path) -> None:
        for n in range(5):
            run_shim(read_event(tmp_path, n), sockdir / "none.sock")
        log = session_log(tmp_path)
        table = streamd("replay", str(log))
        assert (
            table.returncode == 0
            and "STALLED" in table.stdout
            and "5 steps, 3 fired" in table.stdout
        )
        rows = [
            json.loads(line) for line in streamd("replay", str(log), "--json").stdout.splitlines()
        ]
        assert [(r["step_index"], r["state"], r["repeat_run"]) for r in rows] == [
            (0, "ADVANCING", 1),
            (1, "ADVANCING", 2),
            (2, "REPEATING", 3),
            (3, "REPEATING", 4),
            (4, "STALLED", 5),
        ]
        assert all(r["tool_name"] == "Read" for r in rows)

    def test_policy_flag_and_workspace_policy(self, sockdir: Path, tmp_path: Path) -> None:
        for n in range(3):
            run_shim(read_event(tmp_path, n), sockdir / "none.sock")
        log = str(session_log(tmp_path))
        policy = tmp_path / "other.toml"
        policy.write_text("[tool_stream]\nrepeat_n = 2\nstall_n = 3\n")
        rows = [
            json.loads(x)
            for x in streamd("replay", log, "--json", "--policy", str(policy)).stdout.splitlines()
        ]
        assert [r["state"] for r in rows] == ["ADVANCING", "REPEATING", "STALLED"]
        (tmp_path / "dos.toml").write_text("[tool_stream]\nignore_tools = 'read'\n")
        rows = [json.loads(x) for x in streamd("replay", log, "--json").stdout.splitlines()]
        assert {r["state"] for r in rows} == {"ADVANCING"}

    def test_errors_say_what_to_do(self, tmp_path: Path) -> None:
        missing = streamd("replay", str(tmp_path / "none.jsonl"))
        assert missing.returncode == 1 and "no such file" in missing.stderr
        log = tmp_path / "s.jsonl"
        log.write_text("")
        bad = tmp_path / "bad.toml"
        bad.write_text("[tool_stream]\nstall_n = 1\n")
        done = streamd("replay", str(log), "--policy", str(bad))
        assert done.returncode == 1 and str(bad) in done.stderr and "stall_n" in done.stderr


class TestDemo:
    def test_shows_the_loop_being_caught(self) -> None:
        done = streamd("demo")
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("REPEATING:") == 2 and done.stdout.count("STALLED:") == 1
        assert "FAILED test_app.py::test_total" in done.stdout
        assert "The session log holds 8 records" in done.stdout


class TestLightClient:
    """The operator command is a light client: it imports neither the daemon nor anyio
    unless it serves."""

    WATCH = (
        "import atexit, sys\n"
        "def report():\n"
        "    heavy = sorted(m for m in sys.modules\n"
        "                   if m == 'anyio' or m.startswith('streamd.daemon'))\n"
        "    print('HEAVY', heavy, file=sys.stderr)\n"
        "atexit.register(report)\n"
        "from streamd.client import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    @pytest.mark.parametrize(
        "argv",
        [["--help"], ["--version"], ["status"], ["hook", "status"], ["replay", "--help"]],
    )
    def test_imports_neither_the_daemon_nor_anyio(self, argv: list[str], tmp_path: Path) -> None:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                self.WATCH,
                *argv,
                *(["--socket", str(tmp_path / "s")] if argv[0] == "status" else []),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(tmp_path)},
            timeout=60,
        )
        assert "HEAVY []" in done.stderr, done.stderr

    def test_serve_does_import_the_daemon(self, tmp_path: Path) -> None:
        """The watch above can see the daemon: ``serve`` imports it (and fails fast on a
        socket path it may not use)."""
        bad = tmp_path / "file"
        bad.write_text("")
        done = subprocess.run(
            [sys.executable, "-c", self.WATCH, "serve", "--socket", str(bad)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "'anyio'" in done.stderr and "'streamd.daemon'" in done.stderr

    def test_version_is_the_packages(self) -> None:
        from importlib.metadata import version

        done = streamd("--version")
        assert done.returncode == 0 and done.stdout == f"streamd {version('streamd')}\n"
