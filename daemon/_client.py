"""A blocking client for operator commands: one request, one reply."""

from __future__ import annotations

import socket

from . import _protocol as proto


class DaemonUnavailable(Exception):
    """Raised when no daemon answers on the socket."""


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise DaemonUnavailable("the daemon closed the connection without answering")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def request(path: str, message: proto.Request, *, timeout: float = 5.0) -> proto.Reply:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        sock.sendall(proto.frame(message))
        length = proto.frame_length(_recv_exactly(sock, proto.HEADER_SIZE))
        return proto.decode_reply(_recv_exactly(sock, length))
    except (OSError, proto.FrameError) as exc:
        raise DaemonUnavailable(f"no daemon answers on {path} ({exc})") from None
    finally:
        sock.close()
