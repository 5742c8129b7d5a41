from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from streamd.shared import (
    HookEvent,
    Step,
    StreamTracker,
    UnknownHost,
    Verdict,
    adapt_event,
    hosts,
    render_answer,
)


def to_claude_shape(name: str, event: Mapping[str, object]) -> dict[str, object]:
    return hosts.get(name).to_claude_shape(event)


def adapted(name: str, event: Mapping[str, object]) -> HookEvent:
    host = hosts.get(name)
    return adapt_event(host.to_claude_shape(event), host=host)


def fired() -> Verdict:
    tracker = StreamTracker()
    for _ in range(2):
        tracker.push(Step("T", "a", "r"))
    return tracker.push(Step("T", "a", "r"))


class TestToClaudeShape:
    def test_claude_and_codex_events_pass_unchanged(self) -> None:
        event = {"session_id": "s", "tool_name": "Bash", "tool_response": {"stdout": "x"}}
        assert to_claude_shape("claude", event) == event == to_claude_shape("codex", event)

    def test_gemini_hashes_what_the_model_sees(self) -> None:
        base = {"session_id": "s", "hook_event_name": "AfterTool", "tool_name": "read_file"}
        one = adapt_event(
            to_claude_shape(
                "gemini",
                {**base, "tool_response": {"llmContent": "abc", "returnDisplay": "Read 1 line"}},
            )
        )
        two = adapt_event(
            to_claude_shape(
                "gemini",
                {
                    **base,
                    "tool_response": {"llmContent": "abc", "returnDisplay": "Read 1 line (cached)"},
                },
            )
        )
        err = adapt_event(
            to_claude_shape(
                "gemini",
                {**base, "tool_response": {"llmContent": "abc", "error": {"message": "boom"}}},
            )
        )
        assert one.step is not None and two.step is not None and err.step is not None
        assert one.step.result_digest == two.step.result_digest != err.step.result_digest
        assert one.event_name == "PostToolUse"

    def test_gemini_empty_response_is_no_result(self) -> None:
        event = {"tool_name": "t", "tool_response": {"returnDisplay": "only for the terminal"}}
        step = adapted("gemini", event).step
        assert step is not None and step.result_digest is None

    def test_cursor_session_workspace_and_result(self) -> None:
        event = {
            "conversation_id": "conv-1",
            "hook_event_name": "postToolUse",
            "workspace_roots": ["/repo"],
            "tool_name": "Shell",
            "tool_input": {"command": "ls"},
            "tool_output": '{"exitCode":0,"stdout":"a"}',
        }
        got = adapted("cursor", event)
        assert (got.session_id, got.cwd, got.event_name) == (
            "conv-1",
            "/repo",
            "PostToolUse",
        )
        claude = adapt_event(
            {
                "tool_name": "Shell",
                "tool_input": {"command": "ls"},
                "tool_response": event["tool_output"],
            }
        )
        assert got.step == claude.step  # the JSON string is hashed as the host sent it

    def test_cursor_failure_and_end(self) -> None:
        fail = {
            "conversation_id": "c",
            "hook_event_name": "postToolUseFailure",
            "tool_name": "Shell",
            "error_message": "exit 2",
        }
        got = adapted("cursor", fail)
        assert got.step is not None and got.step.result_digest is not None
        end = adapt_event(
            to_claude_shape("cursor", {"conversation_id": "c", "hook_event_name": "sessionEnd"})
        )
        assert end.is_session_end and end.session_id == "c"

    def test_unknown_host(self) -> None:
        with pytest.raises(UnknownHost, match="streamd speaks claude, codex"):
            to_claude_shape("aider", {})

    def test_copilot_camel_case_success_and_failure(self) -> None:
        ok = {
            "sessionId": "cp-1",
            "timestamp": 1700000000000,
            "cwd": "/w",
            "toolName": "bash",
            "toolArgs": '{"command": "ls"}',
            "toolResult": {"resultType": "success", "textResultForLlm": "a.py\n"},
        }
        got = adapted("copilot", ok)
        assert (got.event_name, got.session_id, got.failure) == (
            "PostToolUse",
            "cp-1",
            None,
        )
        assert got.result == "a.py\n"
        failed = {**ok, "toolResult": None, "error": "bash: nope: command not found"}
        got = adapted("copilot", failed)
        assert got.event_name == "PostToolUseFailure"
        assert got.failure == "bash: nope: command not found"
        end = adapted("copilot", {"sessionId": "cp-1", "reason": "complete"})
        assert end.is_session_end

    def test_droid_camel_case_fields_and_success_false(self) -> None:
        event = {
            "hookEventName": "PostToolUse",
            "sessionId": "d-1",
            "cwd": "/w",
            "tool_name": "Execute",
            "tool_input": {"command": "make"},
            "tool_response": {"success": False, "error": ""},
        }
        got = adapted("droid", event)
        assert got.session_id == "d-1" and got.failure is not None

    def test_cursor_exit_code_in_tool_output_is_a_failure(self) -> None:
        event = {
            "conversation_id": "c",
            "hook_event_name": "postToolUse",
            "tool_name": "Shell",
            "tool_input": {"command": "make"},
            "tool_output": json.dumps({"output": "make: *** [all] Error 2", "exitCode": 2}),
        }
        got = adapted("cursor", event)
        assert got.failure is not None and "Error 2" in got.failure
        ok = {**event, "tool_output": json.dumps({"output": "built", "exitCode": 0})}
        assert adapted("cursor", ok).failure is None


class TestRenderAnswerPerHost:
    @pytest.mark.parametrize(
        ("host", "event", "expected_name"),
        [
            ("claude", "PostToolUse", "PostToolUse"),
            ("claude", "PostToolUseFailure", "PostToolUseFailure"),
            ("codex", "PostToolUse", "PostToolUse"),
            ("gemini", "AfterTool", "AfterTool"),
            ("gemini", None, "AfterTool"),
        ],
    )
    def test_hook_specific_output(self, host: str, event: str | None, expected_name: str) -> None:
        payload = json.loads(render_answer(fired(), event_name=event, result="x", host=host))
        assert payload["hookSpecificOutput"]["hookEventName"] == expected_name
        assert "REPEATING" in payload["hookSpecificOutput"]["additionalContext"]

    def test_cursor_additional_context(self) -> None:
        payload = json.loads(
            render_answer(fired(), event_name="postToolUse", result="x", host="cursor")
        )
        assert (
            list(payload) == ["additional_context"] and "REPEATING" in payload["additional_context"]
        )

    @pytest.mark.parametrize(
        ("host", "event"),
        [("claude", "SessionEnd"), ("gemini", "SessionEnd"), ("cursor", "sessionEnd")],
    )
    def test_events_that_take_no_answer_print_nothing(self, host: str, event: str) -> None:
        assert render_answer(fired(), event_name=event, result="x", host=host) == b""

    def test_every_host_has_a_dialect(self) -> None:
        assert set(hosts.NAMES) == {
            "claude", "codex", "gemini", "cursor", "copilot", "qwen", "droid"
        }  # fmt: skip
        assert [h.name for h in hosts.every()] == list(hosts.NAMES)

    def test_copilot_answers_failures_only(self) -> None:
        assert render_answer(fired(), event_name="postToolUse", result="x", host="copilot") == b""
        raw = render_answer(fired(), event_name="postToolUseFailure", result="x", host="copilot")
        assert list(json.loads(raw)) == ["additionalContext"]

    @pytest.mark.parametrize(("host", "event"), [("qwen", "PostToolUseFailure"), ("droid", None)])
    def test_claude_dialect_hosts(self, host: str, event: str | None) -> None:
        payload = json.loads(render_answer(fired(), event_name=event, result="x", host=host))
        assert payload["hookSpecificOutput"]["hookEventName"] == (event or "PostToolUse")
