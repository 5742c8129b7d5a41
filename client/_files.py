"""Reading and writing the files streamd keeps outside its logs (hosts' configs and
their backups, the report page) where a repository, or another user, may have planted
links, FIFOs or huge files. Nothing is written through a link streamd did not choose to
follow; every file is created ``O_EXCL | O_NOFOLLOW`` under a fresh name in a checked
directory and renamed into place, keeping the mode of the file it replaces."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from streamd.shared import StreamdError, _wire
from streamd.shared._files import read_regular

READ_LIMIT = 16 * 1024 * 1024
"""Bytes of a config read at most: a settings file is kilobytes."""
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafeFile(StreamdError):
    """Raised when a file streamd would read or write is a link it may not follow, not
    a regular file, too large, read-only, or in a directory another user controls."""


def _links_below(base: Path, path: Path) -> Path | None:
    """The first symbolic link on ``path`` below ``base`` (``path`` included)."""
    try:
        parts = path.relative_to(base).parts
    except ValueError:
        return path if path.is_symlink() else None
    current = base
    for part in parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def target(path: Path, *, confined_to: Path | None) -> Path:
    """Where writing ``path`` really writes. With ``confined_to`` (a project), a link
    from there down is refused: a repository could point it at the user's own files.
    Elsewhere (the user's home) a link to a file the user owns is followed, so a
    dotfiles checkout keeps its link; a dangling one or another user's is refused."""
    if confined_to is not None:
        link = _links_below(confined_to, path)
        if link is not None:
            raise UnsafeFile(
                f"{link} is a symbolic link in the project; streamd writes no project file "
                "through a link (a repository could aim it at your own files): replace the "
                "link with a file, or install with --scope user"
            )
        return path
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    try:
        st = real.lstat()
    except FileNotFoundError:
        raise UnsafeFile(f"{path} is a link to {real}, which does not exist") from None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        raise UnsafeFile(f"{path} is a link to {real}, which is not a regular file of yours")
    return real


def read(path: Path, *, follow: bool, limit: int = READ_LIMIT) -> bytes | None:
    """The bytes of a regular file; None when there is none. Never blocks on a FIFO or
    reads a device; ``follow=False`` refuses a link."""
    return read_regular(str(path), limit, follow=follow)


def _checked_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    foreign = _wire.foreign_dir(str(directory / "file"))
    if foreign is not None:
        raise UnsafeFile(f"{foreign}; streamd writes no file there")


def _write_all(fd: int, data: bytes) -> None:
    """All of ``data``, then fsync: a short write is carried on, not lost."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` (not a link: ``target`` has resolved those) with ``data``, whole
    or not at all. The file keeps its mode; a new one gets ``mode``, else 0600. A
    read-only file is refused, not replaced."""
    _checked_directory(path.parent)
    try:
        st: os.stat_result | None = path.lstat()
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(f"{path} is not a regular file")
        if not st.st_mode & stat.S_IWUSR:
            raise UnsafeFile(f"{path} is read-only; make it writable (chmod u+w) to change it")
        mode = stat.S_IMODE(st.st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".streamd-tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600 if mode is None else mode)
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def create(path: Path, data: bytes, *, mode: int = 0o600) -> bool:
    """Create ``path`` holding ``data`` unless something (a file, a link) is already
    there; returns whether it did."""
    _checked_directory(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, mode)
        _write_all(fd, data)
    finally:
        os.close(fd)
    return True


def is_regular(path: Path) -> bool:
    """Whether ``path`` itself (not what a link points at) is a regular file."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def user_dir(variable: str, fallback: str, darwin: str) -> Path:
    """streamd's per-user folder of one kind, by the XDG rule: ``$<variable>/streamd``
    when it is absolute, else ``~/<fallback>/streamd``; on macOS ``~/<darwin>/streamd``."""
    if sys.platform == "darwin":
        return Path.home() / darwin / "streamd"
    base = os.environ.get(variable, "")
    return (Path(base) if os.path.isabs(base) else Path.home() / fallback) / "streamd"
