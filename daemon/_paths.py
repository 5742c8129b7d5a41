"""Where the daemon listens, and taking that place safely.

The socket defaults to ``<user runtime dir>/streamd/streamd.sock``; ``--socket`` and
``STREAMD_SOCKET`` override it for every command. A socket left by a dead daemon is
replaced; a live daemon on the same path is ``DaemonAlreadyRunning``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket

from streamd.shared import StreamdError

SOCKET_ENV = "STREAMD_SOCKET"


class DaemonAlreadyRunning(StreamdError):
    """Raised when another daemon already answers on the socket path."""


class SocketPathError(StreamdError):
    """Raised when the socket path cannot be used (not a socket, too long, no access)."""


def default_socket_path() -> str:
    """``<user runtime dir>/streamd/streamd.sock``. platformdirs creates a missing runtime
    directory private to the user and refuses one another user made (in ``/tmp``, say),
    which would let them listen in our place."""
    import warnings

    import platformdirs

    with warnings.catch_warnings():  # a missing XDG_RUNTIME_DIR warns; its fallback is fine
        warnings.simplefilter("ignore")
        try:
            runtime = platformdirs.user_runtime_dir("streamd", ensure_exists=True)
        except PermissionError as exc:
            raise SocketPathError(f"{exc}, or pass --socket PATH in a private directory") from None
    return os.path.join(runtime, "streamd.sock")


def socket_path(explicit: str | None = None) -> str:
    return explicit or os.environ.get(SOCKET_ENV) or default_socket_path()


def _prepare_directory(directory: str) -> None:
    """The socket's directory, created 0700 if missing, and refused unless it is a real
    directory of ours that no one else can write: another user could replace the
    socket there, and listen in our place."""
    if not os.path.lexists(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    st = os.lstat(directory)
    import stat

    if not stat.S_ISDIR(st.st_mode):
        raise SocketPathError(f"{directory} is not a directory (a symbolic link?); pick another")
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
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
