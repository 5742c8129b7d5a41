"""Install streamd's hook into a host's config file, and take it out again.

Claude Code, Codex and Gemini CLI nest command hooks in matcher groups under each event;
Cursor lists flat entries under ``{"version": 1, "hooks": ...}``. Other entries are left
as they are; installing twice changes nothing; the file is backed up before streamd
first changes it, and uninstalling restores its exact bytes when nothing else changed.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from streamd.shared import StreamdError, hosts
from streamd.shared.hosts import Installer

from . import _files

BACKUP_SUFFIX = ".streamd-backup"


class SettingsError(StreamdError):
    """Raised when a host's config file cannot be read, parsed or written."""


def shim_path() -> str:
    """The hook's entry script beside this module (the launcher runs its ``_shim``)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook.py")


def hook_command(
    socket_path: str | None = None,
    *,
    host: str = "claude",
    python: str | None = None,
    launcher: str | None = None,
) -> str:
    """The command line a host runs on every tool call: the stable launcher, run by the
    real interpreter behind this one (the hook needs only the standard library, so a
    virtualenv deleted or rebuilt takes nothing it needs). The socket is named only when
    the user chose one; else the hook finds it by the rule the daemon and the CLI
    follow, wherever they were started."""
    from ._launcher import launcher_path

    interpreter = python or os.path.realpath(sys.executable)
    argv = [interpreter, "-S", "-I", launcher or str(launcher_path())]
    if socket_path is not None:
        argv += ["--socket", socket_path]
    if host != "claude":
        argv += ["--host", host]
    return shlex.join(argv)


def installed(path: Path, host_name: str) -> list[str]:
    """The commands of our entries in ``path``, one per event installed there."""
    h = hosts.get(host_name)
    config = h.installer
    try:
        data = _load(path, h.events)
    except StreamdError:
        return []
    found = []
    for event in h.events:
        for item in data.get("hooks", {}).get(event, []):
            hooks = item.get("hooks", []) if config.nested and isinstance(item, dict) else [item]
            found += [entry_command(e) or "" for e in hooks if is_ours(e)]
    return found


def is_ours(entry: object) -> bool:
    """Whether a hook entry runs this shim, or a streamd shim installed elsewhere."""
    if not isinstance(entry, dict):
        return False
    for key in ("command", "bash"):
        command = entry.get(key)
        if isinstance(command, str) and (
            shim_path() in command or ("streamd" in command and "/hook.py" in command)
        ):
            return True
    return False


def entry_command(entry: dict[str, Any]) -> str | None:
    command = entry.get("command", entry.get("bash"))
    return command if isinstance(command, str) else None


def settings_path(host_name: str, scope: str, project: Path | None = None) -> Path:
    installer = hosts.get(host_name).installer
    if scope == "user":
        if installer.user_file is None:
            raise SettingsError(
                f"{hosts.get(host_name).title} reads hooks only from the project "
                f"({installer.project_file}); use --scope project in the repository"
            )
        return Path.home() / installer.user_file
    return (project or Path.cwd()) / installer.project_file


def _parse(raw: bytes | None, path: Path, events: Iterable[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not UTF-8; fix it and run again") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc}); fix it and run again") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a JSON object at the top level")
    hooks = data.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError(f'{path}: "hooks" must be an object')
    for event in events:
        if not isinstance(hooks.get(event, []), list):
            raise SettingsError(f'{path}: "hooks.{event}" must be a list')
    return data


def _load(path: Path, events: Iterable[str]) -> dict[str, Any]:
    """The config at ``path`` (a regular file, read without blocking; a link followed
    only where ``_files.target`` resolved it); empty when there is none."""
    return _parse(_files.read(path, follow=True), path, events)


def _encode(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _without_ours(entries: list[Any], nested: bool) -> list[Any]:
    if not nested:
        return [e for e in entries if not is_ours(e)]
    kept = []
    for group in entries:
        if isinstance(group, dict) and isinstance(group.get("hooks"), list):
            hooks = [h for h in group["hooks"] if not is_ours(h)]
            if not hooks and group["hooks"]:
                continue
            group = {**group, "hooks": hooks}
        kept.append(group)
    return kept


def _our_entry(config: Installer, event: str, command: str) -> dict[str, Any]:
    hook = {**config.entry, config.command_key: command}
    if event in config.timeouts:
        hook["timeout"] = config.timeouts[event]
    if not config.nested:
        return hook
    group: dict[str, Any] = {"hooks": [hook]}
    if config.matcher is not None and event != "SessionEnd":  # lifecycle events match no tool
        group = {"matcher": config.matcher, **group}
    return group


def _backup(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def install(
    path: Path, command: str, host_name: str = "claude", *, project: Path | None = None
) -> bool:
    """Merge our entries into ``path``; returns whether the file changed. ``project``:
    the project ``path`` lies in (no link below it is written through)."""
    h = hosts.get(host_name)
    config = h.installer
    real = _files.target(path, confined_to=project)
    raw = _files.read(real, follow=False)
    data = _parse(raw, path, h.events)
    hooks = dict(data.get("hooks", {}))
    for event in h.events:
        entries = _without_ours(hooks.get(event, []), config.nested)
        hooks[event] = [*entries, _our_entry(config, event, command)]
    new = {**config.top_level, **data, "hooks": hooks}
    if new == data:
        return False
    backup = _backup(path)
    if raw is not None and not os.path.lexists(backup):
        _files.create(backup, raw, mode=stat.S_IMODE(real.lstat().st_mode))
    elif os.path.lexists(backup) and not _files.is_regular(backup):
        raise _files.UnsafeFile(f"{backup} is not a regular file (a link?); remove it first")
    _files.write(real, _encode(new))
    return True


def _without_empty_hooks(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not (k == "hooks" and v == {})}


def uninstall(path: Path, host_name: str = "claude", *, project: Path | None = None) -> bool:
    """Remove only our entries from ``path``; returns whether the file changed. The
    file comes back byte for byte when nothing else changed it since."""
    if not os.path.lexists(path):
        return False
    h = hosts.get(host_name)
    config = h.installer
    real = _files.target(path, confined_to=project)
    data = _parse(_files.read(real, follow=False), path, h.events)
    hooks = dict(data.get("hooks", {}))
    for event in h.events:
        if event in hooks:
            entries = _without_ours(hooks[event], config.nested)
            if entries:
                hooks[event] = entries
            else:
                del hooks[event]
    new = {**data, "hooks": hooks}
    if not hooks:
        del new["hooks"]
    if new == data:
        return False
    backup = _backup(path)
    saved = _files.read(backup, follow=False) if _files.is_regular(backup) else None
    if saved is not None and _without_empty_hooks(_parse(saved, backup, h.events)) == new:
        _files.write(real, saved)
        backup.unlink()
    elif not os.path.lexists(backup) and new in ({}, config.top_level) and real == path:
        path.unlink()  # streamd created this file
    else:
        _files.write(real, _encode(new))
    return True
