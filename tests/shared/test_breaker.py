"""The circuit breaker's policy and decision, on the shared core."""

from __future__ import annotations

import json

import pytest

from streamd.shared import PolicyError, Step, StreamState, Verdict, parse_policy
from streamd.shared._answer import render_answer, render_stop
from streamd.shared._breaker import Breaker


class TestPolicy:
    def test_off_unless_written(self) -> None:
        assert parse_policy("[streamd]\nrules = ['exact']\n", source="d").breaker is None

    def test_stop_at_and_budget(self) -> None:
        policy = parse_policy("[streamd.breaker]\nstop_at = 10\nbudget = 40\n", source="d")
        assert policy.breaker == Breaker(stop_at=10, budget=40)

    @pytest.mark.parametrize(
        ("table", "message"),
        [
            ("stop_at = 0", "stop_at must be an integer of 1 or more, not 0"),
            ("stop_at = '10'", "stop_at must be an integer of 1 or more, not '10'"),
            ("budget = true", "budget must be an integer of 1 or more, not True"),
            ("stop = 3", "unknown key 'stop'"),
            ("", "needs stop_at or budget"),
        ],
    )
    def test_a_malformed_table_names_the_file_and_key(self, table: str, message: str) -> None:
        with pytest.raises(PolicyError) as caught:
            parse_policy(f"[streamd.breaker]\n{table}\n", source="/p/dos.toml")
        assert str(caught.value).startswith("/p/dos.toml: [streamd.breaker]")
        assert message in str(caught.value)


class TestStopAnswers:
    """Where each host can stop the agent, the breaker's answer does so in its dialect."""

    def verdict(self) -> Verdict:
        step = Step("Bash", "a" * 16, "r" * 16)
        return Verdict(StreamState.REPEATING, 4, step, "x", "exact")

    @pytest.mark.parametrize(
        ("host", "event", "stops"),
        [
            ("claude", "PostToolUse", True),
            ("claude", "PostToolUseFailure", False),  # Claude Code ignores it there
            ("gemini", "AfterTool", True),
            ("droid", "PostToolUse", True),
            ("codex", "PostToolUse", False),  # ignored by Codex: advice only
            ("qwen", "PostToolUse", False),
            ("cursor", "postToolUse", False),
        ],
    )
    def test_the_stop_goes_where_the_host_honours_it(
        self, host: str, event: str, stops: bool
    ) -> None:
        out = render_answer(
            self.verdict(), event_name=event, result="same", host=host, stop="stopped: x"
        )
        payload = json.loads(out)
        assert (payload.get("continue") is False) == stops
        assert ("stopReason" in payload) == stops

    def test_after_a_batch_only_claude_code_is_stopped(self) -> None:
        assert json.loads(render_stop("r", event_name="PostToolBatch", host="claude")) == {
            "continue": False,
            "stopReason": "r",
        }
        assert render_stop("r", event_name="PostToolUse", host="codex") == b""
