"""Install streamd's hook into Claude Code's settings, and take it out again.

Other entries are left as they are; installing twice changes nothing; the settings
file is backed up before streamd first changes it, and uninstalling restores its
exact bytes when nothing else changed in between.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

HOOK_EVENTS = ("PostToolUse", "PostToolUseFailure", "SessionEnd")
HOOK_TIMEOUT_SECONDS = 10
BACKUP_SUFFIX = ".streamd-backup"


class SettingsError(Exception):
    """Raised when a settings file cannot be read, parsed or written."""


def shim_path() -> str:
    from streamd import client

    return os.path.join(os.path.dirname(os.path.abspath(client.__file__)), "hook.py")


def hook_command(socket_path: str, *, python: str | None = None) -> str:
    """The command line a host runs on every tool call."""
    argv = [python or sys.executable, "-S", "-I", shim_path(), "--socket", socket_path]
    return shlex.join(argv)


def is_ours(entry: object) -> bool:
    """Whether a hook entry runs this shim, or a streamd shim installed elsewhere."""
    command = entry.get("command") if isinstance(entry, dict) else None
    if not isinstance(command, str):
        return False
    return shim_path() in command or ("streamd" in command and "client/hook.py" in command)


def settings_path(scope: str, project: Path | None = None) -> Path:
    if scope == "user":
        return Path.home() / ".claude" / "settings.json"
    return (project or Path.cwd()) / ".claude" / "settings.json"


def _load(path: Path) -> dict[str, Any]:
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
    for event in HOOK_EVENTS:
        if not isinstance(hooks.get(event, []), list):
            raise SettingsError(f'{path}: "hooks.{event}" must be a list')
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".streamd-tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _without_ours(groups: list[Any]) -> list[Any]:
    kept = []
    for group in groups:
        if isinstance(group, dict) and isinstance(group.get("hooks"), list):
            hooks = [h for h in group["hooks"] if not is_ours(h)]
            if not hooks and group["hooks"]:
                continue
            group = {**group, "hooks": hooks}
        kept.append(group)
    return kept


def install(path: Path, command: str) -> bool:
    """Merge our entries into ``path``; returns whether the file changed."""
    data = _load(path)
    hooks = dict(data.get("hooks", {}))
    for event in HOOK_EVENTS:
        groups = _without_ours(hooks.get(event, []))
        entry = {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECONDS}
        group: dict[str, Any] = {"hooks": [entry]}
        if event != "SessionEnd":
            group = {"matcher": "*", **group}
        hooks[event] = [*groups, group]
    new = {**data, "hooks": hooks}
    if new == data:
        return False
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    if path.exists() and not backup.exists():
        shutil.copy2(path, backup)
    _write(path, new)
    return True


def uninstall(path: Path) -> bool:
    """Remove only our entries from ``path``; returns whether the file changed."""
    if not path.exists():
        return False
    data = _load(path)
    hooks = dict(data.get("hooks", {}))
    for event in HOOK_EVENTS:
        if event in hooks:
            groups = _without_ours(hooks[event])
            if groups:
                hooks[event] = groups
            else:
                del hooks[event]
    new = {**data, "hooks": hooks}
    if not hooks:
        del new["hooks"]
    if new == data:
        return False
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    if backup.exists() and _load(backup) == new:
        os.replace(backup, path)
    elif not new and not backup.exists():
        path.unlink()
    else:
        _write(path, new)
    return True
