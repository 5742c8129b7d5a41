"""``streamd service``: run the daemon as a user service that starts on demand.

Linux: a systemd user unit pair, ``streamd.socket`` (the socket, created by systemd)
and ``streamd.service`` (Type=notify with a watchdog, restarted on failure). macOS: a
LaunchAgent whose ``Sockets`` entry holds the socket and whose KeepAlive restarts a
crashed daemon. Either way the first hook call starts the daemon, and until it answers
the hook's fallback decides.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from streamd.shared import StreamdError

MARKER = "Written by `streamd service install`"
LAUNCHD_LABEL = "dev.streamd.daemon"
WATCHDOG_SECONDS = 30


class ServiceError(StreamdError):
    """Raised when service files cannot be written or removed."""


@dataclass(frozen=True)
class ServiceFile:
    path: Path
    content: bytes


@dataclass(frozen=True)
class Plan:
    manager: str
    files: tuple[ServiceFile, ...]
    enable: tuple[tuple[str, ...], ...]
    disable: tuple[tuple[str, ...], ...]


def default_manager() -> str:
    return "launchd" if sys.platform == "darwin" else "systemd"


def _exec_args(python: str, socket_path: str) -> list[str]:
    return [python, "-m", "streamd.daemon", "serve", "--socket", socket_path]


TELEMETRY_PREFIXES = ("OTEL_", "STREAMD_OTEL_")


def telemetry_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The OpenTelemetry settings in force where ``service install`` runs: the service
    carries them, since a service manager starts the daemon with none of the shell's."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in sorted(env.items()) if k.startswith(TELEMETRY_PREFIXES) and v}


def _systemd_environment(env: dict[str, str]) -> str:
    lines = []
    for key, value in env.items():
        quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
        lines.append(f'Environment="{key}={quoted}"\n')
    return "".join(lines)


def systemd_units(
    python: str, socket_path: str, env: dict[str, str] | None = None
) -> tuple[str, str]:
    socket_unit = f"""# {MARKER}
[Unit]
Description=streamd socket: loop detection for AI coding agents

[Socket]
ListenStream={socket_path}
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
"""
    service_unit = f"""# {MARKER}
[Unit]
Description=streamd: loop detection for AI coding agents
Requires=streamd.socket
After=streamd.socket

[Service]
Type=notify
NotifyAccess=main
ExecStart={shlex.join(_exec_args(python, socket_path))}
{_systemd_environment(env or {})}WatchdogSec={WATCHDOG_SECONDS}
Restart=on-failure
RestartSec=1
TimeoutStopSec=15

[Install]
Also=streamd.socket
"""
    return socket_unit, service_unit


def launchd_plist(
    python: str, socket_path: str, log_dir: Path, env: dict[str, str] | None = None
) -> bytes:
    extra: dict[str, object] = {"EnvironmentVariables": env} if env else {}
    return plistlib.dumps(
        {
            **extra,
            "Label": LAUNCHD_LABEL,
            "Comment": MARKER,
            "ProgramArguments": _exec_args(python, socket_path),
            "Sockets": {
                "Listeners": {
                    "SockPathName": socket_path,
                    "SockPathMode": 0o600,
                    "SockFamily": "Unix",
                    "SockType": "stream",
                }
            },
            "KeepAlive": {"SuccessfulExit": False},
            "RunAtLoad": False,
            "ProcessType": "Background",
            "StandardErrorPath": str(log_dir / "streamd.log"),
        }
    )


def plan(
    manager: str, socket_path: str, *, home: Path | None = None, python: str | None = None
) -> Plan:
    home = home or Path.home()
    python = python or sys.executable
    if manager == "systemd":
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        unit_dir = config / "systemd" / "user"
        socket_unit, service_unit = systemd_units(python, socket_path, telemetry_environment())
        return Plan(
            manager,
            (
                ServiceFile(unit_dir / "streamd.socket", socket_unit.encode()),
                ServiceFile(unit_dir / "streamd.service", service_unit.encode()),
            ),
            enable=(
                ("systemctl", "--user", "daemon-reload"),
                ("systemctl", "--user", "enable", "--now", "streamd.socket"),
            ),
            disable=(
                ("systemctl", "--user", "disable", "--now", "streamd.socket", "streamd.service"),
                ("systemctl", "--user", "daemon-reload"),
            ),
        )
    if manager == "launchd":
        plist_path = home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        domain = f"gui/{os.getuid()}"
        return Plan(
            manager,
            (
                ServiceFile(
                    plist_path,
                    launchd_plist(
                        python, socket_path, home / "Library" / "Logs", telemetry_environment()
                    ),
                ),
            ),
            enable=(("launchctl", "bootstrap", domain, str(plist_path)),),
            disable=(("launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"),),
        )
    raise ServiceError(f"unknown service manager {manager!r}; use systemd or launchd")


def render(p: Plan) -> str:
    parts = [f"# {f.path}\n{f.content.decode()}" for f in p.files]
    return "\n".join(parts)


def _run_all(commands: tuple[tuple[str, ...], ...]) -> str | None:
    """Run each command; the first failure's explanation, or None when all succeeded."""
    for argv in commands:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{shlex.join(argv)}` could not run ({exc})"
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip().splitlines()
            return f"`{shlex.join(argv)}` failed: {reason[-1] if reason else done.returncode}"
    return None


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content)
    finally:
        os.close(fd)


def install(p: Plan, *, dry_run: bool, socket_path: str) -> tuple[list[str], bool]:
    """Write the service files and enable them; the lines to show the operator, and
    whether the service is enabled (or, dry, would be)."""
    lines = []
    for f in p.files:
        lines.append(f"{'would write' if dry_run else 'wrote'} {f.path}")
        if not dry_run:
            if f.path.exists() and MARKER.encode() not in f.path.read_bytes():
                raise ServiceError(
                    f"{f.path} exists and was not written by streamd; move it aside first"
                )
            f.path.parent.mkdir(parents=True, exist_ok=True)
            _write_private(f.path, f.content)  # it may hold the collector's headers
    if p.manager == "launchd" and not dry_run:
        Path(socket_path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    commands = "\n".join(f"  {shlex.join(c)}" for c in p.enable)
    if dry_run:
        return [*lines, f"would run:\n{commands}"], True
    failure = _run_all(p.enable)
    if failure is None:
        return [*lines, f"enabled: the {p.manager} user service listens on {socket_path}"], True
    return [
        *lines,
        f"the service manager is not reachable here: {failure}",
        f"run these yourself where it is:\n{commands}",
    ], False


def uninstall(p: Plan) -> list[str]:
    """Stop and disable the service, then remove only the files install wrote."""
    ours = [f for f in p.files if f.path.exists() and MARKER.encode() in f.path.read_bytes()]
    if not ours:
        return ["no streamd service files are installed"]
    failure = _run_all(p.disable[:1])
    lines = []
    for f in ours:
        f.path.unlink()
        lines.append(f"removed {f.path}")
    if failure is None:
        _run_all(p.disable[1:])
        lines.append(f"stopped and disabled the {p.manager} user service")
    else:
        lines.append(f"could not stop the service ({failure}); the files are gone regardless")
    return lines
