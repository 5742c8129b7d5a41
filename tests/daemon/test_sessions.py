"""The session table, in-process: each step decided and appended once, the session kept
equal to a full replay of its log, recovery when someone else wrote the log."""

from __future__ import annotations

import json
from pathlib import Path

from streamd.daemon._sessions import Policies, SessionTable
from streamd.shared import (
    Detector,
    HookRequest,
    Policy,
    Target,
    handle_offline,
    read_records,
    resolve,
)


def event(workspace: Path, n: int, *, result: str = "same", session: str = "s1") -> bytes:
    body = {
        "session_id": session,
        "cwd": str(workspace),
        "hook_event_name": "PostToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": "a.py"},
        "tool_response": result,
        "tool_use_id": f"toolu_{n}",
    }
    return json.dumps(body).encode()


def target(workspace: Path, n: int, *, result: str = "same", session: str = "s1") -> Target:
    found = resolve(HookRequest(event(workspace, n, result=result, session=session), cwd="/"))
    assert found is not None
    return found


def apply(table: SessionTable, workspace: Path, n: int, **kw: str) -> bytes:
    t = target(workspace, n, **kw)
    session = table.session_for(t, "claude")
    decision = table.apply(0, (session, t, None, None))
    assert decision is not None
    return decision.answer


class TestSessionTable:
    def test_steps_are_recorded_once_and_fire_at_the_third(self, tmp_path: Path) -> None:
        table = SessionTable(lanes=1)
        answers = [apply(table, tmp_path, n) for n in range(3)]
        assert [bool(a) for a in answers] == [False, False, True]
        records = read_records(str(tmp_path / ".dos/streams/s1.jsonl"))
        assert [r.step_index for r in records] == [0, 1, 2]
        [session] = table.sessions.values()
        assert session.firings == 1 and session.last_tool == "Read"

    def test_a_repeated_call_is_answered_from_the_log(self, tmp_path: Path) -> None:
        table = SessionTable(lanes=1)
        answers = [apply(table, tmp_path, n) for n in range(3)]
        assert apply(table, tmp_path, 2) == answers[2]
        assert len(read_records(str(tmp_path / ".dos/streams/s1.jsonl"))) == 3

    def test_a_log_grown_by_another_writer_is_recovered_first(self, tmp_path: Path) -> None:
        table = SessionTable(lanes=1)
        apply(table, tmp_path, 0)
        handle_offline(HookRequest(event(tmp_path, 1), cwd="/"))  # the shim's fallback wrote it
        third = apply(table, tmp_path, 2)
        assert b"REPEATING" in third
        records = read_records(str(tmp_path / ".dos/streams/s1.jsonl"))
        assert [r.tool_use_id for r in records] == ["toolu_0", "toolu_1", "toolu_2"]

    def test_a_request_whose_client_left_is_not_applied(self, tmp_path: Path) -> None:
        table = SessionTable(lanes=1)
        apply(table, tmp_path, 0)
        t = target(tmp_path, 1)
        session = table.session_for(t, "claude")
        assert table.apply(0, (session, t, None, lambda: False)) is None
        assert len(read_records(str(tmp_path / ".dos/streams/s1.jsonl"))) == 1

    def test_a_stale_request_is_answered_from_the_log(self, tmp_path: Path) -> None:
        """Two requests queued while the fallback recorded both calls: the first one's
        recovery must not make the second look new."""
        table = SessionTable(lanes=1)
        apply(table, tmp_path, 0)
        offline = [handle_offline(HookRequest(event(tmp_path, n), cwd="/")) for n in (1, 2)]
        assert apply(table, tmp_path, 1) == offline[0]
        assert apply(table, tmp_path, 2) == offline[1]
        records = read_records(str(tmp_path / ".dos/streams/s1.jsonl"))
        assert [r.tool_use_id for r in records] == ["toolu_0", "toolu_1", "toolu_2"]

    def test_memory_equals_a_full_replay(self, tmp_path: Path) -> None:
        table = SessionTable(lanes=1)
        for n, result in enumerate(["a", "a", "b", "a", "b", "a", "b", "a", "b"]):
            apply(table, tmp_path, n, result=result)
        [session] = table.sessions.values()
        replay = Detector(Policy())
        for record in read_records(str(tmp_path / ".dos/streams/s1.jsonl")):
            replay.push(record.step)
        assert session.detector is not None
        assert session.detector.snapshot() == replay.snapshot()

    def test_idle_sessions_are_evicted_and_busy_ones_kept(self, tmp_path: Path) -> None:
        table = SessionTable(lanes=1)
        apply(table, tmp_path, 0, session="idle")
        apply(table, tmp_path, 0, session="busy")
        busy = next(s for s in table.sessions.values() if s.session == "busy")
        busy.inflight = 1
        assert table.evict_idle(0.0, now=busy.last_seen + 10) == 1
        assert [s.session for s in table.sessions.values()] == ["busy"]

    def test_open_logs_are_capped_per_lane(self, tmp_path: Path) -> None:
        table = SessionTable(lanes=1, open_logs_per_lane=2)
        for name in ("a", "b", "c"):
            apply(table, tmp_path, 0, session=name)
        assert len(table.open_logs[0]._fds) == 2
        table.open_logs[0].close_all()


class TestPolicies:
    def test_a_changed_dos_toml_is_read_again(self, tmp_path: Path) -> None:
        policies = Policies()
        assert policies.get(str(tmp_path)) == Policy()
        (tmp_path / "dos.toml").write_text("[tool_stream]\nrepeat_n = 2\n")
        assert policies.get(str(tmp_path)).repeat_n == 2

    def test_a_malformed_dos_toml_means_the_defaults(self, tmp_path: Path) -> None:
        (tmp_path / "dos.toml").write_text("[streamd]\nrules = ['nope']\n")
        assert Policies().get(str(tmp_path)) == Policy()
