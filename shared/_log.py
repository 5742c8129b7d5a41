"""The session log: ``<workspace>/.dos/streams/<sid>.jsonl``, one record per line.

The format is dos-kernel's ``tool-stream`` family, version 1, so either tool reads the
other's logs. streamd adds optional fields: ``tool_use_id`` (its idempotency key),
``shape_digest`` (only where noise made it differ from ``result_digest``),
``failure_digest`` (a failed call's error gist) and ``streamd_verdict`` (the rule that
fired, its state, count and period). ``verdict_state`` keeps dos-kernel's meaning: the
exact rule's verdict.
Writers append one line with one ``O_APPEND`` write under an exclusive ``flock`` and
fsync before they answer. Readers skip what they cannot use: blank and torn lines,
other families, newer versions, records without a string ``tool_name``/``args_digest``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ._verdict import Step

# str.splitlines also ends a line at these, and json.dumps leaves them raw: escaped, a
# record that holds one stays on its line (dos-kernel's writer loses such a record).
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})

SCHEMA_FAMILY = "tool-stream"
SCHEMA_VERSION = 1
STREAMS_DIR = os.path.join(".dos", "streams")
_CHUNK = 8192

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; appends stay atomic
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Record:
    """One readable record of a session log."""

    step: Step
    step_index: int | None = None
    verdict_state: str | None = None
    tool_use_id: str | None = None
    rule: str | None = None
    """The streamd rule that fired at this step, if any."""
    rule_state: str | None = None


def log_path(workspace: str, session_name: str) -> str:
    return os.path.join(workspace, STREAMS_DIR, session_name + ".jsonl")


_last_stamp: tuple[int, str] = (-1, "")


def utc_stamp() -> str:
    """The record timestamp, to the second; formatted once per second."""
    global _last_stamp
    second = int(time.time())
    if _last_stamp[0] != second:
        _last_stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _last_stamp[1]


def encode_record(
    step: Step,
    *,
    step_index: int,
    verdict_state: str | None = None,
    run_id: str | None = None,
    tool_use_id: str | None = None,
    ts: str | None = None,
    streamd_verdict: dict[str, object] | None = None,
) -> bytes:
    """The line for one step. Raises ``UnicodeEncodeError`` on unencodable text, as
    dos-kernel's writer does (such a step is not recorded)."""
    record: dict[str, object] = {
        "schema": {"family": SCHEMA_FAMILY, "version": SCHEMA_VERSION},
        "op": "STEP",
        "tool_name": step.tool_name,
        "args_digest": step.args_digest,
        "result_digest": step.result_digest,
        "step_index": step_index,
        "ts": ts or utc_stamp(),
    }
    if verdict_state:
        record["verdict_state"] = verdict_state
        if run_id:
            record["run_id"] = run_id
    if tool_use_id:
        record["tool_use_id"] = tool_use_id
    if step.shape_digest is not None and step.shape_digest != step.result_digest:
        record["shape_digest"] = step.shape_digest
    if step.failure_digest is not None:
        record["failure_digest"] = step.failure_digest
    if streamd_verdict:
        record["streamd_verdict"] = streamd_verdict
    line = json.dumps(record, sort_keys=True, ensure_ascii=False).translate(_LINE_BREAKS)
    return (line + "\n").encode("utf-8")


def _schema_readable(tag: object) -> bool:
    """dos-kernel's schema gate: untagged and malformed read as version 1."""
    if isinstance(tag, bool):
        return True
    if isinstance(tag, int):
        return tag <= SCHEMA_VERSION
    if isinstance(tag, dict):
        family = tag.get("family")
        version = tag.get("version")
        if not isinstance(family, str) or isinstance(version, bool) or not isinstance(version, int):
            return True
        if version < 1:
            return True
        if family and family != SCHEMA_FAMILY:
            return False
        return version <= SCHEMA_VERSION
    return True


def parse_record(obj: object) -> Record | None:
    """The record a decoded JSON value holds, or None when a reader must skip it."""
    if not isinstance(obj, dict) or not _schema_readable(obj.get("schema")):
        return None
    tool_name = obj.get("tool_name")
    args_digest = obj.get("args_digest")
    if not isinstance(tool_name, str) or not isinstance(args_digest, str):
        return None
    result_digest = _str(obj.get("result_digest"))
    step_index = obj.get("step_index")
    fired = obj.get("streamd_verdict")
    if not isinstance(fired, dict):
        fired = {}
    shape = _str(obj.get("shape_digest")) if result_digest is not None else None
    return Record(
        Step(
            tool_name,
            args_digest,
            result_digest,
            shape,
            _str(obj.get("failure_digest")),
        ),
        step_index if isinstance(step_index, int) and not isinstance(step_index, bool) else None,
        _str(obj.get("verdict_state")),
        _str(obj.get("tool_use_id")),
        _str(fired.get("rule")),
        _str(fired.get("state")),
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_line(line: bytes) -> list[Record]:
    """The records in one ``\\n``-terminated line, split as ``str.splitlines`` would."""
    out: list[Record] = []
    for piece in line.decode("utf-8", "replace").splitlines():
        text = piece.strip()
        if not text:
            continue
        try:
            record = parse_record(json.loads(text))
        except (ValueError, RecursionError):
            continue
        if record is not None:
            out.append(record)
    return out


def read_records(path: str) -> list[Record]:
    """Every readable record, oldest first; an absent log has none."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out: list[Record] = []
    for line in data.split(b"\n"):
        out.extend(parse_line(line))
    return out


def iter_records_backwards(fd: int, end: int) -> Iterator[Record]:
    """Readable records of the first ``end`` bytes of ``fd``, newest first."""
    pos = end
    partial = b""
    chunk = _CHUNK
    while pos > 0:
        size = min(chunk, pos)
        pos -= size
        block = os.pread(fd, size, pos) + partial
        lines = block.split(b"\n")
        partial = lines[0]
        for line in reversed(lines[1:]):
            yield from reversed(parse_line(line))
        chunk = min(chunk * 2, 1 << 20)
    yield from reversed(parse_line(partial))


class LockedLog:
    """An open session log under an exclusive lock, for one read-decide-append."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        st = os.fstat(fd)
        self.size = st.st_size
        self.unlinked = st.st_nlink == 0

    def append(self, line: bytes, *, ends_clean: bool = False) -> None:
        """Append one record and fsync it. A torn last line gets its own line ended
        first, so the new record never fuses with it; ``ends_clean`` says the caller
        knows the log ends with a whole line."""
        if self.size and not ends_clean and os.pread(self.fd, 1, self.size - 1) != b"\n":
            line = b"\n" + line
        written = os.write(self.fd, line)
        while written < len(line):  # pragma: no cover - regular files write whole
            written += os.write(self.fd, line[written:])
        os.fsync(self.fd)
        self.size += len(line)

    def close(self) -> None:
        os.close(self.fd)

    def unlock(self) -> None:
        """Release the lock and keep the file open."""
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def __enter__(self) -> LockedLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_log(path: str) -> int:
    """Open (creating, with its directories) a session log for append."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, flags, 0o644)


def lock_log(fd: int, *, blocking: bool = True) -> LockedLog:
    """Take an open log's exclusive lock. With ``blocking=False`` a held lock raises
    ``BlockingIOError``."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    return LockedLog(fd)


def open_locked(path: str, *, blocking: bool = True) -> LockedLog:
    """Open (creating) a session log for append and take its exclusive lock."""
    fd = open_log(path)
    try:
        return lock_log(fd, blocking=blocking)
    except BaseException:
        os.close(fd)
        raise
