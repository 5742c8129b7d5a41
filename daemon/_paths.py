"""Taking the daemon's place on its socket safely. Where that is is
``streamd.shared._wire.socket_path``'s rule, which every side follows. A socket left by
a dead daemon is replaced; a live daemon on the same path is ``DaemonAlreadyRunning``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket

from streamd.shared import StreamdError, _wire


class DaemonAlreadyRunning(StreamdError):
    """Raised when another daemon already answers on the socket path."""


class SocketPathError(StreamdError):
    """Raised when the socket path cannot be used (not a socket, too long, no access)."""


def _prepare_directory(directory: str) -> None:
    """The socket's directory, created 0700 with any missing parent, and refused unless
    it is a real directory of ours that no one else can write: another user could
    replace the socket there, and listen in our place."""
    foreign = None
    if not os.path.lexists(directory):
        foreign = _wire.foreign_dir(os.path.join(directory, "streamd.sock"))
    if foreign is not None:
        raise SocketPathError(
            f"the socket's directory would be made in another user's: {foreign}; pass "
            "--socket DIR/streamd.sock with a DIR made by `mkdir -m 700 DIR`"
        )
    missing = []
    path = directory
    while path and not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    st = os.lstat(directory)
    if not _wire.is_private_dir(st):
        import stat

        if not stat.S_ISDIR(st.st_mode):
            raise SocketPathError(
                f"{directory} is not a directory (a symbolic link?); pick another"
            )
        raise SocketPathError(
            f"{directory} is owned by uid {st.st_uid} with mode {st.st_mode & 0o777:o}; the "
            f"socket must be in a directory only uid {os.geteuid()} can write: make one with "
            "`mkdir -m 700 DIR` and pass --socket DIR/streamd.sock"
        )


def _remove_stale(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    import stat

    if not stat.S_ISSOCK(mode):
        raise SocketPathError(f"{path} exists and is not a socket; remove it or pick another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    except OSError:
        pass
    finally:
        probe.close()
    raise DaemonAlreadyRunning(
        f"a streamd daemon is already listening on {path}; "
        "use `streamd status` to see it or `streamd stop` to stop it"
    )


def bind_unix_socket(path: str) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600, in a 0700 directory we create."""
    _prepare_directory(os.path.dirname(os.path.abspath(path)))
    _remove_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:  # another daemon bound it just now
            raise DaemonAlreadyRunning(
                f"another daemon took {path} while this one started"
            ) from None
        raise SocketPathError(f"cannot bind {path}: {exc.strerror}") from None
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(1024)
    return sock


def remove_quietly(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)
