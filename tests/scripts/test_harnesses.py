"""Short runs of the benchmark and fault harnesses under scripts/: their own checks
must pass. The figures they print are measured by the long runs, not asserted here."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.process

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
        assert data["verified"] and data["problems"] == []
        assert data["daemon_answered"] > 0 and data["daemon_steps_per_s"] > 0
        assert data["answers"] == data["daemon_answered"] + data["fallback_decided"]

    def test_short_crash_run_loses_and_doubles_nothing(self) -> None:
        data = report(
            "soak.py", "--crash", "--seconds", "10", "--kills", "20", "--down", "2",
            "--sessions", "8", "--shim-sessions", "1", "--fsync-seconds", "0.2",
        )  # fmt: skip
        assert data["verified"] and data["kills"] == 20 and data["direct_fallbacks"] > 0


class TestStall:
    @pytest.mark.parametrize("mode", ["stop", "kill"])
    @pytest.mark.parametrize("ids", [True, False])
    def test_short_fault_run_loses_doubles_and_reorders_nothing(self, mode: str, ids: bool) -> None:
        args = ["stall.py", "--mode", mode, "--faults", "3", "--sessions", "2", "--writers", "2"]
        data = report(*args, *([] if ids else ["--no-ids"]))
        assert data["verified"] and data["faults"] == 3 and data["sent"] > 0
        assert data["sent"] == data["recorded"]

    @pytest.mark.skipif(os.geteuid() != 0, reason="needs root to listen as another user")
    def test_hijack_run_tells_the_stranger_nothing(self) -> None:
        data = report("stall.py", "--mode", "hijack", "--seconds", "2", "--sessions", "1")
        assert data["verified"] and data["stranger_bytes"] == 0
        assert data["stranger_connections"] == data["sent"] > 0


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

    def test_bench_report_runs(self) -> None:
        done = run_script("bench_report.py", "--megabytes", "2", "--rounds", "1")
        assert done.returncode == 0, done.stderr
        assert "ratio" in done.stdout and "tool calls" in done.stdout

    def test_bench_shape_runs(self) -> None:
        done = run_script("bench_shape.py", "--runs", "3", "--sizes", "1000,20000")
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.strip().splitlines()) == 3


def _call(tool: str, args: str, obs: str, error: bool = False) -> dict[str, Any]:
    return {"tool": tool, "args": args, "obs": obs, "error": error}


class TestEvalLoops:
    """The scorer on a corpus this test writes: one run with a labeled loop, one with
    labeled legitimate repetition, and one unlabeled run."""

    def write_corpus(self, root: Path) -> Path:
        rejected = "Syntax error\n- E999 IndentationError: expected an indented block"
        loop = [_call("open", "f.py", "content")] + [
            _call("edit", f"edit 3:{n}", rejected, True) for n in range(4, 9)
        ]
        paging = [_call("scroll_down", "", f"page {n}") for n in range(6)]
        rest = [_call("cat", "x", "same")] * 3
        runs = [
            {"id": 1, "source": "t", "file": "a", "steps": loop},
            {"id": 2, "source": "t", "file": "b", "steps": paging},
            {"id": 3, "source": "t", "file": "c", "steps": rest},
        ]
        with gzip.open(root / "trajectories.jsonl.gz", "wt") as f:
            f.writelines(json.dumps(run) + "\n" for run in runs)
        labels = [
            {
                "id": 1,
                "episodes": [{"start": 1, "detectable_from": 3, "end": 5, "kind": "same-failure"}],
                "legit": [],
            },
            {"id": 2, "episodes": [], "legit": [{"start": 0, "end": 5, "note": "new pages"}]},
        ]
        (root / "labels.jsonl").write_text("".join(json.dumps(x) + "\n" for x in labels))
        return root

    def test_scores_each_rule_and_peer(self, tmp_path: Path) -> None:
        corpus = self.write_corpus(tmp_path)
        done = run_script("eval_loops.py", "--corpus", str(corpus), "--json")
        assert done.returncode == 0, done.stderr
        lines = list(map(json.loads, done.stdout.splitlines()))
        rows = {r["detector"]: r for r in lines if r["split"] == "all"}
        first = {r["detector"]: r for r in lines if r["split"] == "first"}
        second = {r["detector"]: r for r in lines if r["split"] == "second"}
        overall = rows["streamd advice (all rules, for the model)"]
        assert first[overall["detector"]]["episodes"] == 1  # both labeled runs are first-round
        assert second[overall["detector"]]["episodes"] == 0
        assert rows["streamd notes (all rules, for people)"]["caught"] == 1
        assert (overall["caught"], overall["episodes"]) == (1, 1)
        assert overall["latency_median"] == 0 and overall["false_per_1k"] == 0
        assert overall["precision"] == 1.0
        assert rows["streamd failure"]["caught"] == 1
        assert rows["streamd exact"]["caught"] == 0
        assert rows["streamd exact"]["rest_per_1k"] == 1000 / 3
        assert rows["Goose (same tool, same error x3)"]["caught"] == 1
        assert rows["Cline (3 identical calls)"]["legit_warnings"] == 4

    def test_missing_corpus_says_what_to_pass(self, tmp_path: Path) -> None:
        done = run_script("eval_loops.py", "--corpus", str(tmp_path))
        assert done.returncode == 2 and "--corpus" in done.stderr


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("[!_]*.py")))
def test_every_script_explains_itself(script: str) -> None:
    done = run_script(script, "--help", timeout=60)
    assert done.returncode == 0 and "usage" in done.stdout
