"""The hook shim, run by the host once per tool call through ``hook.py``:

    python3 -S -I hook.py [--workspace W] [--socket P] [--host claude]

It reads the event from stdin, forwards it to the daemon and prints the answer. The
fast path imports only what the interpreter has already loaded, ``_transport``,
``streamd.shared._wire`` and ``_socket``: the daemon parses and hashes. If the daemon
is absent (or another user's), closes without answering or has not answered within
``ANSWER_TIMEOUT`` seconds, the shim decides the call in-process from the session log
with ``streamd.shared`` and prints the same bytes.
It always exits 0, prints nothing on an error, and exits by its hard deadline.
"""

import sys


def _bare_packages() -> None:
    """Run by hook.py: ``streamd`` and ``streamd.shared`` as bare packages over this
    checkout or install, so importing one module of them runs no package ``__init__``
    (the fallback then loads only what deciding a call needs)."""
    here = __file__[: max(__file__.rfind("/"), __file__.rfind("\\"))]
    root = here[: max(here.rfind("/"), here.rfind("\\"))] or "."
    for name, path in (("streamd", root), ("streamd.shared", root + "/shared")):
        if name not in sys.modules:
            package = type(sys)(name)
            package.__path__ = [path]
            sys.modules[name] = package


if __name__ == "_shim":
    _bare_packages()
    import _transport  # type: ignore[import-not-found]
else:  # imported as streamd.client._shim
    from . import _transport
from streamd.shared import _wire  # noqa: E402  (after the bare packages are in place)

ANSWER_TIMEOUT = 1.0
"""Seconds the daemon has to answer, counted from when the whole event was sent."""
HARD_DEADLINE = 4.0
"""Seconds after which the shim exits whatever happens, counted from its start (reading
stdin included); a large event, once read whole, gets a second more per 10 MB, up to
``HARD_DEADLINE_MAX``, to land in the log."""
HARD_DEADLINE_MAX = 9.0


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


def _fsencode(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def project_dir(host: str) -> bytes | None:
    """The host's project folder from its hook environment, when it names one (and
    absolutely: a relative one would follow the agent's ``cd``)."""
    name = _wire.PROJECT_ENV.get(host)
    value = _environ(name) if name else None
    return value if value and value.startswith(b"/") else None


def hard_deadline(event_size: int) -> float:
    return min(HARD_DEADLINE_MAX, HARD_DEADLINE + event_size / 10_000_000)


def printed(reply: bytes) -> bytes | None:
    """What to print for the daemon's reply; None when the shim must decide itself: any
    reply but an answer (an ``Error``: the daemon could not record the step)."""
    return _wire.decode_answer(reply)


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

    from streamd.shared import _decide, _offline

    request = _decide.HookRequest(
        event,
        cwd=os.fsdecode(cwd),
        workspace=None if workspace is None else os.fsdecode(workspace),
        run_id=run_id,
        host=host,
        key=key,
    )
    output: bytes = _offline.handle_offline(request, deadline=deadline)
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
    try:
        cwd = posix.getcwdb()
    except OSError:  # started in a deleted folder: the event's own cwd still says where
        cwd = b"/"
    host = options.get("host") or "claude"
    workspace = _fsencode(options["workspace"]) if options.get("workspace") else None
    if workspace is None:
        workspace = project_dir(host)
    raw_run_id = _environ(b"CID_RUN_ID")
    run_id = None
    if raw_run_id is not None:
        try:
            run_id = raw_run_id.decode("utf-8")
        except UnicodeDecodeError:
            run_id = None
    key = posix.urandom(9).hex()
    bound = hard_deadline(len(event))
    _arm_deadline(max(0.001, started + bound - time.monotonic()))
    deadline = started + bound - 0.5
    if len(event) + 1024 <= _wire.MAX_FRAME:
        payload = _wire.encode_step(event, cwd, workspace, run_id, host, key)
        path = _wire.socket_path(options.get("socket"))
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

    if posix.isatty(0):  # a person, not a host: no event will come
        posix.write(2, b"streamd hook: it reads one hook event (JSON) on stdin, as an agent "
                       b"sends it; try `streamd doctor` to check the hook\n")  # fmt: skip
        posix._exit(2)
    try:
        _arm_deadline(HARD_DEADLINE)  # before stdin is read: a host may hold it open
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
