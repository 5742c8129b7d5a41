"""streamd's rules through the real hook: the shim as a subprocess, the daemon on a
socket, and the shim's fallback with no daemon, on scenarios modelled on real runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..harness import DaemonProcess, raw_records, run_shim

pytestmark = pytest.mark.process

Scenario = list[dict[str, Any]]
SESSION = "sess-r"


def edit_rejected(n: int) -> dict[str, Any]:
    """An edit whose line range keeps missing an ``else:``: rejected the same way."""
    return {
        "hook_event_name": "PostToolUseFailure",
        "tool_name": "Edit",
        "tool_input": {"file_path": "json.py", "old_string": f"line {373 + n}", "new_string": "x"},
        "error": (
            "Your proposed edit has introduced new syntax error(s).\nERRORS:\n"
            f"- E999 IndentationError: expected an indented block (line {373 + n})\n"
            f"{373 + n}:    def as_sqlite(self, compiler, connection):\n"
        ),
    }


def failing_test_rerun(n: int) -> dict[str, Any]:
    """The same failing test, re-run: only its duration changes."""
    return {
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "pytest tests/test_json.py -x"},
        "tool_response": {
            "stdout": (
                f"F\nFAILED tests/test_json.py::test_key - KeyError\n1 failed in 0.{41 + n}s\n"
            ),
            "stderr": "",
            "interrupted": False,
            "isImage": False,
        },
    }


def lookup_cycle(n: int) -> dict[str, Any]:
    """Two retrieval calls alternating, each failing as it did the round before."""
    method = "cached_eval" if n % 2 == 0 else "MarkEvaluator._istrue"
    return {
        "hook_event_name": "PostToolUse",
        "tool_name": "search_method_in_file",
        "tool_input": {"file_name": "src/_pytest/mark/evaluate.py", "method_name": method},
        "tool_response": f"Could not find method {method} in src/_pytest/mark/evaluate.py.",
    }


def fix_without_effect(n: int) -> dict[str, Any]:
    """A test run, an edit, the test again: each edit different, the failure the same."""
    if n % 2:
        return {
            "hook_event_name": "PostToolUse",
            "tool_name": "Edit",
            "tool_input": {
                "file_path": "json.py",
                "old_string": f"v{n}",
                "new_string": f"v{n + 1}",
            },
            "tool_response": {
                "filePath": "json.py",
                "oldString": f"v{n}",
                "newString": f"v{n + 1}",
            },
        }
    return {
        "hook_event_name": "PostToolUseFailure",
        "tool_name": "Bash",
        "tool_input": {"command": "pytest tests/test_json.py -x"},
        "error": f"Exit code 1\nFAILED tests/test_json.py::test_key - KeyError: 'j'\n"
        f"1 failed in 0.{41 + n}s",
    }


SCENARIOS: dict[str, tuple[Scenario, list[str | None], str]] = {
    "failure": (
        [edit_rejected(n) for n in range(5)],
        [None, None, "REPEATING", "REPEATING", "STALLED"],
        "`Edit` has failed 3 times in a row with the same error: "
        "E999 IndentationError: expected an indented block (line N)",
    ),
    "noisy": (
        [failing_test_rerun(n) for n in range(5)],
        [None, None, "REPEATING", "REPEATING", "STALLED"],
        "`Bash` has returned the same output for the same call 3 times in a row",
    ),
    "cycle": (
        [lookup_cycle(n) for n in range(6)],
        [None, None, None, None, None, "REPEATING"],
        "the last 6 calls are the same 2 calls repeating",
    ),
    "recurrence": (
        [fix_without_effect(n) for n in range(5)],
        [None, None, None, None, "REPEATING"],
        "the same `Bash` call has failed the same way 3 times recently",
    ),
}


def only(rule: str, *workspaces: Path) -> None:
    """Each scenario runs with its rule alone: another may catch the loop first."""
    for workspace in workspaces:
        workspace.mkdir(parents=True, exist_ok=True)
        (workspace / "dos.toml").write_text(f'[streamd]\nrules = ["{rule}"]\n')


def play(scenario: Scenario, workspace: Path, socket_path: Path, start: int = 0) -> list[bytes]:
    outs = []
    for n, body in enumerate(scenario[start:], start):
        event = {"session_id": SESSION, "cwd": str(workspace), "tool_use_id": f"toolu_{n}"}
        event.update(body)
        done = run_shim(event, socket_path)
        assert done.returncode == 0 and done.stderr == b""
        outs.append(done.stdout)
    return outs


def state(out: bytes) -> str | None:
    if not out:
        return None
    text = json.loads(out)["hookSpecificOutput"]["additionalContext"]
    return "STALLED" if " STALLED:" in text else "REPEATING"


class TestRulesThroughTheHook:
    @pytest.mark.parametrize("rule", list(SCENARIOS))
    def test_daemon_and_fallback_answer_alike(
        self, rule: str, daemon: DaemonProcess, tmp_path: Path, sockdir: Path
    ) -> None:
        scenario, expected, wording = SCENARIOS[rule]
        served, alone = tmp_path / "served", tmp_path / "alone"
        only(rule, served, alone)
        by_daemon = play(scenario, served, daemon.socket_path)
        by_fallback = play(scenario, alone, sockdir / "absent.sock")
        assert daemon.status().steps_answered == len(scenario)  # the daemon's own answers
        assert by_daemon == by_fallback
        assert [state(o) for o in by_daemon] == expected
        first = next(o for o in by_daemon if o)
        assert wording in json.loads(first)["hookSpecificOutput"]["additionalContext"]
        assert raw_records(served, SESSION) == raw_records(alone, SESSION)
        fired = [r.get("streamd_verdict", {}).get("rule") for r in raw_records(served, SESSION)]
        assert [f for f in fired if f] == [rule] * sum(bool(o) for o in by_daemon)
        assert all("verdict_state" not in r for r in raw_records(served, SESSION))

    @pytest.mark.parametrize("rule", list(SCENARIOS))
    def test_fallback_takes_over_mid_loop(
        self, rule: str, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        scenario, expected, _ = SCENARIOS[rule]
        only(rule, tmp_path)
        head = play(scenario[:2], tmp_path, daemon.socket_path)
        assert daemon.status().steps_answered == 2
        daemon.kill()
        tail = play(scenario, tmp_path, daemon.socket_path, start=2)
        assert [state(o) for o in head + tail] == expected
        assert [r["step_index"] for r in raw_records(tmp_path, SESSION)] == list(
            range(len(scenario))
        )

    def test_exact_only_policy_answers_as_dos_kernel(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        (tmp_path / "dos.toml").write_text('[streamd]\nrules = ["exact"]\n')
        scenario, _, _ = SCENARIOS["failure"]
        assert play(scenario, tmp_path, daemon.socket_path) == [b""] * 5
        assert all("streamd_verdict" not in r for r in raw_records(tmp_path, SESSION))
        assert all("failure_digest" in r for r in raw_records(tmp_path, SESSION))


def reread_after_edits(n: int) -> dict[str, Any]:
    """A view of one file, re-read after each edit elsewhere: the same page each time."""
    if n % 2:
        return fix_without_effect(n)
    return {
        "hook_event_name": "PostToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": "notes.md"},
        "tool_response": {"type": "text", "file": {"filePath": "notes.md", "content": "todo"}},
    }


class TestNotesForPeople:
    def test_a_note_is_recorded_and_not_said(self, daemon: DaemonProcess, tmp_path: Path) -> None:
        only("recurrence", tmp_path)
        outs = play([reread_after_edits(n) for n in range(5)], tmp_path, daemon.socket_path)
        assert outs == [b""] * 5
        fired = raw_records(tmp_path, SESSION)[-1]["streamd_verdict"]
        assert (fired["rule"], fired["audience"]) == ("recurrence", "people")
        log = tmp_path / ".dos" / "streams" / f"{SESSION}.jsonl"
        replayed = subprocess.run(
            [sys.executable, "-m", "streamd.client", "replay", str(log)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert "recurrence*" in replayed.stdout and "a note for people" in replayed.stdout

    def test_the_model_hears_notes_when_the_policy_says_so(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        tmp_path.mkdir(exist_ok=True)
        (tmp_path / "dos.toml").write_text('[streamd]\nrules = ["recurrence"]\nmodel = "all"\n')
        outs = play([reread_after_edits(n) for n in range(5)], tmp_path, daemon.socket_path)
        assert [state(o) for o in outs] == [None, None, None, None, "REPEATING"]
