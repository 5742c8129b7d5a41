from __future__ import annotations

import json

import pytest

from streamd.shared import (
    EXCERPT_LIMIT,
    Detector,
    Policy,
    Step,
    StreamTracker,
    Verdict,
    excerpt,
    hosts,
    render_answer,
)

A = Step("Read", "a1", "0123456789abcdef")


def verdict_after(count: int):  # type: ignore[no-untyped-def]
    tracker = StreamTracker()
    for _ in range(count - 1):
        tracker.push(A)
    return tracker.push(A)


class TestRenderAnswer:
    def test_advancing_prints_nothing(self) -> None:
        assert render_answer(verdict_after(2), event_name="PostToolUse", result="x") == b""

    @pytest.mark.parametrize(("count", "state"), [(3, "REPEATING"), (5, "STALLED")])
    def test_firing_prints_claude_code_context(self, count: int, state: str) -> None:
        raw = render_answer(verdict_after(count), event_name="PostToolUse", result="the value")
        assert raw.endswith(b"\n") and raw.isascii()
        payload = json.loads(raw)
        assert list(payload) == ["hookSpecificOutput"]
        inner = payload["hookSpecificOutput"]
        assert inner["hookEventName"] == "PostToolUse"
        text = inner["additionalContext"]
        for needle in (
            state,
            "`Read`",
            f"{count} times",
            "0123456789abcdef",
            "identical",
            "the value",
        ):
            assert needle in text
        assert "stop" not in text.lower()

    def test_failure_event_answers_in_its_own_name(self) -> None:
        raw = render_answer(verdict_after(3), event_name="PostToolUseFailure", result="err")
        assert json.loads(raw)["hookSpecificOutput"]["hookEventName"] == "PostToolUseFailure"

    def test_other_event_names_answer_as_post_tool_use(self) -> None:
        raw = render_answer(verdict_after(3), event_name="Weird", result="x")
        assert json.loads(raw)["hookSpecificOutput"]["hookEventName"] == "PostToolUse"

    def test_context_stays_under_the_host_cap(self) -> None:
        raw = render_answer(verdict_after(9), event_name="PostToolUse", result="x" * 10**6)
        assert len(json.loads(raw)["hookSpecificOutput"]["additionalContext"]) < 10_000


def context(verdict: Verdict, result: object, failure: str | None = None) -> str:
    raw = render_answer(verdict, event_name="PostToolUse", result=result, failure=failure)
    text: str = json.loads(raw)["hookSpecificOutput"]["additionalContext"]
    return text


class TestRuleAnswers:
    def test_failure_names_the_tool_count_and_error(self) -> None:
        detector = Detector(Policy())
        for n in range(3):
            verdict = detector.push(Step("Edit", f"a{n}", f"r{n}", None, "f"))
        error = "Syntax error\n- E999 IndentationError: expected an indented block\n"
        text = context(verdict, error, error)
        assert "`Edit` has failed 3 times in a row with the same error: " in text
        assert "E999 IndentationError: expected an indented block" in text
        assert text.count("IndentationError") == 2  # the gist, then the error itself
        assert "stop" not in text.lower()

    def test_cycle_names_the_calls_and_period(self) -> None:
        detector = Detector(Policy())
        for _ in range(3):
            detector.push(Step("Read", "a", "ra"))
            verdict = detector.push(Step("Bash", "b", "rb"))
        text = context(verdict, "the output")
        assert "the last 6 calls are the same 2 calls repeating" in text
        assert "the output" in text

    def test_noisy_says_only_noise_changed(self) -> None:
        detector = Detector(Policy())
        for n in range(3):
            verdict = detector.push(Step("Bash", "a", f"r{n}", "s"))
        text = context(verdict, "1 failed in 0.3s")
        assert "`Bash` has returned the same output for the same call 3 times" in text
        assert "noise" in text and "1 failed in 0.3s" in text


class TestExcerpt:
    def test_short_result_is_quoted_whole(self) -> None:
        assert excerpt("abc") == "abc"
        assert excerpt({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'

    def test_long_result_is_cut_at_the_limit(self) -> None:
        text = excerpt("é" * 5000)
        assert text.startswith("é" * EXCERPT_LIMIT) and "4000 more characters" in text
        assert len(text) < EXCERPT_LIMIT + 60

    def test_lone_surrogates_are_replaced(self) -> None:
        assert excerpt("a\ud800") == "a?"


class TestModelVisibleQuote:
    @pytest.mark.parametrize(
        ("host", "result", "quoted"),
        [
            (
                "claude",
                {
                    "stdout": "3 passed",
                    "stderr": "warning: x",
                    "interrupted": False,
                    "isImage": False,
                },
                "3 passed\nwarning: x",
            ),
            (
                "claude",
                {
                    "type": "text",
                    "file": {"filePath": "/a.py", "content": "x = 1\n", "numLines": 1},
                },
                "x = 1\n",
            ),
            ("gemini", {"llmContent": "build: pending", "error": None}, "build: pending"),
            ("cursor", '{"output": "built", "exitCode": 0}', "built"),
            ("codex", "plain text", "plain text"),
            ("claude", {"rows": [1, 2]}, '{"rows": [1, 2]}'),
        ],
    )
    def test_the_quote_is_what_the_hosts_model_read(
        self, host: str, result: object, quoted: str
    ) -> None:
        assert excerpt(result, host=hosts.get(host)) == quoted
