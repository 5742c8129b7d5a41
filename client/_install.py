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
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from streamd.shared import StreamdError, hosts
from streamd.shared.hosts import Installer

BACKUP_SUFFIX = ".streamd-backup"


class SettingsError(StreamdError):
    """Raised when a host's config file cannot be read, parsed or written."""


def shim_path() -> str:
    """The hook launcher's path, beside this module."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook.py")


def hook_command(socket_path: str, *, host: str = "claude", python: str | None = None) -> str:
    """The command line a host runs on every tool call."""
    argv = [python or sys.executable, "-S", "-I", shim_path(), "--socket", socket_path]
    if host != "claude":
        argv += ["--host", host]
    return shlex.join(argv)


def installed(path: Path, host_name: str) -> list[str]:
    """The commands of our entries in ``path``, one per event installed there."""
    h = hosts.get(host_name)
    config = h.installer
    try:
        data = _load(path, h.events)
    except SettingsError:
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
            shim_path() in command or ("streamd" in command and "client/hook.py" in command)
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


def _load(path: Path, events: Iterable[str]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror})") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
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


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".streamd-tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


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


def install(path: Path, command: str, host_name: str = "claude") -> bool:
    """Merge our entries into ``path``; returns whether the file changed."""
    h = hosts.get(host_name)
    config = h.installer
    data = _load(path, h.events)
    hooks = dict(data.get("hooks", {}))
    for event in h.events:
        entries = _without_ours(hooks.get(event, []), config.nested)
        hooks[event] = [*entries, _our_entry(config, event, command)]
    new = {**config.top_level, **data, "hooks": hooks}
    if new == data:
        return False
    if path.exists() and not _backup(path).exists():
        shutil.copy2(path, _backup(path))
    _write(path, new)
    return True


def uninstall(path: Path, host_name: str = "claude") -> bool:
    """Remove only our entries from ``path``; returns whether the file changed."""
    if not path.exists():
        return False
    h = hosts.get(host_name)
    config = h.installer
    data = _load(path, h.events)
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
    if backup.exists() and _load(backup, h.events) == new:
        os.replace(backup, path)
    elif not backup.exists() and new in ({}, config.top_level):
        path.unlink()  # streamd created this file
    else:
        _write(path, new)
    return True
