from __future__ import annotations

import pytest
from hypothesis import given

from streamd.shared import Policy, Step, StreamState, StreamTracker, classify

from ..strategies import step_streams

A = Step("Read", "a1", "r1")
B = Step("Read", "a1", "r2")
NO_RESULT = Step("Read", "a1", None)


class TestClassify:
    def test_empty_stream_is_advancing_with_run_zero(self) -> None:
        verdict = classify([])
        assert (verdict.state, verdict.repeat_run, verdict.repeated_step) == (
            StreamState.ADVANCING,
            0,
            None,
        )

    @pytest.mark.parametrize(
        ("count", "state"),
        [
            (1, StreamState.ADVANCING),
            (2, StreamState.ADVANCING),
            (3, StreamState.REPEATING),
            (4, StreamState.REPEATING),
            (5, StreamState.STALLED),
            (9, StreamState.STALLED),
        ],
    )
    def test_identical_run_crosses_thresholds(self, count: int, state: StreamState) -> None:
        verdict = classify([A] * count)
        assert verdict.state is state
        assert verdict.repeat_run == count

    def test_repeated_step_is_named_only_when_firing(self) -> None:
        assert classify([A] * 2).repeated_step is None
        assert classify([A] * 3).repeated_step == A

    def test_different_result_breaks_the_run(self) -> None:
        assert classify([A, A, B]).repeat_run == 1
        assert classify([A, A, B, B, B]).state is StreamState.REPEATING

    def test_step_without_result_breaks_and_never_extends(self) -> None:
        assert classify([A, A, NO_RESULT]).repeat_run == 1
        assert classify([NO_RESULT] * 6).state is StreamState.ADVANCING
        assert classify([A, A, NO_RESULT, A]).repeat_run == 1

    def test_tool_name_compares_casefolded(self) -> None:
        assert classify([Step("READ", "a1", "r1"), A, Step("read", "a1", "r1")]).repeat_run == 3

    def test_ignored_tool_never_repeats(self) -> None:
        policy = Policy(ignore_tools=frozenset({"READ"}))
        verdict = classify([A] * 6, policy)
        assert (verdict.state, verdict.repeat_run) == (StreamState.ADVANCING, 1)

    def test_policy_thresholds_apply(self) -> None:
        policy = Policy(repeat_n=1, stall_n=2)
        assert classify([A], policy).state is StreamState.REPEATING
        assert classify([A, A], policy).state is StreamState.STALLED

    def test_reason_names_the_run(self) -> None:
        assert "5 times" in classify([A] * 5).reason


class TestStreamTracker:
    def test_push_returns_the_whole_stream_verdict(self) -> None:
        tracker = StreamTracker()
        states = [tracker.push(A).state for _ in range(5)]
        assert states == [StreamState.ADVANCING] * 2 + [StreamState.REPEATING] * 2 + [
            StreamState.STALLED
        ]
        assert tracker.steps == 5

    def test_peek_does_not_change_state(self) -> None:
        tracker = StreamTracker()
        tracker.push(A)
        assert tracker.peek(A).repeat_run == 2
        assert tracker.run == 1 and tracker.steps == 1

    def test_resume_continues_a_run(self) -> None:
        tracker = StreamTracker.resume(Policy(), run=4, last=A, steps=10)
        verdict = tracker.push(A)
        assert (verdict.state, verdict.repeat_run, tracker.steps) == (StreamState.STALLED, 5, 11)

    @given(step_streams)
    def test_incremental_equals_whole_stream(self, stream: list[Step]) -> None:
        for policy in (Policy(), Policy(repeat_n=2, stall_n=2, ignore_tools=frozenset({"bash"}))):
            tracker = StreamTracker(policy)
            for i, step in enumerate(stream):
                assert tracker.push(step) == classify(stream[: i + 1], policy)
            assert tracker.verdict() == classify(stream, policy)
            assert tracker.run == (classify(stream, policy).repeat_run if stream else 0)
