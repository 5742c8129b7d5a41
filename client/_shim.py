"""The hook shim, run by the host once per tool call through ``hook.py``:

    python3 -S -I hook.py [--workspace W] [--socket P] [--host claude]

It reads the event from stdin, forwards it to the daemon and prints the answer. The
fast path imports only what the interpreter has already loaded, ``_transport`` and
``_socket``: the daemon parses and hashes. If the daemon is absent (or another user's),
closes without answering or has not answered within ``ANSWER_TIMEOUT`` seconds, the
shim decides the call in-process from the session log with ``streamd.shared`` and
prints the same bytes.
It always exits 0, prints nothing on an error, and exits by its hard deadline.
"""

import sys

try:  # imported as streamd.client._shim
    from . import _transport
except ImportError:  # run by hook.py, whose folder is on sys.path
    import _transport  # type: ignore[import-not-found, no-redef]

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs milliseconds here
if TYPE_CHECKING:
    import types

ANSWER_TIMEOUT = 1.0
"""Seconds the daemon has to answer, counted from when the whole event was sent."""
HARD_DEADLINE = 4.0
"""Seconds after which the shim exits whatever happens, for an ordinary event; a large
one gets a second more per 10 MB, up to ``HARD_DEADLINE_MAX``, to land in the log."""
HARD_DEADLINE_MAX = 9.0
MAX_FRAME = _transport.MAX_FRAME


def _options(argv: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        name = argv[i]
        if name.startswith("--") and "=" in name:
            key, _, value = name[2:].partition("=")
            options[key] = value
        elif name.startswith("--") and i + 1 < len(argv):
            options[name[2:]] = argv[i + 1]
            i += 1
        i += 1
    return options


def _environ(name: bytes) -> bytes | None:
    import posix

    value: bytes | None = posix.environ.get(name)
    return value if value else None


def _private_dir(path: str) -> bool:
    """A real directory we own with mode 0700, as platformdirs requires of a runtime dir."""
    import posix

    try:
        st = posix.lstat(path)
    except OSError:
        return False
    return (st.st_mode & 0o170777) == 0o040700 and st.st_uid == posix.geteuid()


def default_socket() -> str:
    """platformdirs' user runtime dir for "streamd", computed without importing it.
    Only a hook run without ``--socket`` needs it: ``streamd hook command`` passes one."""
    import posix

    explicit = _environ(b"STREAMD_SOCKET")
    if explicit:
        return explicit.decode("utf-8", "surrogateescape")
    if sys.platform == "darwin":
        home = (_environ(b"HOME") or b"/").decode("utf-8", "surrogateescape")
        return home + "/Library/Caches/TemporaryItems/streamd/streamd.sock"
    base = (_environ(b"XDG_RUNTIME_DIR") or b"").decode("utf-8", "surrogateescape")
    if not (base and _private_dir(base)):
        if sys.platform.startswith("openbsd"):
            base = f"/tmp/run/user/{posix.geteuid()}"
        elif sys.platform.startswith(("freebsd", "netbsd")):
            base = f"/var/run/user/{posix.geteuid()}"
        else:
            base = f"/run/user/{posix.geteuid()}"
        if not _private_dir(base):
            tmp = next(
                (v for v in map(_environ, (b"TMPDIR", b"TEMP", b"TMP")) if v), b"/tmp"
            ).decode("utf-8", "surrogateescape")
            base = tmp.rstrip("/") + f"/runtime-{posix.geteuid()}"
    return base + "/streamd/streamd.sock"


def _bin(data: bytes) -> bytes:
    return b"\xc6" + len(data).to_bytes(4, "big") + data


def _str(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"\xdb" + len(data).to_bytes(4, "big") + data


def _fsencode(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def step_payload(
    event: bytes,
    cwd: bytes,
    workspace: bytes | None,
    run_id: str | None,
    host: str,
    key: str | None = None,
) -> bytes:
    """A ``Step`` request, MessagePack built by hand (see ``streamd.daemon.protocol``)."""
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


def hard_deadline(event_size: int) -> float:
    return min(HARD_DEADLINE_MAX, HARD_DEADLINE + event_size / 10_000_000)


def printed(reply: bytes) -> bytes | None:
    """What to print for the daemon's reply; None when the shim must decide itself: any
    reply but an answer (an ``Error``: the daemon could not record the step)."""
    return parse_answer(reply)


def parse_answer(payload: bytes) -> bytes | None:
    """The output of an ``Answer`` reply; None for any other reply."""
    if payload[:8] != b"\x92\xa6answer" or len(payload) < 10:
        return None
    kind = payload[8]
    width = {0xC4: 1, 0xC5: 2, 0xC6: 4}.get(kind)
    if width is None:
        return None
    size = int.from_bytes(payload[9 : 9 + width], "big")
    output = payload[9 + width :]
    return output if len(output) == size else None


def _load_shared() -> "types.ModuleType":
    """``streamd.shared``, from beside this file, whether installed or in a checkout:
    the ``streamd`` package is pointed at this file's grandparent directory."""
    here = __file__[: max(__file__.rfind("/"), __file__.rfind("\\"))]
    root = here[: max(here.rfind("/"), here.rfind("\\"))] or "."
    if "streamd" not in sys.modules:
        package = type(sys)("streamd")
        package.__path__ = [root]
        sys.modules["streamd"] = package
    from streamd import shared

    return shared


def decide_offline(
    event: bytes,
    cwd: bytes,
    workspace: bytes | None,
    run_id: str | None,
    host: str,
    key: str,
    deadline: float,
) -> bytes:
    import os

    shared = _load_shared()
    request = shared.HookRequest(
        event,
        cwd=os.fsdecode(cwd),
        workspace=None if workspace is None else os.fsdecode(workspace),
        run_id=run_id,
        host=host,
        key=key,
    )
    output: bytes = shared.handle_offline(request, deadline=deadline)
    return output


def _arm_deadline(seconds: float) -> None:
    import _signal  # type: ignore[import-not-found]  # already loaded, unlike signal
    import posix

    def give_up(signum: int, frame: object) -> None:
        posix._exit(0)

    _signal.signal(_signal.SIGALRM, give_up)
    _signal.setitimer(_signal.ITIMER_REAL, seconds)


def run(argv: list[str]) -> bytes:
    """The bytes to print for the event on stdin."""
    import posix
    import time

    started = time.monotonic()
    options = _options(argv)
    event = sys.stdin.buffer.read()
    cwd = posix.getcwdb()
    workspace = _fsencode(options["workspace"]) if options.get("workspace") else None
    raw_run_id = _environ(b"CID_RUN_ID")
    run_id = None
    if raw_run_id is not None:
        try:
            run_id = raw_run_id.decode("utf-8")
        except UnicodeDecodeError:
            run_id = None
    host = options.get("host") or "claude"
    key = posix.urandom(9).hex()
    bound = hard_deadline(len(event))
    _arm_deadline(max(0.001, started + bound - time.monotonic()))
    deadline = started + bound - 0.5
    if len(event) + 1024 <= MAX_FRAME:
        payload = step_payload(event, cwd, workspace, run_id, host, key)
        path = options.get("socket") or default_socket()
        # Sending may take half of what is left after the answer's second: the rest is
        # the fallback's, should the daemon not take it all.
        sending = max(ANSWER_TIMEOUT, (deadline - ANSWER_TIMEOUT - time.monotonic()) / 2)
        try:
            answer = printed(_transport.exchange(path, payload, ANSWER_TIMEOUT, sending))
        except _transport.NoAnswer:
            answer = None
        if answer is not None:
            return answer
    return decide_offline(event, cwd, workspace, run_id, host, key, deadline)


def main() -> None:
    import posix

    try:
        _arm_deadline(HARD_DEADLINE_MAX)
        output = run(sys.argv[1:])
        emit(output)
    except BaseException:
        pass
    posix._exit(0)


def emit(output: bytes) -> None:
    """Write the answer to stdout whole: the hard stop is disarmed first, so the host
    never reads half a JSON object."""
    import _signal
    import posix

    _signal.setitimer(_signal.ITIMER_REAL, 0)
    view = memoryview(output)
    while view:
        view = view[posix.write(1, view) :]
