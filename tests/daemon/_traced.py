"""The real daemon, with every ``os.fsync`` and every answer it sends noted, in order,
in the file ``$STREAMD_TRACE``: what ``test_durability`` checks the order of.

    python -m tests.daemon._traced serve --socket PATH
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

_lock = threading.Lock()


def note(line: str) -> None:
    with _lock:
        fd = os.open(os.environ["STREAMD_TRACE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def main() -> None:
    real_fsync = os.fsync

    def fsync(fd: Any) -> None:
        real_fsync(fd)
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = "?"
        note(f"fsync {target}")

    os.fsync = fsync

    from streamd.daemon import _server
    from streamd.daemon import main as serve

    real_send = _server.Daemon._send

    async def send(self: _server.Daemon, stream: Any, reply: Any) -> bool:
        if type(reply).__name__ == "Answer":
            note("answer")
        return await real_send(self, stream, reply)

    _server.Daemon._send = send  # type: ignore[method-assign]
    sys.exit(serve(sys.argv[1:]))


if __name__ == "__main__":
    main()
