from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamd.shared import (
    Counts,
    Detector,
    FailureSettings,
    Policy,
    Step,
    encode_record,
    read_records,
    recover,
)

from ..strategies import rich_streams

A = Step("Read", "a1", "r1")
B = Step("Bash", "a2", "r2")
POLICIES = [
    Policy(),
    Policy(repeat_n=2, stall_n=3, ignore_tools=frozenset({"bash"})),
    Policy(
        rules=("exact", "failure", "cycle"),
        settings={"failure": FailureSettings(gap=2), "cycle": Counts(2, 5)},
    ),
]


def write_log(path: Path, stream: list[Step], ids: list[str | None] | None = None) -> None:
    with open(path, "ab") as f:
        for i, step in enumerate(stream):
            f.write(encode_record(step, step_index=i, tool_use_id=ids[i] if ids else None))


def full_replay(path: Path, policy: Policy) -> Detector:
    detector = Detector(policy)
    for record in read_records(str(path)):
        detector.push(record.step)
    return detector


FOREIGN = [
    b"\n",
    b"garbage\n",
    b'{"schema": {"family": "lane-journal", "version": 1}, "tool_name": "X", "args_digest": "y"}\n',
    b'{"schema": {"family": "tool-stream", "version": 9}, "tool_name": "X", "args_digest": "y"}\n',
    b'{"tool_name": 1}\n',
]


@st.composite
def logs(draw: st.DrawFn) -> tuple[list[bytes], bool]:
    """Lines of a log written by a correct writer, with foreign lines mixed in."""
    stream = draw(rich_streams)
    lines: list[bytes] = []
    for index, step in enumerate(stream):
        lines.extend(draw(st.lists(st.sampled_from(FOREIGN), max_size=2)))
        lines.append(encode_record(step, step_index=index, tool_use_id=f"t{index}"))
    torn = draw(st.booleans())
    if torn and lines:
        cut = draw(st.integers(1, max(1, len(lines[-1]) - 2)))
        lines[-1] = lines[-1][:cut]
    return lines, torn


class TestRecover:
    def test_absent_log_is_empty(self, tmp_path: Path) -> None:
        recovery = recover(str(tmp_path / "none.jsonl"), Policy())
        assert (recovery.detector.steps, recovery.detector.exact.run, recovery.size) == (0, 0, 0)

    def test_recovers_run_last_step_and_next_index(self, tmp_path: Path) -> None:
        path = tmp_path / "s.jsonl"
        write_log(path, [B, A, A, A])
        detector = recover(str(path), Policy()).detector
        assert (detector.exact.run, detector.exact.last, detector.steps) == (3, A, 4)
        assert detector.push(A).repeat_run == 4

    def test_index_without_step_index_counts_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "s.jsonl"
        record = {"tool_name": "Read", "args_digest": "a1", "result_digest": "r1"}
        path.write_text((json.dumps(record) + "\n") * 7)
        detector = recover(str(path), Policy()).detector
        assert (detector.steps, detector.exact.run) == (7, 7)

    def test_finds_an_already_recorded_call(self, tmp_path: Path) -> None:
        path = tmp_path / "s.jsonl"
        write_log(path, [A, A, A, B], ["t0", "t1", "t2", "t3"])
        recorded = recover(str(path), Policy(), tool_use_id="t2").recorded
        assert recorded is not None and recorded.repeat_run == 3 and recorded.fired
        assert recover(str(path), Policy(), tool_use_id="t9").recorded is None

    def test_reads_only_the_tail_of_a_long_log(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "s.jsonl"
        write_log(path, [B] * 20000 + [A, A])
        reads: list[int] = []
        real = os.pread

        def counting(fd: int, n: int, off: int) -> bytes:
            reads.append(n)
            return real(fd, n, off)

        monkeypatch.setattr(os, "pread", counting)
        detector = recover(str(path), Policy(), tool_use_id="none").detector
        assert (detector.exact.run, detector.steps) == (2, 20002)
        assert sum(reads) < 64 * 1024 < path.stat().st_size

    @given(logs())
    def test_tail_recovery_equals_full_replay(self, drawn: tuple[list[bytes], bool]) -> None:
        import tempfile

        lines, _ = drawn
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "s.jsonl"
            path.write_bytes(b"".join(lines))
            for policy in POLICIES:
                full = full_replay(path, policy)
                tail = recover(str(path), policy).detector
                assert tail.snapshot() == full.snapshot()
                records = read_records(str(path))
                for i, record in enumerate(records[-5:]):
                    found = recover(str(path), policy, tool_use_id=record.tool_use_id).recorded
                    upto = (
                        records[: len(records) - 5 + i + 1]
                        if len(records) > 5
                        else records[: i + 1]
                    )
                    detector = Detector(policy)
                    verdicts = [detector.push(r.step) for r in upto]
                    assert found == verdicts[-1]
