"""``streamd doctor``: one command that checks the whole set-up and says what to do about
each problem. It exits 0 only when nothing needs doing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from streamd.shared import PolicyError, _wire, hosts
from streamd.shared._log import UnsafeLogPath
from streamd.shared._version import VERSION
from streamd.shared._workspace import load_policy, policy_path, project_root

from . import _checks, _install, _launcher, _spawn
from ._api import DaemonClient, DaemonError, DaemonUnavailable


class Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems = 0

    def line(self, label: str, text: str, *, problem: bool = False) -> None:
        self.problems += problem
        self.out.write(f"{label:<10} {text}\n")

    def detail(self, text: str, *, problem: bool = False) -> None:
        self.problems += problem
        self.out.write(f"{'':<10}   {text}\n")


def run(socket: str, out: TextIO) -> int:
    report = Report(out)
    report.line("streamd", f"{VERSION}, from {_launcher.package_root()}")
    listening = _daemon(report, socket)
    _launcher_line(report)
    if not _hooks(report, listening):
        report.line(
            "hooks",
            "no agent runs the hook: `streamd hook install --host all` (or name a host)",
            problem=True,
        )
    _workspace(report, Path.cwd())
    count = report.problems
    if count:
        out.write(f"\n{count} problem{'s' if count != 1 else ''} found; each says what to do\n")
        return 1
    out.write("\nall well\n")
    return 0


def _daemon(report: Report, socket: str) -> str | None:
    try:
        pong = DaemonClient(socket, timeout=2.0).ping()
    except DaemonUnavailable:
        report.line(
            "daemon",
            f"not running on {socket}: the hook decides each call itself (the same answers, "
            "slower); `streamd start` runs it",
        )
        return _spawn.recorded_socket()
    except DaemonError as exc:
        report.line("daemon", f"answered with an error: {exc}", problem=True)
        return socket
    if pong.version != VERSION:
        report.line(
            "daemon",
            f"streamd {pong.version} (pid {pong.pid}) on {socket}, but this is {VERSION}: "
            "`streamd restart`",
            problem=True,
        )
    else:
        report.line("daemon", f"ok: streamd {pong.version}, pid {pong.pid}, on {socket}")
    return socket


def _launcher_line(report: Report) -> None:
    path = _launcher.launcher_path()
    root = _launcher.recorded_root(path)
    if root is None:
        report.line("launcher", f"none at {path} (`streamd hook install` writes it)")
    elif os.path.realpath(root) != _launcher.package_root():
        report.line(
            "launcher",
            f"{path} runs the streamd at {root}, not this one: `streamd hook install`",
            problem=True,
        )
    else:
        report.line("launcher", f"ok: {path}")


def _hooks(report: Report, listening: str | None) -> bool:
    """Every installed hook, checked and run on a sample call; whether any is installed."""
    found = False
    for host in hosts.every():
        for scope in ("user", "project"):
            try:
                path = _install.settings_path(host.name, scope, Path.cwd())
            except _install.SettingsError:
                continue
            commands = _install.installed(path, host.name)
            if not commands:
                continue
            found = True
            report.line(host.name, f"{scope}: installed in {path}")
            _one_hook(report, host, commands, listening)
    return found


def _one_hook(report: Report, host: hosts.Host, commands: list[str], listening: str | None) -> None:
    command = commands[0]
    if len(commands) < len(host.events):
        report.detail("partly installed: `streamd hook install` completes it", problem=True)
    problems = _checks.command_problems(command, host.name)
    socket_problem = _checks.socket_problem(command, listening)
    if socket_problem:
        problems.append(socket_problem)
    for problem in problems:
        report.detail(str(problem), problem=True)
    if any(p.label == "BROKEN" for p in problems):
        return
    result = _checks.probe(command, host.name)
    if result.answered:
        report.detail(f"ok: a sample loop got the answer: {result.text[:100]}")
    else:
        report.detail(f"the hook did not answer a sample loop: {result.text}", problem=True)
    if host.installer.notice:
        report.detail(f"to do: {host.installer.notice}")
    elif host.name == "claude":
        report.detail("to do: a running Claude Code picks it up after /hooks or a restart")


def _workspace(report: Report, cwd: Path) -> None:
    root = project_root(str(cwd.absolute()))
    path = policy_path(root)
    try:
        load_policy(path)
    except PolicyError as exc:
        report.line("policy", f"{exc}; the hook keeps the defaults until it is fixed", problem=True)
    else:
        there = "ok" if os.path.exists(path) else "none (the defaults)"
        report.line("policy", f"{there}: {path}")
    logs = os.path.join(root, ".dos", "streams")
    try:
        _check_logs(logs)
    except (UnsafeLogPath, OSError) as exc:
        report.line("logs", f"{exc}", problem=True)
    else:
        report.line("logs", f"ok: {logs}" if os.path.isdir(logs) else f"none yet: {logs}")


def _check_logs(logs: str) -> None:
    """Refuses a log folder (or its ``.dos``) that is a link or that others can write."""
    for folder in (os.path.dirname(logs), logs):
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            return
        if not _wire.is_private_dir(st):
            raise UnsafeLogPath(
                f"{folder} is a link or not private (mode {st.st_mode & 0o777:o}, uid "
                f"{st.st_uid}); the hook writes no log there: remove it or `chmod 700` it"
            )
