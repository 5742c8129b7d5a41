"""Agents' transcripts read as the events the live hook would have received, and
``streamd report`` over them: fixtures written here, in each format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from streamd.client._report import as_json, build
from streamd.shared import (
    Detector,
    HookRequest,
    Policy,
    adapt_event,
    detect,
    handle_offline,
    hosts,
    read_records,
)
from streamd.shared import read_transcript as read

BASH_RESULT = {"stdout": "FAILED test_x\n", "stderr": "", "interrupted": False, "isImage": False}


def claude_session(path: Path, *, calls: int = 3, broken: bool = False) -> list[dict[str, Any]]:
    """A Claude Code session file with ``calls`` identical Bash calls, and the hook events
    Claude Code sends for them."""
    lines: list[dict[str, Any]] = [
        {
            "type": "user",
            "sessionId": "s-1",
            "cwd": "/w",
            "timestamp": "2026-11-20T10:00:00Z",
            "message": {"role": "user", "content": "run the tests"},
        },
    ]
    hooks = []
    for n in range(calls):
        use = {"type": "tool_use", "id": f"toolu_{n}", "name": "Bash",
               "input": {"command": "pytest -x"}}  # fmt: skip
        assistant = {"type": "assistant", "sessionId": "s-1", "cwd": "/w",
                     "message": {"role": "assistant", "content": [use]}}  # fmt: skip
        lines += [assistant, assistant]  # a streamed message repeats its blocks
        lines.append(
            {
                "type": "user",
                "sessionId": "s-1",
                "cwd": "/w",
                "message": {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": f"toolu_{n}",
                            "content": "FAILED test_x",
                        }
                    ],
                },
                "toolUseResult": BASH_RESULT,
            }
        )
        hooks.append(
            {
                "session_id": "s-1",
                "cwd": "/w",
                "hook_event_name": "PostToolUse",
                "tool_name": "Bash",
                "tool_input": {"command": "pytest -x"},
                "tool_response": BASH_RESULT,
                "tool_use_id": f"toolu_{n}",
            }
        )
    text = "".join(json.dumps(line) + "\n" for line in lines)
    if broken:
        text += '{"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "x", '
        text += '"name": "Read", "input": {}}]}}\n{"type": "weird-new-kind"}\n{torn'
    path.write_text(text)
    return hooks


class TestClaudeCode:
    def test_replay_digests_and_verdicts_equal_the_hooks(self, tmp_path: Path) -> None:
        transcript = tmp_path / "s-1.jsonl"
        hooks = claude_session(transcript)
        workspace = tmp_path / "ws"
        for event in hooks:
            raw = json.dumps({**event, "cwd": str(workspace)}).encode()
            handle_offline(HookRequest(raw, cwd=str(workspace)))
        logged = read_records(str(workspace / ".dos" / "streams" / "s-1.jsonl"))
        t = read(str(transcript))
        replayed = [adapt_event(e).step for e in t.events]
        assert [r.step for r in logged] == replayed
        live, offline = Detector(Policy()), Detector(Policy())
        assert [live.push(r.step).state for r in logged] == [
            offline.push(s).state for s in replayed if s is not None
        ]
        assert t.skipped == {}

    def test_malformed_lines_unknown_entries_and_lone_calls_are_counted(
        self, tmp_path: Path
    ) -> None:
        transcript = tmp_path / "s-1.jsonl"
        claude_session(transcript, broken=True)
        t = read(str(transcript))
        assert len(t.events) == 3
        assert t.skipped == {
            "unreadable line": 1,
            "entry of type 'weird-new-kind'": 1,
            "call with no result": 1,
        }

    def test_an_error_result_is_a_failure_event(self, tmp_path: Path) -> None:
        transcript = tmp_path / "e.jsonl"
        use = {"type": "tool_use", "id": "toolu_e", "name": "Edit", "input": {"old_string": "a"}}
        said = "<tool_use_error>String to replace not found</tool_use_error>"
        result = {
            "type": "tool_result",
            "tool_use_id": "toolu_e",
            "is_error": True,
            "content": said,
        }
        transcript.write_text(
            json.dumps({"type": "assistant", "sessionId": "e", "message": {"content": [use]}})
            + "\n"
            + json.dumps(
                {
                    "type": "user",
                    "sessionId": "e",
                    "message": {"content": [result]},
                    "toolUseResult": "Error: String to replace not found",
                }
            )
            + "\n"
        )
        [event] = read(str(transcript)).events
        assert event["hook_event_name"] == "PostToolUseFailure"
        assert event["error"] == "Error: String to replace not found"


def test_each_benchmark_format_is_read(tmp_path: Path) -> None:
    swe = tmp_path / "a.traj"
    swe.write_text(json.dumps({"trajectory": [
        {"action": "open f.py\n", "observation": "[File: f.py]"},
        {"action": "edit 1:1\nx\nend_of_edit\n", "observation": "File updated."},
        {"observation": "no action"},
    ]}))  # fmt: skip
    mini = tmp_path / "b.traj.json"
    mini.write_text(json.dumps({"messages": [
        {"role": "system", "content": "You are..."},
        {"role": "assistant", "content": "THOUGHT: look\n\n```bash\nls -la\n```"},
        {"role": "user", "content": "<returncode>0</returncode>\n<output>\na.py\n</output>"},
        {"role": "assistant", "content": "```bash\npython a.py\n```"},
        {"role": "user", "content": "<returncode>1</returncode>\n<output>\nKeyError\n</output>"},
    ]}))  # fmt: skip
    hands = tmp_path / "c.json"
    hands.write_text(json.dumps([
        {"id": 1, "source": "agent", "action": "run", "args": {"command": "make", "thought": "t"}},
        {"id": 2, "cause": 1, "observation": "run", "content": "Error 2",
         "extras": {"exit_code": 2}},
        {"id": 3, "source": "agent", "action": "read", "args": {"path": "/a"}},
        {"id": 4, "cause": 3, "observation": "read", "content": "x = 1", "extras": {}},
        {"id": 5, "source": "agent", "action": "message", "args": {"content": "done"}},
    ]))  # fmt: skip
    assert [detect(str(p)) for p in (swe, mini, hands)] == [
        "swe-agent",
        "mini-swe-agent",
        "openhands",
    ]
    s = read(str(swe))
    assert [e["tool_name"] for e in s.events] == ["open", "edit"]
    assert s.skipped == {"step without an action": 1}
    m = read(str(mini)).events
    assert [e["hook_event_name"] for e in m] == ["PostToolUse", "PostToolUseFailure"]
    assert m[1]["tool_input"] == {"command": "python a.py"}
    h = read(str(hands)).events
    assert [(e["tool_name"], e["hook_event_name"]) for e in h] == [
        ("run", "PostToolUseFailure"),
        ("read", "PostToolUse"),
    ]
    assert "thought" not in h[0]["tool_input"]


class TestReport:
    def test_counts_loops_calls_bytes_and_tokens(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=5)
        report = as_json(build([str(tmp_path)], Policy()), excerpts=True)
        assert (report["sessions"], report["tool_calls"], report["skipped"]) == (1, 5, 0)
        assert report["loops"] == 1 and report["loops_by_rule"] == {"exact": 1}
        assert report["calls_in_loops"] == 5
        size = len(json.dumps(BASH_RESULT, sort_keys=True).encode())
        assert report["result_bytes_in_loops"] == 5 * size
        assert report["token_estimate"] == 5 * size // 4
        [top] = report["top_sessions"]
        assert top["worst_loop"] == "`Bash` returned identical output 5 times in a row"

    @pytest.mark.process
    def test_cli_json_since_and_no_excerpts(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=4)
        (tmp_path / "notes.json").write_text('{"nothing": "here"}')

        def report(*args: str) -> dict[str, Any]:
            done = subprocess.run(
                [sys.executable, "-m", "streamd.client", "report", str(tmp_path), "--json", *args],
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stderr
            data: dict[str, Any] = json.loads(done.stdout)
            return data

        everything = report()
        for key in ("sessions", "tool_calls", "skipped", "loops", "calls_in_loops"):
            assert isinstance(everything[key], int)
        assert everything["skipped_by_reason"] == {"file in no transcript format": 1}
        assert report("--since", "2026-11-21")["sessions"] == 0
        assert report("--since", "2026-11-19")["sessions"] == 1

    @pytest.mark.process
    def test_a_missing_path_is_an_operator_error(self, tmp_path: Path) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(tmp_path / "nope")],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and "no such file or folder" in done.stderr

    @pytest.mark.process
    def test_replay_reads_a_transcript(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=3)
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "replay", str(tmp_path / "s-1.jsonl")],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert "REPEATING  exact" in done.stdout and "3 steps, 1 fired (exact 1)" in done.stdout


STATES = ("ADVANCING", "REPEATING", "STALLED")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


def png_colours(path: Path) -> int:
    """How many distinct byte values the PNG's decoded rows hold: 1 or 2 for a blank page."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (.ci/run installs Debian's)")
@pytest.mark.process
class TestHtmlPage:
    def test_the_page_renders_its_summary_and_timelines_in_chromium(self, tmp_path: Path) -> None:
        transcripts = tmp_path / "t"
        transcripts.mkdir()
        claude_session(transcripts / "s-1.jsonl", calls=6)
        page = tmp_path / "report.html"
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(transcripts),
             "--html", str(page)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        text = page.read_text()
        assert "http://" not in text and "https://" not in text and "<script" not in text
        assert "FAILED test_x" in text  # the excerpt, in the hover text
        profile = tmp_path / "profile"
        common = [CHROMIUM or "", *HEADLESS, f"--user-data-dir={profile}"]
        dom = subprocess.run(
            [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
        )
        assert dom.returncode == 0, dom.stderr
        assert 'id="summary"' in dom.stdout and "What streamd would have caught" in dom.stdout
        cells = {s: dom.stdout.count(f'<span class="{s}" title=') for s in STATES}
        assert cells == {"ADVANCING": 2, "REPEATING": 2, "STALLED": 2}
        assert "CONSOLE" not in dom.stderr and "Failed to load resource" not in dom.stderr
        shot = tmp_path / "page.png"
        subprocess.run(
            [*common, "--window-size=900,600", f"--screenshot={shot}", page.as_uri()],
            capture_output=True,
            timeout=120,
        )
        assert png_colours(shot) > 10

    def test_no_excerpts_leaves_every_result_out(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=3)
        page = tmp_path / "report.html"
        subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(tmp_path / "s-1.jsonl"),
             "--html", str(page), "--no-excerpts"],
            capture_output=True,
        )  # fmt: skip
        text = page.read_text()
        assert "FAILED test_x" not in text and "pytest -x" not in text
        assert "no arguments or result text" in text


def test_leaving_out_shapes_no_rule_could_compare_changes_no_verdict() -> None:
    """The report computes a result's shape only where its call recurs within five steps;
    every verdict must equal the one from shapes everywhere."""
    import random

    from streamd.client._report import analyze
    from streamd.shared import Transcript

    rng = random.Random(3)
    events = []
    for n in range(400):
        call = rng.choice(["a", "b", "c", f"u{n}"])
        events.append(
            {"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Bash",
             "tool_input": {"command": call},
             "tool_response": f"{rng.choice(['ok', 'FAILED x'])} in 0.{rng.randint(1, 9)}s"}
        )  # fmt: skip
    t = Transcript("p", "claude", "s", events)
    fast = analyze(t, Policy(), keep_steps=True).steps
    detector = Detector(Policy())
    full = [detector.push(adapt_event(e).step).state.value for e in events]  # type: ignore[arg-type]
    assert [call.state for call in fast] == full
    assert "REPEATING" in full


def test_codex_rollouts_and_gemini_chats_are_read(tmp_path: Path) -> None:
    codex = tmp_path / "rollout-2026-11-20T10-00-00-abc.jsonl"
    rows = [
        {"timestamp": "2026-11-20T10:00:00Z", "type": "session_meta",
         "payload": {"id": "019a-codex", "cwd": "/w", "cli_version": "0.169.0"}},
        {"timestamp": "2026-11-20T10:00:01Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "call_id": "call_1",
                     "arguments": json.dumps({"command": ["bash", "-lc", "cat missing.txt"]})}},
        {"timestamp": "2026-11-20T10:00:02Z", "type": "response_item",
         "payload": {"type": "function_call_output", "call_id": "call_1",
                     "output": json.dumps({"output": "cat: missing.txt: No such file",
                                           "metadata": {"exit_code": 1}})}},
        {"timestamp": "2026-11-20T10:00:03Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "call_id": "call_2",
                     "arguments": json.dumps({"command": ["bash", "-lc", "ls"]})}},
        {"timestamp": "2026-11-20T10:00:04Z", "type": "response_item",
         "payload": {"type": "function_call_output", "call_id": "call_2",
                     "output": "Exit code: 0\nWall time: 0.1 seconds\nOutput:\na.py\n"}},
        {"timestamp": "2026-11-20T10:00:05Z", "type": "event_msg", "payload": {"type": "x"}},
    ]  # fmt: skip
    codex.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gemini = tmp_path / "session-2026-11-20T10-00-3b44bc68.json"
    gemini.write_text(json.dumps({
        "sessionId": "gem-1", "projectHash": "abc", "startTime": "2026-11-20T10:00:00Z",
        "messages": [
            {"id": "1", "type": "user", "content": "read it"},
            {"id": "2", "type": "gemini", "content": "", "toolCalls": [
                {"id": "c1", "name": "read_file", "args": {"absolute_path": "/w/a"},
                 "status": "success", "result": [{"functionResponse": {
                     "id": "c1", "name": "read_file", "response": {"output": "x = 1"}}}]},
                {"id": "c2", "name": "read_file", "args": {"absolute_path": "/w/b"},
                 "status": "error", "result": [{"functionResponse": {
                     "id": "c2", "name": "read_file", "response": {"error": "File not found"}}}]},
                {"id": "c3", "name": "run_shell_command", "args": {}, "status": "cancelled"},
            ]},
        ],
    }))  # fmt: skip
    assert (detect(str(codex)), detect(str(gemini))) == ("codex", "gemini")
    c = read(str(codex))
    assert c.session == "019a-codex" and c.skipped == {}
    assert [e["hook_event_name"] for e in c.events] == ["PostToolUseFailure", "PostToolUse"]
    assert c.events[0]["error"] == "cat: missing.txt: No such file"
    assert c.events[1]["tool_input"] == {"command": ["bash", "-lc", "ls"]}
    g = read(str(gemini))
    assert g.session == "gem-1" and g.skipped == {"call with no result": 1}
    # Read into the events Gemini's hook sends, through its host module's own mapping.
    assert [(e["hook_event_name"], e["tool_name"]) for e in g.events] == [
        ("PostToolUse", "read_file"),
        ("PostToolUse", "read_file"),
    ]
    assert g.events[0]["tool_response"] == {"llmContent": "x = 1"}
    gemini_host = hosts.get("gemini")
    failures = [adapt_event(e, host=gemini_host).failure for e in g.events]
    assert failures == [None, "File not found"]
