"""The circuit breaker through the real hook: the daemon and the fallback stop alike, a
failing loop is stopped after its batch, and a stop survives a daemon restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..harness import DaemonProcess, raw_records, run_shim

pytestmark = pytest.mark.process

SESSION = "sess-b"


def failing(workspace: Path, n: int) -> dict[str, Any]:
    return {
        "session_id": SESSION, "cwd": str(workspace), "tool_use_id": f"toolu_{n}",
        "hook_event_name": "PostToolUseFailure", "tool_name": "Bash",
        "tool_input": {"command": "make"}, "error": "Exit code 2\nmake: *** [all] Error 2",
        "is_interrupt": False,
    }  # fmt: skip


def batch(workspace: Path) -> dict[str, Any]:
    return {"session_id": SESSION, "cwd": str(workspace), "hook_event_name": "PostToolBatch",
            "tool_calls": []}  # fmt: skip


def arm(workspace: Path, table: str = "stop_at = 4") -> None:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "dos.toml").write_text(f"[streamd.breaker]\n{table}\n")


def play(workspace: Path, sock: Path, calls: range) -> list[tuple[bytes, bytes]]:
    """Each failing call, then the batch event Claude Code sends after it."""
    return [
        (run_shim(failing(workspace, n), sock).stdout, run_shim(batch(workspace), sock).stdout)
        for n in calls
    ]


def stopped(output: bytes) -> bool:
    return bool(output) and json.loads(output).get("continue") is False


class TestBreaker:
    def test_the_daemon_and_the_fallback_stop_alike(
        self, daemon: DaemonProcess, tmp_path: Path, sockdir: Path
    ) -> None:
        served, alone = tmp_path / "served", tmp_path / "alone"
        arm(served)
        arm(alone)
        by_daemon = play(served, daemon.socket_path, range(6))
        by_fallback = play(alone, sockdir / "absent.sock", range(6))
        assert by_daemon == by_fallback
        assert raw_records(served, SESSION) != [] and [
            {k: v for k, v in r.items() if k != "ts"} for r in raw_records(served, SESSION)
        ] == [{k: v for k, v in r.items() if k != "ts"} for r in raw_records(alone, SESSION)]
        # A failing call's answer cannot stop Claude Code; the batch after it does.
        assert [stopped(step) for step, _ in by_daemon] == [False] * 6
        assert [stopped(after) for _, after in by_daemon] == [False] * 3 + [True] * 3
        reason = json.loads(by_daemon[3][1])["stopReason"]
        assert "circuit breaker stopped the agent" in reason and "`Bash`" in reason
        assert "remove [streamd.breaker]" in reason
        stops = [r.get("streamd_stop") for r in raw_records(served, SESSION)]
        assert stops[:3] == [None] * 3 and stops[3] == {"rule": "exact", "count": 4}
        assert daemon.status().sessions[0].stopped

    def test_advice_gets_firmer_before_the_stop(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        arm(tmp_path)
        third = play(tmp_path, daemon.socket_path, range(3))[2][0]
        context = json.loads(third)["hookSpecificOutput"]["additionalContext"]
        assert "this loop is at 3 of 4" in context and "Change course now" in context

    def test_a_succeeding_loop_is_stopped_by_its_own_answer(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        arm(tmp_path, "stop_at = 3")
        outs = []
        for n in range(3):
            event = {**failing(tmp_path, n), "hook_event_name": "PostToolUse",
                     "tool_response": {"stdout": "same", "stderr": ""}}  # fmt: skip
            outs.append(run_shim(event, daemon.socket_path).stdout)
        assert [stopped(o) for o in outs] == [False, False, True]
        assert json.loads(outs[2])["hookSpecificOutput"]["additionalContext"]

    def test_the_budget_counts_calls_inside_loops(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        arm(tmp_path, "budget = 4")
        after = [a for _, a in play(tmp_path, daemon.socket_path, range(5))]
        assert [stopped(a) for a in after] == [False, False, False, True, True]
        assert [r.get("streamd_loops") for r in raw_records(tmp_path, SESSION)] == [
            None, None, 3, 4, 5,
        ]  # fmt: skip

    def test_a_stop_survives_a_daemon_restart(
        self, daemon: DaemonProcess, tmp_path: Path, sockdir: Path
    ) -> None:
        """The budget spans the session: a loop long before the restart still counts,
        although the new daemon reads only the log's tail."""
        arm(tmp_path, "budget = 6")
        play(tmp_path, daemon.socket_path, range(4))  # 4 calls inside a loop
        for n in range(4, 44):  # then progress, past what a tail fold reads: each call new
            event = {
                **failing(tmp_path, n),
                "hook_event_name": "PostToolUse",
                "tool_input": {"command": f"make step{n}"},
                "tool_response": f"ok {n}",
            }
            run_shim(event, daemon.socket_path)
        daemon.kill()
        fresh = DaemonProcess(sockdir / "fresh.sock").start()
        try:
            after = []
            for n in range(44, 47):  # another loop: 3 more calls make 7 of 6
                event = {**failing(tmp_path, n), "tool_input": {"command": "make other"}}
                run_shim(event, fresh.socket_path)
                after.append(run_shim(batch(tmp_path), fresh.socket_path).stdout)
        finally:
            fresh.kill()
        assert [stopped(a) for a in after] == [False, False, True]

    def test_off_by_default(self, daemon: DaemonProcess, tmp_path: Path) -> None:
        assert not any(stopped(a) for _, a in play(tmp_path, daemon.socket_path, range(8)))
        assert all("streamd_stop" not in r for r in raw_records(tmp_path, SESSION))


class TestWhatIf:
    """``replay`` and ``report`` show where a breaker would have stopped each session."""

    def test_replay_marks_the_stop(self, sockdir: Path, tmp_path: Path) -> None:
        arm(tmp_path)
        play(tmp_path, sockdir / "absent.sock", range(6))
        log = tmp_path / ".dos" / "streams" / f"{SESSION}.jsonl"
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "replay", str(log)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        marked = [line for line in done.stdout.splitlines() if "breaker stops" in line]
        assert len(marked) == 1 and marked[0].split()[0] == "3"
        assert "would have stopped this session at step 3" in done.stdout

    def test_report_says_how_many_sessions_would_have_stopped(self, tmp_path: Path) -> None:
        looping = [{"action": "python run.py", "observation": "same"} for _ in range(9)]
        calm = [{"action": f"cat f{n}", "observation": f"{n}"} for n in range(9)]
        (tmp_path / "a.traj").write_text(json.dumps({"trajectory": looping}))
        (tmp_path / "b.traj").write_text(json.dumps({"trajectory": calm}))
        argv = [sys.executable, "-m", "streamd.client", "report", str(tmp_path), "--stop-at", "4"]
        text = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        found = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=60)
        breaker = json.loads(found.stdout)["breaker"]
        assert breaker == {"stop_at": 4, "budget": None, "sessions_stopped": 1, "calls_saved": 5}
        assert "1 session would have stopped, saving about 5 calls" in text.stdout


@pytest.mark.parametrize("with_daemon", [True, False])
def test_a_batch_before_any_step_makes_no_log(
    daemon: DaemonProcess, sockdir: Path, tmp_path: Path, with_daemon: bool
) -> None:
    """Claude Code sends PostToolBatch for refused calls too, which no step records."""
    sock = daemon.socket_path if with_daemon else sockdir / "absent.sock"
    done = run_shim(batch(tmp_path), sock)
    assert (done.returncode, done.stdout) == (0, b"")
    assert not (tmp_path / ".dos").exists()
