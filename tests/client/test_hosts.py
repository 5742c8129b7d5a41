"""Every host's real-shaped events through the real shim and daemon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..harness import DaemonProcess, records, run_shim

pytestmark = pytest.mark.process


def codex_event(ws: Path, n: int) -> dict[str, Any]:
    return {
        "session_id": "019a4c2e-codex",
        "transcript_path": None,
        "cwd": str(ws),
        "hook_event_name": "PostToolUse",
        "model": "gpt-5-codex",
        "turn_id": f"turn-{n}",
        "tool_name": "Bash",
        "tool_input": {"command": "cat build/status.txt"},
        "tool_response": "build: pending\n",
        "tool_use_id": f"call_{n:04d}",
    }


def gemini_event(ws: Path, n: int) -> dict[str, Any]:
    return {
        "session_id": "gemini-7f3a",
        "transcript_path": "/home/u/.gemini/tmp/chats/session.json",
        "cwd": str(ws),
        "hook_event_name": "AfterTool",
        "timestamp": f"2026-11-24T07:00:{n:02d}.000Z",
        "tool_name": "read_file",
        "tool_input": {"absolute_path": str(ws / "status.txt")},
        "tool_response": {
            "llmContent": "build: pending\n",
            "returnDisplay": f"Read 1 line ({n} ms)",
        },
    }


def cursor_event(ws: Path, n: int) -> dict[str, Any]:
    return {
        "conversation_id": "c1f0-cursor",
        "generation_id": f"gen-{n}",
        "hook_event_name": "postToolUse",
        "workspace_roots": [str(ws)],
        "cursor_version": "2.0.77",
        "model": "claude-sonnet-4.5",
        "tool_name": "Shell",
        "tool_input": {"command": "cat build/status.txt"},
        "tool_output": json.dumps({"exitCode": 0, "stdout": "build: pending\n"}),
        "tool_use_id": f"tool_{n:04d}",
        "duration": 40 + n,
    }


def qwen_event(ws: Path, n: int) -> dict[str, Any]:
    return {
        "session_id": "qwen-51c2",
        "transcript_path": "/home/u/.qwen/tmp/chat.jsonl",
        "cwd": str(ws),
        "hook_event_name": "PostToolUse",
        "timestamp": f"2026-11-24T07:00:{n:02d}.000Z",
        "tool_name": "read_file",
        "tool_input": {"absolute_path": str(ws / "status.txt")},
        "tool_response": {"llmContent": "build: pending\n", "returnDisplay": ""},
        "tool_use_id": f"qwen_call_{n}",
    }


def droid_event(ws: Path, n: int) -> dict[str, Any]:
    return {
        "hookEventName": "PostToolUse",
        "sessionId": "droid-9e1",
        "transcriptPath": "/home/u/.factory/sessions/droid-9e1.jsonl",
        "cwd": str(ws),
        "permissionMode": "default",
        "tool_name": "Execute",
        "tool_input": {"command": "cat build/status.txt"},
        "tool_response": "build: pending\n",
    }


def copilot_event(ws: Path, n: int) -> dict[str, Any]:
    return {
        "sessionId": "cp-4d2",
        "timestamp": 1795600000000 + n,
        "cwd": str(ws),
        "toolName": "bash",
        "toolArgs": json.dumps({"command": "cat build/status.txt"}),
        "toolResult": {"resultType": "success", "textResultForLlm": "build: pending\n"},
    }


SESSIONS = {
    "codex": "019a4c2e-codex",
    "gemini": "gemini-7f3a",
    "cursor": "c1f0-cursor",
    "qwen": "qwen-51c2",
    "droid": "droid-9e1",
    "copilot": "cp-4d2",
}
EVENTS = {
    "codex": codex_event,
    "gemini": gemini_event,
    "cursor": cursor_event,
    "qwen": qwen_event,
    "droid": droid_event,
    "copilot": copilot_event,
}
ENDS: dict[str, dict[str, Any]] = {
    "codex": {"session_id": "019a4c2e-codex", "hook_event_name": "SessionEnd"},
    "gemini": {"session_id": "gemini-7f3a", "hook_event_name": "SessionEnd", "reason": "exit"},
    "cursor": {
        "conversation_id": "c1f0-cursor",
        "hook_event_name": "sessionEnd",
        "reason": "completed",
    },
    "qwen": {"session_id": "qwen-51c2", "hook_event_name": "SessionEnd", "reason": "exit"},
    "droid": {"sessionId": "droid-9e1", "hookEventName": "SessionEnd", "reason": "exit"},
    "copilot": {"sessionId": "cp-4d2", "timestamp": 1795600009999, "reason": "complete"},
}
ANSWERED = {
    "codex": "PostToolUse",
    "gemini": "AfterTool",
    "cursor": "postToolUse",
    "qwen": "PostToolUse",
    "droid": "PostToolUse",
}


def context_of(host: str, stdout: bytes) -> tuple[str | None, str | None]:
    """(event name answered, context text), or (None, None) for no answer."""
    if not stdout:
        return None, None
    payload = json.loads(stdout)
    if host == "cursor":
        assert list(payload) == ["additional_context"]
        return "postToolUse", payload["additional_context"]
    if host == "copilot":
        assert list(payload) == ["additionalContext"]
        return "postToolUseFailure", payload["additionalContext"]
    assert list(payload) == ["hookSpecificOutput"]
    inner = payload["hookSpecificOutput"]
    return inner["hookEventName"], inner["additionalContext"]


@pytest.mark.parametrize("host", list(ANSWERED))
class TestHostLoops:
    def test_five_call_loop_fires_at_third_and_fifth_in_the_hosts_dialect(
        self, host: str, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        outs = []
        for n in range(5):
            done = run_shim(EVENTS[host](tmp_path, n), daemon.socket_path, "--host", host)
            assert done.returncode == 0 and done.stderr == b""
            outs.append(context_of(host, done.stdout))
        expected_name = ANSWERED[host]
        assert [o[0] for o in outs] == [None, None, expected_name, expected_name, expected_name]
        assert " REPEATING:" in (outs[2][1] or "") and " STALLED:" in (outs[4][1] or "")
        assert "build: pending" in (outs[4][1] or "")
        assert len(records(tmp_path, SESSIONS[host])) == 5
        [session] = daemon.status().sessions
        assert (session.host, session.session) == (host, SESSIONS[host])

    def test_fallback_answers_the_same_in_the_hosts_dialect(
        self, host: str, daemon: DaemonProcess, tmp_path: Path, sockdir: Path
    ) -> None:
        a, b = tmp_path / "a", tmp_path / "b"
        for n in range(4):
            with_daemon = run_shim(EVENTS[host](a, n), daemon.socket_path, "--host", host)
            without = run_shim(EVENTS[host](b, n), sockdir / "none.sock", "--host", host)
            assert with_daemon.stdout.replace(str(a).encode(), b"") == without.stdout.replace(
                str(b).encode(), b""
            )
        assert context_of(host, without.stdout)[1] is not None
        assert daemon.status().steps_answered == 4  # one side was the daemon's own

    def test_session_end_prints_nothing_and_drops_the_session(
        self, host: str, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        run_shim(EVENTS[host](tmp_path, 0), daemon.socket_path, "--host", host)
        assert len(daemon.status().sessions) == 1
        end = {**ENDS[host], "cwd": str(tmp_path)}
        if host == "cursor":
            end["workspace_roots"] = [str(tmp_path)]
        done = run_shim(end, daemon.socket_path, "--host", host)
        assert (done.returncode, done.stdout) == (0, b"")
        assert daemon.status().sessions == []


def test_unknown_host_prints_nothing_and_the_daemon_says_why(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    done = run_shim(codex_event(tmp_path, 0), daemon.socket_path, "--host", "aider")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert daemon.alive() and not (tmp_path / ".dos").exists()
    assert "unknown host 'aider'" in daemon.log()


def test_copilot_records_successes_silently(daemon: DaemonProcess, tmp_path: Path) -> None:
    outs = [
        run_shim(copilot_event(tmp_path, n), daemon.socket_path, "--host", "copilot").stdout
        for n in range(5)
    ]
    assert outs == [b""] * 5 and len(records(tmp_path, "cp-4d2")) == 5


def failing(host: str, ws: Path, n: int) -> dict[str, Any]:
    """The same failure, from a different call each time, in the host's own words."""
    command = f"python build.py --attempt {n}"
    error = "Traceback (most recent call last):\n  File \"build.py\", line 3\nKeyError: 'CC'\n"
    base = {**EVENTS[host](ws, n)}
    if host == "codex":
        return {**base, "tool_input": {"command": command}, "tool_response": error}
    if host == "gemini":
        response = {"llmContent": "Error", "error": {"message": "KeyError: 'CC'", "type": "x"}}
        return {**base, "tool_input": {"command": command}, "tool_response": response}
    if host == "cursor":
        base.pop("tool_output")
        return {**base, "hook_event_name": "postToolUseFailure", "error_message": error,
                "tool_input": {"command": command}}  # fmt: skip
    if host == "copilot":
        base.pop("toolResult")
        return {**base, "toolArgs": json.dumps({"command": command}), "error": error}
    if host == "qwen":
        base.pop("tool_response")
        return {**base, "hook_event_name": "PostToolUseFailure", "error": error,
                "tool_input": {"command": command}}  # fmt: skip
    assert host == "droid"
    return {**base, "tool_input": {"command": command},
            "tool_response": {"success": False, "error": error}}  # fmt: skip


@pytest.mark.parametrize("host", ["codex", "gemini", "cursor", "copilot", "qwen", "droid"])
def test_each_hosts_failures_reach_the_failure_rule(
    host: str, daemon: DaemonProcess, tmp_path: Path
) -> None:
    outs = []
    for n in range(3):
        done = run_shim(failing(host, tmp_path, n), daemon.socket_path, "--host", host)
        assert done.returncode == 0 and done.stderr == b""
        outs.append(context_of(host, done.stdout))
    assert outs[0] == outs[1] == (None, None)
    text = outs[2][1] or ""
    assert "has failed 3 times in a row with the same error: KeyError: 'CC'" in text
    assert [r.step.failure_digest is not None for r in records(tmp_path, SESSIONS[host])] == [
        True
    ] * 3
