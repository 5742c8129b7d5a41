"""Reading a file streamd did not write (a repository's ``dos.toml``, a host's config, a
transcript) as untrusted: only a regular file, opened without blocking on a FIFO, and
never more than a limit."""

from __future__ import annotations

import errno
import os
import stat

from ._errors import StreamdError

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnreadableFile(StreamdError, ValueError):
    """Raised when a file is not a regular file (a FIFO, a device, a link where none may
    be followed), is over its limit, or cannot be opened; reading it could block,
    never end or read someone else's file."""


def open_regular(path: str, *, follow: bool = True) -> int:
    """A descriptor of ``path`` opened for reading, if it is a regular file. Raises
    ``FileNotFoundError`` when there is none, ``UnreadableFile`` otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow else _NOFOLLOW))
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFile(f"{path} is a symbolic link; not read") from None
        raise UnreadableFile(f"{path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnreadableFile(f"{path}: not a regular file; not read")
    return fd


def read_regular(path: str, limit: int, *, follow: bool = True) -> bytes | None:
    """The bytes of the regular file at ``path``, at most ``limit`` of them; None when
    there is none."""
    try:
        fd = open_regular(path, follow=follow)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise UnreadableFile(f"{path}: {size} bytes, over the {limit}-byte limit")
        chunks = []
        total = 0
        while chunk := os.read(fd, 1 << 16):
            total += len(chunk)
            if total > limit:
                raise UnreadableFile(f"{path}: over the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
