"""The one way to talk to the daemon: connect to its socket, check who is listening,
send a frame, read a frame. Every client uses it: the hook shim, the operator
commands, the scripts and the tests.

Frames and the peer check are ``streamd.shared._wire``'s. This module imports only
what ``python3 -S -I`` has already loaded, plus ``_socket``: the hook's fast path runs
it on every tool call.
"""

from streamd.shared import _wire


class NoAnswer(Exception):
    """Raised when no daemon of this user answers: nothing listens, the peer is another
    user, the connection breaks, a frame is too large, or the deadline passes."""


def connect(path: str, timeout: float):  # type: ignore[no-untyped-def]
    """A socket connected to the daemon at ``path``, after checking that it runs as
    this user: a stranger could read every event and write into the agent's context."""
    import _socket
    import posix

    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        raise NoAnswer("cannot create a socket") from None
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        uid = _wire.peer_uid(sock)
    except OSError as exc:
        sock.close()
        raise NoAnswer(f"cannot connect to {path}: {exc.strerror or exc}") from None
    if uid is not None and uid != posix.geteuid():
        sock.close()
        raise NoAnswer(f"the process listening on {path} runs as uid {uid}, not as you")
    return sock


def _recv_exactly(sock, size: int, deadline: float) -> bytes:  # type: ignore[no-untyped-def]
    import time

    chunks = []
    while size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NoAnswer("the daemon did not answer in time")
        sock.settimeout(remaining)
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise NoAnswer("the daemon closed the connection without answering")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(sock, deadline: float) -> bytes:  # type: ignore[no-untyped-def]
    """The next frame's payload, by ``deadline`` (a ``time.monotonic()`` value)."""
    try:
        size = _wire.frame_length(_recv_exactly(sock, _wire.HEADER_SIZE, deadline))
        return _recv_exactly(sock, size, deadline)
    except _wire.FrameTooLarge as exc:
        raise NoAnswer(f"the reply's {exc}") from None
    except OSError as exc:
        raise NoAnswer(f"the connection failed: {exc.strerror or exc}") from None


def send_frame(sock, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    try:
        sock.sendall(_wire.frame(payload))
    except OSError as exc:
        raise NoAnswer(f"the connection failed: {exc.strerror or exc}") from None


def exchange(path: str, payload: bytes, timeout: float, sending: float | None = None) -> bytes:
    """Send one request payload and return the reply payload. The reply is awaited for
    ``timeout`` seconds from when the request is sent, which may take ``sending``
    seconds (default ``timeout``): a large event takes a while to send."""
    import time

    sock = connect(path, timeout)
    try:
        sock.settimeout(sending if sending is not None else timeout)
        send_frame(sock, payload)
        return read_frame(sock, time.monotonic() + timeout)
    finally:
        sock.close()


class Connection:
    """A persistent connection for many requests, reopened after any failure."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._sock = None

    def ask(self, payload: bytes) -> bytes:
        """The reply payload; raises ``NoAnswer`` (and closes) on any failure."""
        import time

        deadline = time.monotonic() + self.timeout
        try:
            if self._sock is None:
                self._sock = connect(self.path, self.timeout)
            send_frame(self._sock, payload)
            return read_frame(self._sock, deadline)
        except NoAnswer:
            self.close()
            raise

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
