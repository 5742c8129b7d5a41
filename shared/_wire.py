"""The wire between the hook, the CLI and the daemon, standard library only: the frame
(a 4-byte big-endian length, then MessagePack), the message tags, the hand codec the
hook uses for the two messages it speaks, who may be at the other end of the socket,
and where the socket is. ``docs/protocol.md`` says how messages may change.

The hook imports this on every tool call, so it imports only what ``python3 -S -I``
has already loaded; ``_socket`` and ``posix`` are loaded where needed.
"""

import sys

MAX_FRAME = 64 * 1024 * 1024
"""The largest payload either side sends or accepts (tool results can be megabytes)."""
HEADER_SIZE = 4
SOCKET_ENV = "STREAMD_SOCKET"
PROJECT_ENV = {
    "claude": b"CLAUDE_PROJECT_DIR",
    "gemini": b"GEMINI_PROJECT_DIR",
    "qwen": b"QWEN_PROJECT_DIR",
    "droid": b"FACTORY_PROJECT_DIR",
}
"""Per host, the variable naming the project folder in a hook's environment: the
session's workspace wherever the agent ``cd``s. Here, not in the host modules, because
the hook reads it before it loads any of them."""

# Every message is a MessagePack array whose first element is its tag.
STEP = "step"
STATUS = "status"
PING = "ping"
STOP = "stop"
ANSWER = "answer"
STATUS_REPLY = "status-reply"
PONG = "pong"
STOPPING = "stopping"
ERROR = "error"


class FrameTooLarge(ValueError):
    """Raised when a frame's length header is over ``MAX_FRAME``."""


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(HEADER_SIZE, "big") + payload


def frame_length(header: bytes) -> int:
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME:
        raise FrameTooLarge(f"frame of {length} bytes exceeds the {MAX_FRAME}-byte limit")
    return length


# -- the hook's hand codec: pinned to the msgspec Structs by golden-byte tests ----------


def _bin(data: bytes) -> bytes:
    return b"\xc6" + len(data).to_bytes(4, "big") + data


def _str(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"\xdb" + len(data).to_bytes(4, "big") + data


def encode_step(
    event: bytes,
    cwd: bytes,
    workspace: bytes | None,
    run_id: str | None,
    host: str,
    key: str | None = None,
) -> bytes:
    """A ``Step`` request's payload: ``[tag, event, cwd, workspace, run_id, host, key]``."""
    return b"".join(
        (
            b"\x97\xa4step",
            _bin(event),
            _bin(cwd),
            b"\xc0" if workspace is None else _bin(workspace),
            b"\xc0" if run_id is None else _str(run_id),
            _str(host),
            b"\xc0" if key is None else _str(key),
        )
    )


def decode_answer(payload: bytes) -> bytes | None:
    """The output of an ``Answer`` reply; None for any other reply. Fields appended to
    ``Answer`` after its output are skipped, as the change rule asks."""
    if len(payload) < 10 or not 0x92 <= payload[0] <= 0x9F or payload[1:8] != b"\xa6answer":
        return None
    width = {0xC4: 1, 0xC5: 2, 0xC6: 4}.get(payload[8])
    if width is None:
        return None
    start = 9 + width
    end = start + int.from_bytes(payload[9:start], "big")
    if end > len(payload) or (payload[0] == 0x92 and end != len(payload)):
        return None
    return payload[start:end]


# -- who is at the other end ------------------------------------------------------------


def peer_uid(sock) -> int | None:  # type: ignore[no-untyped-def]
    """The uid of the process at the other end of a connected Unix socket; None where
    the platform cannot tell. A stranger on either end could read every event, or write
    into the agent's context."""
    import _socket

    if sys.platform.startswith("linux"):
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        return int.from_bytes(creds[4:8], sys.byteorder)  # struct ucred {pid, uid, gid}
    if sys.platform == "darwin" or "bsd" in sys.platform:
        # getsockopt(fd, SOL_LOCAL = 0, LOCAL_PEERCRED = 1): struct xucred {version, uid, ...}
        creds = sock.getsockopt(0, 1, 76)
        return int.from_bytes(creds[4:8], sys.byteorder)
    return None


def peer_is_us(sock) -> bool:  # type: ignore[no-untyped-def]
    """Whether the peer runs as this user (True where the platform cannot tell)."""
    import posix

    uid = peer_uid(sock)
    return uid is None or uid == posix.geteuid()


# -- where the socket is -----------------------------------------------------------------


def is_private_dir(st, *, exact: bool = False) -> bool:  # type: ignore[no-untyped-def]
    """Whether an ``lstat``/``fstat`` result is a real directory of ours that no one
    else can write; ``exact``: mode 0700 exactly, as a runtime directory must be."""
    import posix

    if (st.st_mode & 0o170000) != 0o040000 or st.st_uid != posix.geteuid():
        return False
    return (st.st_mode & 0o777) == 0o700 if exact else not st.st_mode & 0o022


def foreign_dir(path: str) -> str | None:
    """Why nothing of ours can go at the absolute ``path``: a reason when the nearest
    existing folder on its way belongs to another user (root's is fine) or is writable
    by others without the sticky bit (as ``/tmp`` has). Another user could listen in our
    place, or swap our file, there."""
    import posix

    directory = path
    while True:
        directory = directory[: directory.rfind("/")] or "/"
        try:
            st = posix.lstat(directory)
        except FileNotFoundError:
            if directory == "/":
                return None
            continue
        except OSError as exc:
            return f"{directory} cannot be examined ({exc.strerror})"
        owner = st.st_uid
        if owner not in (0, posix.geteuid()):
            return f"{directory} is owned by uid {owner}"
        if st.st_mode & 0o002 and not st.st_mode & 0o1000:
            return f"{directory} is writable by anyone"
        return None


def _environ(name: bytes) -> str | None:
    import posix

    value: bytes | None = posix.environ.get(name)
    return value.decode("utf-8", "surrogateescape") if value else None


def _private_path(path: str) -> bool:
    import posix

    try:
        return is_private_dir(posix.lstat(path), exact=True)
    except OSError:
        return False


def runtime_dir() -> str:
    """The user runtime directory, by platformdirs' rule: ``$XDG_RUNTIME_DIR`` when it
    is private, else ``/run/user/<uid>`` (or the BSDs'), else ``$TMPDIR/runtime-<uid>``."""
    import posix

    if sys.platform == "darwin":
        return (_environ(b"HOME") or "/") + "/Library/Caches/TemporaryItems"
    base = _environ(b"XDG_RUNTIME_DIR") or ""
    if base and _private_path(base):
        return base
    uid = posix.geteuid()
    if sys.platform.startswith("openbsd"):
        base = f"/tmp/run/user/{uid}"
    elif sys.platform.startswith(("freebsd", "netbsd")):
        base = f"/var/run/user/{uid}"
    else:
        base = f"/run/user/{uid}"
    if _private_path(base):
        return base
    tmp = next((v for v in map(_environ, (b"TMPDIR", b"TEMP", b"TMP")) if v), "/tmp")
    return tmp.rstrip("/") + f"/runtime-{uid}"


def default_socket() -> str:
    """``<user runtime dir>/streamd/streamd.sock``."""
    return runtime_dir() + "/streamd/streamd.sock"


def socket_path(explicit: str | None = None) -> str:
    """The one rule every side follows: ``--socket``, else ``$STREAMD_SOCKET``, else the
    default."""
    return explicit or _environ(SOCKET_ENV.encode()) or default_socket()
