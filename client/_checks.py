"""Checks of a set-up, shared by ``hook status`` and ``doctor``: is an installed hook
command runnable and lasting, does it reach the daemon, does it answer."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from streamd.shared import _wire, hosts

from . import _launcher


@dataclass(frozen=True)
class Problem:
    label: str
    """BROKEN, OUTDATED, FRAGILE, SOCKET: what kind of problem, in capitals."""
    text: str
    """What is wrong and what to do."""

    def __str__(self) -> str:
        return f"{self.label}: {self.text}"


def _argv(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:  # unbalanced quotes: a config streamd did not write
        return command.split()


def hook_socket(command: str) -> str | None:
    """The ``--socket`` an installed command names, if any."""
    argv = _argv(command)
    for i, arg in enumerate(argv[:-1]):
        if arg == "--socket":
            return argv[i + 1]
    return None


def command_problems(command: str, host: str) -> list[Problem]:
    """What stands between an installed hook command and a lasting, working hook."""
    from ._install import hook_command

    argv = _argv(command)
    script = next((a for a in argv[1:] if a.endswith("hook.py")), None)
    missing = [p for p in argv[:1] + ([script] if script else []) if not os.path.exists(p)]
    if missing:
        return [
            Problem("BROKEN", f"{', '.join(missing)} no longer exists; run `streamd hook install`")
        ]
    problems = []
    roots: list[str] = []
    if script is not None and os.path.basename(os.path.dirname(script)) == "client":
        problems.append(
            Problem(
                "OUTDATED",
                "it runs streamd from inside its package, which an upgrade or a cleaned "
                "checkout removes; `streamd hook install` replaces it with the launcher",
            )
        )
    elif script is not None:
        root = _launcher.recorded_root(Path(script))
        if root is None or not os.path.exists(os.path.join(root, "client", "_shim.py")):
            problems.append(
                Problem(
                    "BROKEN", f"the launcher {script} finds no streamd; run `streamd hook install`"
                )
            )
        else:
            roots.append(root)
            here = _launcher.package_root()
            if os.path.realpath(root) != here:
                problems.append(
                    Problem(
                        "OUTDATED",
                        f"the launcher runs the streamd at {root}, not this one ({here}); "
                        "`streamd hook install` points it here",
                    )
                )
    if not problems and command != hook_command(hook_socket(command), host=host):
        problems.append(
            Problem(
                "OUTDATED",
                "written by another streamd (an earlier version or another install); "
                "`streamd hook install` replaces it",
            )
        )
    for path in argv[:1] + ([script] if script else []) + roots:
        reason = _launcher.fragile(path)
        if reason:
            problems.append(
                Problem(
                    "FRAGILE",
                    f"{reason}; install streamd with `pipx install` or `uv tool install`, then "
                    "run `streamd hook install`",
                )
            )
    return problems


def socket_problem(command: str, listening: str | None) -> Problem | None:
    """When the hook would talk to another socket than the one the daemon listens on
    (``listening``: None when no daemon is known)."""
    if listening is None:
        return None
    theirs = hook_socket(command) or _wire.socket_path(None)
    if os.path.abspath(theirs) == os.path.abspath(listening):
        return None
    return Problem(
        "SOCKET",
        f"the hook talks to {theirs}, but the daemon listens on {listening}; run "
        "`streamd hook install` from the shell that starts the daemon (or give both --socket)",
    )


@dataclass(frozen=True)
class ProbeResult:
    answered: bool
    text: str
    """The answer's advice (its first line), or why there was none."""


def probe(command: str, host_name: str) -> ProbeResult:
    """Run an installed hook command as the host would, on a harmless call repeated
    three times in a fresh folder, and read the third answer; the session is ended
    and the folder removed afterwards."""
    host = hosts.get(host_name)
    if host.probe is None:
        return ProbeResult(False, f"no sample call for {host.title}")
    folder = tempfile.mkdtemp(prefix="streamd-doctor-")
    session = f"streamd-doctor-{os.getpid()}"
    env = dict(os.environ)
    name = _wire.PROJECT_ENV.get(host_name)
    if name is not None:
        env[name.decode()] = folder
    outputs = []
    try:
        for n in (0, 1, 2, None):
            event = json.dumps(host.probe(folder, session, n)).encode()
            try:
                done = subprocess.run(
                    command,
                    shell=True,
                    input=event,
                    capture_output=True,
                    cwd=folder,
                    env=env,
                    timeout=30,
                )
            except subprocess.TimeoutExpired:
                return ProbeResult(False, "the command did not finish within 30 s")
            if done.returncode != 0:
                error = done.stderr.decode("utf-8", "replace").strip().splitlines()
                why = error[-1] if error else f"exit status {done.returncode}"
                return ProbeResult(False, f"the command failed: {why}")
            outputs.append(done.stdout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _read_answer(outputs[2])


def _read_answer(stdout: bytes) -> ProbeResult:
    if not stdout:
        return ProbeResult(False, "the third identical call got no answer")
    try:
        payload = json.loads(stdout)
    except ValueError:
        return ProbeResult(False, f"the answer is not JSON: {stdout[:80]!r}")
    text = _advice(payload)
    return ProbeResult(text is not None, (text or "an answer without advice").splitlines()[0])


def _advice(value: object) -> str | None:
    """The advice: the longest text in the answer (the others name events)."""
    if isinstance(value, str):
        return value
    texts = [_advice(v) for v in (value.values() if isinstance(value, dict) else [])]
    return max((t for t in texts if t), key=len, default=None)
