"""Session-log files: appending one record under an exclusive ``flock`` with one
``O_APPEND`` write and an fsync, and reading records back, forwards or from the end.
The record format itself is ``_record``'s."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

from ._errors import StreamdError
from ._record import Record, parse_line
from ._wire import is_private_dir

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
        try:
            written = os.write(self.fd, line)
            while written < len(line):  # a full disk writes part of it, then fails
                written += os.write(self.fd, line[written:])
            os.fsync(self.fd)
        except BaseException:
            # Take the part back: a torn line mid-log would hide the records after it.
            os.ftruncate(self.fd, self.size)
            os.fsync(self.fd)
            raise
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


class UnsafeLogPath(StreamdError, PermissionError):
    """Raised when a session log or its directory is a symbolic link, or a directory
    of it is owned by another user or writable by others: writing there could land in
    someone else's file or let them read the tool stream."""


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_LOG_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | _CLOEXEC | _NOFOLLOW


def _private_dir(parent: int, name: str, shown: str) -> int:
    """``name`` under the directory ``parent``, created 0700 if missing, opened without
    following a link, and refused unless it is ours and no one else can write it. A
    directory it makes is fsynced into its parent, so a crash cannot lose it (and the
    log in it) after a step in it was answered."""
    made = False
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o700, dir_fd=parent)
        os.fsync(parent)
        made = True
    try:
        fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafeLogPath(
                f"{shown} is not a directory (a symbolic link?); remove it"
            ) from None
        raise
    st = os.fstat(fd)
    if not is_private_dir(st):
        os.close(fd)
        raise UnsafeLogPath(
            f"{shown} is owned by uid {st.st_uid} with mode {st.st_mode & 0o777:o}; session "
            f"logs are written only where uid {os.geteuid()} alone can write (chown or chmod "
            "it, or remove it)"
        )
    if made and name == "streams":
        _ignore_all(fd)
    return fd


GITIGNORE = b"# written by streamd: session logs hold tool inputs and outputs\n*\n"


def _ignore_all(folder: int) -> None:
    """A ``.gitignore`` holding ``*`` in a logs folder streamd made, as pytest and mypy do
    for their caches: the logs stay out of the repository (``git status`` included)."""
    try:
        fd = os.open(
            ".gitignore",
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
            0o600,
            dir_fd=folder,
        )
    except OSError:  # someone else's already, or a link: theirs to keep
        return
    try:
        os.write(fd, GITIGNORE)
    finally:
        os.close(fd)


def open_log(path: str) -> int:
    """Open a session log for append, creating it 0600 and its ``.dos/streams``
    directories 0700. No link is followed from the workspace down; a directory that
    another user owns or can write is refused (``UnsafeLogPath``)."""
    streams, name = os.path.split(path)
    dos, streams_name = os.path.split(streams)
    workspace, dos_name = os.path.split(dos)
    if (dos_name, streams_name) == (".dos", "streams"):
        base, chain = workspace, [dos_name, streams_name]
    else:  # a log outside the usual layout: only its own directory is checked
        base, chain = dos, [streams_name]
    try:
        parent = os.open(base or ".", os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except FileNotFoundError:  # a workspace not made yet: the user's to have, as dos-kernel
        os.makedirs(base, exist_ok=True)
        parent = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for part in chain:
            child = _private_dir(parent, part, os.path.join(base, part))
            os.close(parent)
            parent = child
            base = os.path.join(base, part)
        try:
            try:
                fd = os.open(name, _LOG_FLAGS | os.O_EXCL, 0o600, dir_fd=parent)
            except FileExistsError:
                return os.open(name, _LOG_FLAGS, 0o600, dir_fd=parent)
            os.fsync(parent)  # the new log's name, durable before its first record is
            return fd
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeLogPath(f"{path} is a symbolic link; remove it") from None
            raise
    finally:
        os.close(parent)


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
