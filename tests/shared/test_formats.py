"""Reading every transcript format into the hook events the live hook receives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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

from ..transcripts import claude_session


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
            "entry of type 'future-kind' holding tool calls": 1,
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
    assert g.events[-1].get("streamd_artifact") is None  # the cancelled one had no result
    # Read into the events Gemini's hook sends, through its host module's own mapping.
    assert [(e["hook_event_name"], e["tool_name"]) for e in g.events] == [
        ("PostToolUse", "read_file"),
        ("PostToolUse", "read_file"),
    ]
    assert g.events[0]["tool_response"] == {"llmContent": "x = 1"}
    gemini_host = hosts.get("gemini")
    failures = [adapt_event(e, host=gemini_host).failure for e in g.events]
    assert failures == [None, "File not found"]


def test_a_codex_rollout_of_2025_without_the_envelope_is_read(tmp_path: Path) -> None:
    """Codex wrote its items at the top level until September 2025: a bare first line,
    state markers, then the items themselves."""
    rollout = tmp_path / "rollout-2025-08-02T10-00-00-abcd.jsonl"
    arguments = json.dumps({"command": ["bash", "-lc", "pytest -x"]})
    failed = json.dumps({"output": "1 failed", "metadata": {"exit_code": 1}})
    lines: list[dict[str, object]] = [
        {"id": "0198-legacy", "timestamp": "2025-08-02T10:00:00.000Z", "instructions": None},
        {"record_type": "state"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
    ]
    for n in range(3):
        lines.append(
            {"type": "function_call", "name": "shell", "call_id": f"c{n}", "arguments": arguments}
        )
        lines.append({"type": "function_call_output", "call_id": f"c{n}", "output": failed})
    lines.append({"record_type": "state"})
    rollout.write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert detect(str(rollout)) == "codex"
    t = read(str(rollout))
    assert t.session == "0198-legacy" and t.skipped == {}
    assert [e["hook_event_name"] for e in t.events] == ["PostToolUseFailure"] * 3


def test_a_codex_turns_token_count_goes_with_its_calls(tmp_path: Path) -> None:
    rollout = tmp_path / "rollout-2026-11-20T10-00-00-abc.jsonl"
    call = {"type": "function_call", "name": "shell", "call_id": "c1",
            "arguments": json.dumps({"command": ["bash", "-lc", "ls"]})}  # fmt: skip
    usage = {"input_tokens": 1200, "cached_input_tokens": 1000, "output_tokens": 30}
    rows = [
        {"timestamp": "2026-11-20T10:00:00Z", "type": "session_meta", "payload": {"id": "x"}},
        {"timestamp": "2026-11-20T10:00:01Z", "type": "response_item", "payload": call},
        {"timestamp": "2026-11-20T10:00:01Z", "type": "event_msg",
         "payload": {"type": "token_count", "info": {"last_token_usage": usage}}},
        {"timestamp": "2026-11-20T10:00:02Z", "type": "response_item",
         "payload": {"type": "function_call_output", "call_id": "c1", "output": "a.py"}},
    ]  # fmt: skip
    rollout.write_text("".join(json.dumps(r) + "\n" for r in rows))
    [event] = read(str(rollout)).events
    assert event["streamd_tokens"] == {"input": 200, "cache_read": 1000, "output": 30}
    assert event["timestamp"] == "2026-11-20T10:00:02Z"


def test_a_codex_calls_tokens_are_the_first_usage_after_it(tmp_path: Path) -> None:
    """Codex 0.169 writes a response's token count after the call's output: the count
    goes with the call it follows, not with the next one."""
    rollout = tmp_path / "rollout-2026-11-30T10-00-00-abc.jsonl"
    rows: list[dict[str, Any]] = [
        {"timestamp": "2026-11-30T10:00:00Z", "type": "session_meta", "payload": {"id": "x"}},
    ]
    for n in range(2):
        call = {"type": "function_call", "name": "exec_command", "call_id": f"c{n}",
                "arguments": json.dumps({"cmd": "ls"})}  # fmt: skip
        output = f"Chunk ID: a{n}\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\nx\n"
        usage = {"input_tokens": 100 + n, "cached_input_tokens": 0, "output_tokens": 1}
        rows += [
            {"timestamp": "t", "type": "response_item", "payload": call},
            {"timestamp": "t", "type": "response_item",
             "payload": {"type": "function_call_output", "call_id": f"c{n}", "output": output}},
            {"timestamp": "t", "type": "event_msg",
             "payload": {"type": "token_count", "info": {"last_token_usage": usage}}},
        ]  # fmt: skip
    rollout.write_text("".join(json.dumps(r) + "\n" for r in rows))
    events = read(str(rollout)).events
    assert [e["streamd_tokens"]["input"] for e in events] == [100, 101]
    assert [(e["tool_name"], e["tool_input"], e["tool_response"]) for e in events] == [
        ("Bash", {"command": "ls"}, "x\n")
    ] * 2  # as the hook receives exec_command: the output below the rollout's header


def test_gemini_records_are_read_as_the_cli_reads_them(tmp_path: Path) -> None:
    """Gemini CLI 0.61's JSONL: a message written again replaces itself in place, a
    ``$set`` of messages adds them, a ``$rewindTo`` takes nothing back (its calls ran);
    what hooks appended to a result is not the result."""
    path = tmp_path / "session-2026-11-30T10-00-abcd.jsonl"

    def call(n: int, output: str) -> dict[str, Any]:
        response = {"functionResponse": {"id": f"c{n}", "name": "read_file",
                                         "response": {"output": output}}}  # fmt: skip
        return {"id": f"c{n}", "name": "read_file", "args": {"file_path": "a"},
                "result": [response], "status": "success",
                "timestamp": f"2026-11-30T10:00:0{n}Z"}  # fmt: skip

    tokens = {"input": 1100, "output": 20, "cached": 1000, "thoughts": 5}
    context = "<session_context>\n- **Workspace Directories:**\n  - /src/app\n</session_context>"
    rows: list[dict[str, Any]] = [
        {"sessionId": "g-1", "projectHash": "h", "startTime": "2026-11-30T10:00:00Z"},
        {"$set": {"messages": [{"id": "u0", "type": "user", "content": [{"text": context}]}]}},
        {"id": "u1", "type": "user", "content": [{"text": "fix the build"}]},
        {"id": "m1", "type": "gemini", "content": "", "tokens": tokens, "model": "gemini-x"},
        {"id": "m1", "type": "gemini", "content": "", "tokens": tokens, "model": "gemini-x",
         "toolCalls": [call(1, "same")]},
        {"id": "m2", "type": "gemini", "content": "", "toolCalls": [
            call(2, "same\n\n<hook_context>streamd: no new information.</hook_context>")]},
        {"$rewindTo": "m2"},
        {"id": "m3", "type": "gemini", "content": "", "toolCalls": [call(3, "same")]},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    t = read(str(path))
    assert t.format == "gemini" and t.session == "g-1" and t.skipped == {}
    assert (t.project, t.prompt) == ("/src/app", "fix the build")
    assert [e["tool_response"]["llmContent"] for e in t.events] == ["same"] * 3
    assert t.events[0]["streamd_tokens"] == {"input": 100, "cache_read": 1000, "output": 25}
    assert t.events[0]["streamd_model"] == "gemini-x" and "streamd_tokens" not in t.events[1]
    assert t.started == "2026-11-30T10:00:00Z" and t.ended == "2026-11-30T10:00:03Z"
