"""Service-manager integration, standard library only: sockets handed over by systemd
(``LISTEN_FDS``/``LISTEN_PID``) or launchd (``launch_activate_socket``), and systemd's
readiness protocol (``READY=1``, ``WATCHDOG=1``, ``STOPPING=1`` to ``NOTIFY_SOCKET``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys

from streamd.shared import StreamdError

SD_LISTEN_FDS_START = 3
LAUNCHD_SOCKET_NAME = "Listeners"


class ActivationError(StreamdError):
    """Raised when a service manager passed sockets that cannot be used."""


def systemd_socket(environ: dict[str, str] | None = None) -> socket.socket | None:
    """The listening socket systemd passed this process, or None when it passed none."""
    env = os.environ if environ is None else environ
    pid, fds = env.get("LISTEN_PID"), env.get("LISTEN_FDS")
    if not pid or not fds:
        return None
    if pid != str(os.getpid()):
        return None  # meant for another process (our parent, say)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # not for our children
    if fds != "1":
        raise ActivationError(f"expected one socket from systemd, got LISTEN_FDS={fds}")
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise ActivationError("the socket systemd passed is not a Unix stream socket")
    os.set_inheritable(SD_LISTEN_FDS_START, False)
    return sock


def launchd_socket() -> socket.socket | None:
    """The listening socket launchd holds for this job, or None outside launchd."""
    if sys.platform != "darwin" or "XPC_SERVICE_NAME" not in os.environ:  # pragma: no cover
        return None
    import ctypes  # pragma: no cover - macOS only

    libsystem = ctypes.CDLL("/usr/lib/libSystem.dylib")  # pragma: no cover
    fds = ctypes.POINTER(ctypes.c_int)()  # pragma: no cover
    count = ctypes.c_size_t(0)  # pragma: no cover
    err = libsystem.launch_activate_socket(  # pragma: no cover
        LAUNCHD_SOCKET_NAME.encode(), ctypes.byref(fds), ctypes.byref(count)
    )
    if err != 0 or count.value < 1:  # pragma: no cover
        return None
    fd = fds[0]  # pragma: no cover
    libsystem.free(fds)  # pragma: no cover
    return socket.socket(fileno=fd)  # pragma: no cover


class Notifier:
    """Sends sd_notify messages; does nothing without ``NOTIFY_SOCKET``."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        watchdog_pid = env.get("WATCHDOG_PID", "")
        enabled = usec.isdigit() and int(usec) > 0 and watchdog_pid in ("", str(os.getpid()))
        self.watchdog_interval = int(usec) / 2e6 if enabled else None
        """Half of systemd's watchdog timeout, in seconds; None without a watchdog."""

    def notify(self, message: str) -> None:
        if not self._address:
            return
        # A manager that went away needs telling nothing.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
            sock.sendto(message.encode(), self._address)

    def ready(self) -> None:
        self.notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=serving")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1\nSTATUS=stopping")
