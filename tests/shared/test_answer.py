from __future__ import annotations

import json

import pytest

from streamd.shared import EXCERPT_LIMIT, Step, StreamTracker, excerpt, render_answer

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
