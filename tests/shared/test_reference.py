"""Differential tests: the same events through dos-kernel (the reference, in-process)
and through streamd give equal digests, verdicts, run lengths and log records, and each
side reads the other's logs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from streamd.shared import (
    HookRequest,
    Policy,
    Step,
    StreamTracker,
    adapt_event,
    classify,
    handle_offline,
    read_records,
)

from ..strategies import event_sessions, hook_events, json_values

posttool_sensor = pytest.importorskip("dos.posttool_sensor")
tool_stream = pytest.importorskip("dos.tool_stream")

EXACT_ONLY = '[streamd]\nrules = ["exact"]\n'
SMALL = '[tool_stream]\nrepeat_n = 2\nstall_n = 4\nignore_tools = ["bash"]\n'
# With only the exact rule streamd answers as dos-kernel does; with all its rules its
# records still carry dos-kernel's fields with dos-kernel's values.
POLICIES = {
    EXACT_ONLY: (Policy(rules=("exact",)), tool_stream.StreamPolicy()),
    SMALL + EXACT_ONLY: (
        Policy(2, 4, frozenset({"bash"}), rules=("exact",)),
        tool_stream.StreamPolicy(repeat_n=2, stall_n=4, ignore_tools=frozenset({"bash"})),
    ),
    "": (Policy(), tool_stream.StreamPolicy()),
}
STREAMD_FIELDS = (
    "tool_use_id",
    "shape_digest",
    "failure_digest",
    "streamd_verdict",
    "streamd_loops",
    "streamd_stop",
    "streamd_artifact",
    "call_digest",
    "streamd_writes",
)
"""streamd's own, additive fields: dos-kernel's reader ignores them."""


def reference_hook(event: dict[str, Any], path: Path, policy: Any, run_id: str | None) -> Any:
    """dos-kernel's cmd_hook_posttool, step 3 to 5, in-process."""
    step = posttool_sensor.step_from_event(event)
    if step is None:
        return None
    prior = posttool_sensor.read_stream("", path=path)
    verdict = tool_stream.classify_stream(tool_stream.ToolStream((*prior.steps, step)), policy)
    fired = verdict.state.value != "ADVANCING"
    try:
        posttool_sensor.append_step(
            "",
            step,
            path=path,
            run_id=run_id if fired else None,
            step_index=len(prior.steps),
            verdict_state=verdict.state.value if fired else None,
        )
    except UnicodeEncodeError:
        return None
    return verdict


def comparable(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        if line.strip():
            obj = json.loads(line)
            obj.pop("ts")
            for name in STREAMD_FIELDS:
                obj.pop(name, None)
            out.append(obj)
    return out


class TestDigests:
    @given(hook_events())
    def test_step_from_event_matches(self, event: dict[str, Any]) -> None:
        raw = json.loads(json.dumps(event))
        ours = adapt_event(raw).step
        ref = posttool_sensor.step_from_event(raw)
        if ref is None:
            assert ours is None
        else:
            assert ours is not None
            assert (ours.tool_name, ours.args_digest, ours.result_digest) == (
                ref.tool_name,
                ref.args_digest,
                ref.result_digest,
            )

    @given(json_values, json_values)
    def test_any_json_input_and_result_match(self, tool_input: Any, result: Any) -> None:
        event = {"tool_name": "T", "tool_input": tool_input, "tool_response": result}
        ours = adapt_event(event).step
        ref = posttool_sensor.step_from_event(event)
        assert ours is not None
        assert (ours.args_digest, ours.result_digest) == (ref.args_digest, ref.result_digest)


class TestKnownDivergence:
    def test_line_separator_in_a_tool_name(self, tmp_path: Path) -> None:
        """dos-kernel writes U+2028 raw and its own reader then splits the record and
        loses it; streamd escapes it, so both readers keep the step."""
        event = {"session_id": "s", "tool_name": "a\u2028b", "tool_response": "x"}
        raw = json.dumps(event).encode()
        handle_offline(HookRequest(raw, cwd=str(tmp_path), workspace=str(tmp_path)))
        ref_path = tmp_path / "ref.jsonl"
        reference_hook(json.loads(raw), ref_path, tool_stream.StreamPolicy(), None)
        ours_path = tmp_path / ".dos" / "streams" / "s.jsonl"
        assert posttool_sensor.read_stream("", path=ref_path).steps == ()
        [step] = posttool_sensor.read_stream("", path=ours_path).steps
        assert step.tool_name == "a\u2028b"


class TestSessions:
    @pytest.mark.parametrize("toml", list(POLICIES))
    @given(event_sessions(tools=["Read", "Bash", "ünï", "tab\there"]))
    def test_same_events_same_verdicts_and_records(
        self, toml: str, events: list[dict[str, Any]]
    ) -> None:
        ours_policy, ref_policy = POLICIES[toml]
        with tempfile.TemporaryDirectory() as tmp:
            ws = Path(tmp)
            (ws / "dos.toml").write_text(toml)
            ref_path = ws / "ref.jsonl"
            ours_path = ws / ".dos" / "streams" / "s-1.jsonl"
            for event in events:
                raw = json.dumps(event).encode()
                answer = handle_offline(HookRequest(raw, cwd=tmp, workspace=tmp, run_id="r-1"))
                verdict = reference_hook(json.loads(raw), ref_path, ref_policy, "r-1")
                fired = verdict is not None and verdict.state.value != "ADVANCING"
                if not ours_policy.exact_only:
                    continue
                assert bool(answer) == fired
                if fired:
                    assert verdict.state.value.encode() in answer
                    assert f"{verdict.repeat_run} times".encode() in answer
            assert comparable(ours_path) == comparable(ref_path)

            ours_steps = [r.step for r in read_records(str(ours_path))]
            ref_steps = posttool_sensor.read_stream("", path=ref_path).steps
            # Each side reads the other's log.
            assert [r.step for r in read_records(str(ref_path))] == [
                Step(s.tool_name, s.args_digest, s.result_digest) for s in ours_steps
            ]
            assert posttool_sensor.read_stream("", path=ours_path).steps == ref_steps
            assert [(s.tool_name, s.args_digest, s.result_digest) for s in ref_steps] == [
                (s.tool_name, s.args_digest, s.result_digest) for s in ours_steps
            ]
            ours_verdict = classify(ours_steps, ours_policy)
            ref_verdict = tool_stream.classify_stream(tool_stream.ToolStream(ref_steps), ref_policy)
            assert (ours_verdict.state.value, ours_verdict.repeat_run) == (
                ref_verdict.state.value,
                ref_verdict.repeat_run,
            )

    @given(event_sessions(tools=["Read", "Bash"], max_size=30))
    def test_incremental_matches_reference_classifier(self, events: list[dict[str, Any]]) -> None:
        tracker = StreamTracker()
        ref_steps: list[Any] = []
        for event in events:
            ours = adapt_event(event).step
            ref = posttool_sensor.step_from_event(event)
            if ref is None:
                continue
            assert ours is not None
            ref_steps.append(ref)
            got = tracker.push(ours)
            want = tool_stream.classify_stream(tool_stream.ToolStream(tuple(ref_steps)))
            assert (got.state.value, got.repeat_run) == (want.state.value, want.repeat_run)
