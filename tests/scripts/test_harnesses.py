"""Short runs of the benchmark and fault harnesses under scripts/: their own checks
must pass. The figures they print are measured by the long runs, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def run_script(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def report(*args: str) -> dict[str, Any]:
    done = run_script(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


class TestSoak:
    def test_short_soak_verifies(self) -> None:
        data = report(
            "soak.py",
            "--seconds",
            "3",
            "--sessions",
            "8",
            "--shim-sessions",
            "1",
            "--fsync-seconds",
            "0.2",
        )
        assert data["verified"] and data["acknowledged_steps"] > 0 and data["problems"] == []

    def test_short_crash_run_loses_and_doubles_nothing(self) -> None:
        data = report(
            "soak.py", "--crash", "--seconds", "10", "--kills", "20", "--down", "2",
            "--sessions", "8", "--shim-sessions", "1", "--fsync-seconds", "0.2",
        )  # fmt: skip
        assert data["verified"] and data["kills"] >= 20 and data["fallback_answers"] > 0


class TestDaemonBench:
    def test_memory_with_many_sessions(self) -> None:
        data = report("bench_daemon.py", "memory", "--sessions", "2000")
        assert data["ok"] and data["live_sessions"] == 2000

    def test_restart_recovers_lazily(self) -> None:
        data = report(
            "bench_daemon.py", "restart", "--logs", "50", "--steps", "500", "--probe", "20"
        )
        assert data["ok"]


class TestLatencyBenches:
    def test_bench_hook_runs(self) -> None:
        done = run_script("bench_hook.py", "--runs", "5", "--go-runs", "2", "--lengths", "10,1000")
        assert done.returncode == 0, done.stderr
        assert "flatness" in done.stdout and "overall" in done.stdout

    def test_bench_tail_runs(self) -> None:
        done = run_script("bench_tail.py", "--runs", "20", "--lengths", "10,5000")
        assert done.returncode == 0 and "recover p50 ratio" in done.stdout


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("[!_]*.py")))
def test_every_script_explains_itself(script: str) -> None:
    done = run_script(script, "--help", timeout=60)
    assert done.returncode == 0 and "usage" in done.stdout
