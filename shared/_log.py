"""Session-log files: appending one record under an exclusive ``flock`` with one
``O_APPEND`` write and an fsync, and reading records back, forwards or from the end.
The record format itself is ``_record``'s."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ._record import Record, parse_line

_CHUNK = 8192

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; appends stay atomic
    fcntl = None  # type: ignore[assignment]


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
