"""The hook's offline decision (``_offline``): resolving an event, deciding from the log
alone, and properties of the whole pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from streamd.shared import HookRequest, handle_offline, read_records, resolve

from ..strategies import hostile_stdin


def event(tmp: Path, **fields: object) -> bytes:
    base: dict[str, object] = {
        "session_id": "sess-1",
        "cwd": str(tmp),
        "hook_event_name": "PostToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": "/etc/hosts"},
        "tool_response": "127.0.0.1 localhost",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


def call(tmp: Path, raw: bytes, run_id: str | None = None) -> bytes:
    return handle_offline(HookRequest(raw, cwd=str(tmp), run_id=run_id))


def workspace_of(raw: bytes, cwd: str, workspace: str | None = None) -> str:
    target = resolve(HookRequest(raw, cwd=cwd, workspace=workspace))
    assert target is not None
    return target.workspace


class TestResolve:
    def test_workspace_precedence(self, tmp_path: Path) -> None:
        raw = event(tmp_path, cwd="/from/event")
        assert workspace_of(raw, "/c", "/flag") == "/flag"
        assert workspace_of(raw, "/c") == "/from/event"
        assert workspace_of(event(tmp_path, cwd=...), "/c") == "/c"
        assert workspace_of(raw, "/c", "rel") == "/c/rel"

    def test_nothing_to_do(self, tmp_path: Path) -> None:
        for raw in (
            b"",
            b"nope",
            event(tmp_path, tool_name=...),
            event(tmp_path, session_id="../"),
        ):
            assert resolve(HookRequest(raw, cwd=str(tmp_path))) is None


class TestHandleOffline:
    def test_five_identical_reads_fire_at_third_and_fifth(self, tmp_path: Path) -> None:
        outs = [call(tmp_path, event(tmp_path, tool_use_id=f"t{i}")) for i in range(5)]
        assert outs[0] == outs[1] == b""
        assert b"REPEATING" in outs[2] and b"REPEATING" in outs[3] and b"STALLED" in outs[4]
        records = read_records(str(tmp_path / ".dos/streams/sess-1.jsonl"))
        assert [r.step_index for r in records] == [0, 1, 2, 3, 4]
        assert [r.verdict_state for r in records] == [
            None,
            None,
            "REPEATING",
            "REPEATING",
            "STALLED",
        ]

    def test_same_call_twice_is_recorded_once_and_answered_alike(self, tmp_path: Path) -> None:
        for i in range(2):
            call(tmp_path, event(tmp_path, tool_use_id=f"t{i}"))
        first = call(tmp_path, event(tmp_path, tool_use_id="t2"))
        again = call(tmp_path, event(tmp_path, tool_use_id="t2"))
        assert first == again and b"REPEATING" in first
        assert len(read_records(str(tmp_path / ".dos/streams/sess-1.jsonl"))) == 3

    def test_run_id_is_stamped_on_firings(self, tmp_path: Path) -> None:
        for _ in range(3):
            call(tmp_path, event(tmp_path), run_id="run-1")
        lines = (tmp_path / ".dos/streams/sess-1.jsonl").read_text().splitlines()
        assert ["run_id" in json.loads(x) for x in lines] == [False, False, True]

    def test_failing_command_fires(self, tmp_path: Path) -> None:
        fail = event(
            tmp_path,
            hook_event_name="PostToolUseFailure",
            tool_name="Bash",
            tool_response=...,
            error="exit 1: no such file",
        )
        outs = [call(tmp_path, fail) for _ in range(5)]
        assert [b"REPEATING" in o for o in outs] == [False, False, True, True, False]
        assert b"STALLED" in outs[4] and b'"PostToolUseFailure"' in outs[4]

    def test_session_end_prints_and_records_nothing(self, tmp_path: Path) -> None:
        raw = json.dumps({"hook_event_name": "SessionEnd", "session_id": "s", "cwd": str(tmp_path)})
        assert call(tmp_path, raw.encode()) == b""
        assert not (tmp_path / ".dos").exists()

    def test_malformed_policy_falls_back_to_defaults(self, tmp_path: Path) -> None:
        (tmp_path / "dos.toml").write_text("[tool_stream]\nrepeat_n = 'x'\n")
        outs = [call(tmp_path, event(tmp_path)) for _ in range(3)]
        assert b"REPEATING" in outs[2]

    def test_workspace_policy_applies(self, tmp_path: Path) -> None:
        (tmp_path / "dos.toml").write_text("[tool_stream]\nrepeat_n = 2\nstall_n = 2\n")
        outs = [call(tmp_path, event(tmp_path)) for _ in range(2)]
        assert b"STALLED" in outs[1]

    def test_held_lock_past_the_deadline_gives_up_quietly(self, tmp_path: Path) -> None:
        from streamd.shared import open_locked

        with open_locked(str(tmp_path / ".dos/streams/sess-1.jsonl")):
            out = handle_offline(HookRequest(event(tmp_path), cwd=str(tmp_path)), deadline=0.0)
        assert out == b""


class TestPipelineProperties:
    @given(st.data())
    def test_every_record_written_reads_back_as_its_step(self, data: st.DataObject) -> None:
        import tempfile

        from streamd.shared import DEFAULT_POLICY, Detector, decide, parse_line
        from streamd.shared._decide import TooDeep

        with tempfile.TemporaryDirectory() as tmp:
            raw = data.draw(hostile_stdin(tmp))
            try:
                target = resolve(HookRequest(raw, cwd=tmp))
            except TooDeep:  # not recorded, by the daemon and the fallback alike
                return
            if target is None or target.event.step is None:
                return
            decision = decide(Detector(DEFAULT_POLICY), target)
            if decision.record is None:  # unencodable text: nothing is written
                return
            [record] = parse_line(decision.record)
            assert record.step == target.event.step
