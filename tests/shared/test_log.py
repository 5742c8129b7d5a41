from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamd.shared import (
    Record,
    Step,
    UnsafeLogPath,
    encode_record,
    iter_records_backwards,
    log_path,
    open_locked,
    open_log,
    parse_line,
    read_records,
)

STEP = Step("Read", "a" * 16, "r" * 16)


def line(**fields: object) -> bytes:
    base: dict[str, object] = {
        "schema": {"family": "tool-stream", "version": 1},
        "op": "STEP",
        "tool_name": "Read",
        "args_digest": "a" * 16,
        "result_digest": "r" * 16,
    }
    base.update(fields)
    return (json.dumps({k: v for k, v in base.items() if v is not ...}) + "\n").encode()


class TestEncodeRecord:
    def test_reference_field_set_sorted(self) -> None:
        raw = encode_record(STEP, step_index=4, ts="2026-01-01T00:00:00Z")
        assert raw.endswith(b"\n") and raw.count(b"\n") == 1
        obj = json.loads(raw)
        assert list(obj) == sorted(obj)
        assert obj == {
            "schema": {"family": "tool-stream", "version": 1},
            "op": "STEP",
            "tool_name": "Read",
            "args_digest": "a" * 16,
            "result_digest": "r" * 16,
            "step_index": 4,
            "ts": "2026-01-01T00:00:00Z",
        }

    def test_firing_fields_only_when_fired(self) -> None:
        obj = json.loads(encode_record(STEP, step_index=0, run_id="run-7"))
        assert "verdict_state" not in obj and "run_id" not in obj
        obj = json.loads(encode_record(STEP, step_index=0, verdict_state="STALLED", run_id="run-7"))
        assert (obj["verdict_state"], obj["run_id"]) == ("STALLED", "run-7")

    def test_tool_use_id_is_additive(self) -> None:
        obj = json.loads(encode_record(STEP, step_index=0, tool_use_id="toolu_9"))
        assert obj["tool_use_id"] == "toolu_9"

    def test_non_ascii_is_written_raw(self) -> None:
        raw = encode_record(Step("ünï", "a", None), step_index=0)
        assert "ünï".encode() in raw and json.loads(raw)["result_digest"] is None

    def test_unencodable_text_raises(self) -> None:
        with pytest.raises(UnicodeEncodeError):
            encode_record(Step("a\ud800", "a", None), step_index=0)

    def test_timestamp_shape(self) -> None:
        ts = json.loads(encode_record(STEP, step_index=0))["ts"]
        assert len(ts) == 20 and ts.endswith("Z") and ts[10] == "T"


class TestStreamdFields:
    def test_shape_is_written_only_where_it_differs(self) -> None:
        plain = json.loads(encode_record(Step("T", "a", "r", None), step_index=0))
        same = json.loads(encode_record(Step("T", "a", "r", "r"), step_index=0))
        noisy = json.loads(encode_record(Step("T", "a", "r", "s", "f"), step_index=0))
        assert "shape_digest" not in plain and "shape_digest" not in same
        assert (noisy["shape_digest"], noisy["failure_digest"]) == ("s", "f")

    def test_firing_round_trips(self) -> None:
        fired = {"rule": "cycle", "state": "REPEATING", "count": 6, "period": 2}
        raw = encode_record(Step("T", "a", "r", "s", "f"), step_index=4, streamd_verdict=fired)
        [record] = parse_line(raw)
        assert record.step == Step("T", "a", "r", "s", "f")
        assert (record.rule, record.rule_state, record.verdict_state) == (
            "cycle",
            "REPEATING",
            None,
        )

    def test_a_dos_kernel_record_has_no_shape_or_failure(self) -> None:
        [record] = parse_line(line())
        assert (record.step.shape_digest, record.step.failure_digest, record.rule) == (
            None,
            None,
            None,
        )

    @pytest.mark.parametrize("bad", [1, None, ["x"]])
    def test_bad_streamd_fields_are_dropped(self, bad: object) -> None:
        [record] = parse_line(
            line(shape_digest=bad, failure_digest=bad, streamd_verdict={"rule": bad})
        )
        assert (record.step.shape_digest, record.step.failure_digest, record.rule) == (
            None,
            None,
            None,
        )


class TestReader:
    def test_reads_a_plain_record(self) -> None:
        assert parse_line(line(step_index=3, verdict_state="REPEATING", tool_use_id="t")) == [
            Record(STEP, 3, "REPEATING", "t")
        ]

    @pytest.mark.parametrize(
        "raw",
        [
            b"\n",
            b"   \t \n",
            b'{"schema": {"family": "tool-stream", "version": 1}, "tool_na',  # torn
            b"[1, 2]\n",
            b"not json\n",
        ],
    )
    def test_skips_unreadable_lines(self, raw: bytes) -> None:
        assert parse_line(raw) == []

    @pytest.mark.parametrize(
        "schema",
        [{"family": "intent-ledger", "version": 1}, {"family": "tool-stream", "version": 2}, 2],
    )
    def test_skips_other_families_and_newer_versions(self, schema: object) -> None:
        assert parse_line(line(schema=schema)) == []

    @pytest.mark.parametrize(
        "schema",
        [
            ...,
            None,
            "v1",
            {"family": 3, "version": 1},
            {"family": "tool-stream", "version": 0},
            {"family": "", "version": 1},
            {"family": "tool-stream", "version": True},
            1,
            True,
        ],
    )
    def test_untagged_or_malformed_tag_reads_as_version_one(self, schema: object) -> None:
        assert parse_line(line(schema=schema)) == [Record(STEP)]

    @pytest.mark.parametrize(
        "fields", [{"tool_name": None}, {"tool_name": 3}, {"args_digest": ...}, {"args_digest": []}]
    )
    def test_skips_records_without_identity(self, fields: dict[str, object]) -> None:
        assert parse_line(line(**fields)) == []

    @pytest.mark.parametrize("value", [3, ["x"], {"a": 1}, True])
    def test_non_string_result_digest_reads_as_none(self, value: object) -> None:
        assert parse_line(line(result_digest=value))[0].step.result_digest is None

    def test_bad_optional_field_types_are_dropped(self) -> None:
        record = parse_line(line(step_index="7", verdict_state=1, tool_use_id=2))[0]
        assert record == Record(STEP)

    def test_unicode_line_separators_split_like_splitlines(self) -> None:
        raw = '{"tool_name": "a\u2028b", "args_digest": "a"}\n'.encode()  # as dos-kernel writes
        assert parse_line(raw) == []

    @pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029", "\x0b", "\x1c"])
    def test_writer_keeps_line_breaking_characters_escaped(self, char: str) -> None:
        raw = encode_record(Step(f"a{char}b", "a", None), step_index=0)
        assert raw.count(b"\n") == 1 and char.encode() not in raw
        assert parse_line(raw) == [Record(Step(f"a{char}b", "a", None), 0)]

    def test_read_records_skips_torn_tail_and_missing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "s.jsonl"
        assert read_records(str(path)) == []
        path.write_bytes(line(step_index=0) + b"\n" + b"garbage\n" + line(step_index=1) + b'{"tor')
        assert [r.step_index for r in read_records(str(path))] == [0, 1]

    @pytest.mark.parametrize("size", [1, 2, 7, 100])
    def test_backwards_iteration_matches_forwards(self, tmp_path: Path, size: int) -> None:
        import streamd.shared._log as log_module

        path = tmp_path / "s.jsonl"
        path.write_bytes(b"".join(line(step_index=i) + b"\n\n" for i in range(50)) + b"{torn")
        old = log_module._CHUNK
        log_module._CHUNK = size
        try:
            with open(path, "rb") as f:
                back = list(iter_records_backwards(f.fileno(), path.stat().st_size))
        finally:
            log_module._CHUNK = old
        assert back[::-1] == read_records(str(path))


class TestLockedLog:
    def test_append_creates_directories_and_fsyncs_one_line(self, tmp_path: Path) -> None:
        path = log_path(str(tmp_path), "s1")
        assert path == str(tmp_path / ".dos" / "streams" / "s1.jsonl")
        with open_locked(path) as log:
            log.append(b"{}\n")
            log.append(b"{}\n")
            assert log.size == 6
        assert Path(path).read_bytes() == b"{}\n{}\n"

    def test_torn_tail_is_closed_before_the_next_record(self, tmp_path: Path) -> None:
        path = tmp_path / "s.jsonl"
        path.write_bytes(line(step_index=0) + b'{"schema": {"fam')
        with open_locked(str(path)) as log:
            log.append(line(step_index=1))
        assert [r.step_index for r in read_records(str(path))] == [0, 1]

    def test_lock_is_exclusive(self, tmp_path: Path) -> None:
        path = str(tmp_path / "s.jsonl")
        with open_locked(path), pytest.raises(BlockingIOError):
            open_locked(path, blocking=False)
        open_locked(path, blocking=False).close()


class TestUtcStamp:
    def test_matches_the_reference_format_now(self) -> None:
        import datetime as dt

        from streamd.shared._record import utc_stamp

        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        stamp = dt.datetime.strptime(utc_stamp(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        after = dt.datetime.now(dt.UTC)
        assert before <= stamp <= after


class TestPrivateLogs:
    """Logs are the user's alone; no link is followed on the way to one."""

    def layout(self, tmp_path: Path) -> Path:
        return tmp_path / ".dos" / "streams" / "s.jsonl"

    def test_log_and_directories_are_created_private(self, tmp_path: Path) -> None:
        path = self.layout(tmp_path)
        os.close(open_log(str(path)))
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        assert path.parent.parent.stat().st_mode & 0o777 == 0o700

    def test_an_existing_dos_kernel_directory_is_kept(self, tmp_path: Path) -> None:
        path = self.layout(tmp_path)
        path.parent.mkdir(parents=True, mode=0o755)
        os.close(open_log(str(path)))
        assert path.exists()

    def test_a_symlinked_log_is_refused(self, tmp_path: Path) -> None:
        victim = tmp_path / "victim.txt"
        victim.write_text("keep")
        path = self.layout(tmp_path)
        path.parent.mkdir(parents=True, mode=0o700)
        path.symlink_to(victim)
        with pytest.raises(UnsafeLogPath, match="symbolic link"):
            open_log(str(path))
        assert victim.read_text() == "keep"

    @pytest.mark.parametrize("which", [".dos", ".dos/streams"])
    def test_a_symlinked_directory_is_refused(self, tmp_path: Path, which: str) -> None:
        elsewhere = tmp_path / "elsewhere"
        (elsewhere / "streams").mkdir(parents=True, mode=0o700)
        elsewhere.chmod(0o700)
        link = tmp_path / which
        link.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        link.symlink_to(elsewhere if which == ".dos" else elsewhere / "streams")
        with pytest.raises(UnsafeLogPath, match="not a directory"):
            open_log(str(self.layout(tmp_path)))
        assert not list((elsewhere / "streams").iterdir())

    def test_a_directory_others_can_write_is_refused(self, tmp_path: Path) -> None:
        path = self.layout(tmp_path)
        path.parent.mkdir(parents=True)
        path.parent.chmod(0o777)
        with pytest.raises(UnsafeLogPath, match="mode 777"):
            open_log(str(path))

    @pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory away")
    def test_a_directory_another_user_owns_is_refused(self, tmp_path: Path) -> None:
        path = self.layout(tmp_path)
        path.parent.mkdir(parents=True, mode=0o700)
        os.chown(path.parent, 65534, 65534)
        with pytest.raises(UnsafeLogPath, match="uid 65534"):
            open_log(str(path))
        assert not path.exists()


class TestShortWrites:
    @pytest.mark.process
    def test_a_full_disk_leaves_no_torn_line(self, tmp_path: Path) -> None:
        """A file-size limit makes the append write part of the record and then fail,
        as a full disk does; the part is taken back."""
        path = tmp_path / "s.jsonl"
        path.write_bytes(line(step_index=0))
        script = (
            "import os, resource, signal, sys\n"
            "from streamd.shared import open_locked, encode_record, Step\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "size = os.path.getsize(sys.argv[1])\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (size + 20, size + 20))\n"
            "with open_locked(sys.argv[1]) as log:\n"
            "    try:\n"
            "        log.append(encode_record(Step('Read', 'a' * 16, 'r' * 16), step_index=1))\n"
            "    except OSError as exc:\n"
            "        print(exc.errno)\n"
        )
        done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True)
        assert done.returncode == 0 and done.stdout.strip() == b"27", done.stderr  # EFBIG
        assert path.read_bytes() == line(step_index=0)
