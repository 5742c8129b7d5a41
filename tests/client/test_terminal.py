"""Nothing an agent, a transcript or a repository wrote reaches the terminal as a
control sequence: every command's output passes through one function that writes
control characters out as ``\\uXXXX``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamd.client._terminal import safe

from ..harness import DaemonProcess, read_event, run_shim

CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: put `rm -rf ~` on the clipboard
HOSTILE = CLIPBOARD + "\x9b31m" + "\b\b\u202e" + "\x7f"


def streamd(*args: str, cwd: Path | None = None, home: Path | None = None) -> str:
    env = {**os.environ, **({"HOME": str(home)} if home else {})}
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )  # fmt: skip
    return done.stdout + done.stderr


def assert_inert(out: str) -> None:
    assert not any(c in out for c in "\x1b\x07\x9b\b\u202e\x7f"), repr(out)
    assert "\\u001b]52" in out  # shown, not obeyed


class TestSafe:
    def test_control_characters_are_written_out(self) -> None:
        assert (
            safe("a\x1bb\x07\x9b\b\u202ec\x7f") == "a\\u001bb\\u0007\\u009b\\u0008\\u202ec\\u007f"
        )

    def test_text_newlines_and_tabs_pass(self) -> None:
        assert safe("é 日本\ttab\nline") == "é 日本\ttab\nline"

    def test_json_stays_json_with_the_same_meaning(self) -> None:
        text = json.dumps({"tool": HOSTILE}, ensure_ascii=False)
        assert json.loads(safe(text)) == {"tool": HOSTILE}


def transcript(path: Path) -> None:
    rows = [
        {"type": "assistant", "sessionId": "s" + HOSTILE, "cwd": "/w",
         "message": {"content": [{"type": "tool_use", "id": f"t{n}", "name": HOSTILE,
                                  "input": {"command": HOSTILE}}]}}
        for n in range(3)
    ] + [
        {"type": "user", "sessionId": "s" + HOSTILE,
         "message": {"content": [{"type": "tool_result", "tool_use_id": f"t{n}",
                                  "is_error": True, "content": "Error: " + HOSTILE}]}}
        for n in range(3)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.process
class TestCommands:
    def test_replay(self, tmp_path: Path) -> None:
        transcript(tmp_path / "s.jsonl")
        assert_inert(streamd("replay", str(tmp_path / "s.jsonl")))

    @pytest.mark.parametrize("flag", [[], ["--json"]])
    def test_report(self, flag: list[str], tmp_path: Path) -> None:
        transcript(tmp_path / "s.jsonl")
        out = streamd("report", str(tmp_path), *flag)
        assert_inert(out)
        if flag:
            assert json.loads(out)["top_sessions"][0]["session"] == "s" + HOSTILE

    def test_status(self, daemon: DaemonProcess, tmp_path: Path) -> None:
        workspace = tmp_path / ("w" + CLIPBOARD)
        event = {**read_event(workspace, 0), "tool_name": HOSTILE}
        run_shim(event, daemon.socket_path)
        assert_inert(streamd("status", "--socket", str(daemon.socket_path)))

    def test_hook_status(self, tmp_path: Path) -> None:
        config = tmp_path / ".claude" / "settings.json"
        config.parent.mkdir()
        command = f"python3 /opt/streamd/client/hook.py {CLIPBOARD}"
        config.write_text(json.dumps(
            {"hooks": {"PostToolUse": [{"hooks": [{"type": "command", "command": command}]}]}}
        ))  # fmt: skip
        assert_inert(streamd("hook", "status", cwd=tmp_path, home=tmp_path))
