"""Every client of streamd's daemon: the hook shim (``hook.py``, run by the host once
per tool call; stdlib only, it imports nothing from here), the ``streamd`` operator
command, the transport they share (``_transport``) and the typed client
(``DaemonClient``) over the messages of ``protocol``.

``main`` is all that ``streamd`` needs to start; the rest loads on first use, so that
``streamd --help`` or ``streamd status`` imports neither the daemon nor anyio."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._cli import CommandError, main

if TYPE_CHECKING:
    from ._api import DaemonClient, DaemonError, DaemonUnavailable
    from ._install import SettingsError, hook_command, shim_path
    from ._service import ServiceError
    from ._spawn import DaemonDidNotStart, start_daemon, stop_daemon

_LAZY = {
    "DaemonClient": "_api",
    "DaemonError": "_api",
    "DaemonUnavailable": "_api",
    "SettingsError": "_install",
    "hook_command": "_install",
    "shim_path": "_install",
    "ServiceError": "_service",
    "DaemonDidNotStart": "_spawn",
    "start_daemon": "_spawn",
    "stop_daemon": "_spawn",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "CommandError",
    "DaemonClient",
    "DaemonDidNotStart",
    "DaemonError",
    "DaemonUnavailable",
    "ServiceError",
    "SettingsError",
    "hook_command",
    "main",
    "shim_path",
    "start_daemon",
    "stop_daemon",
]
