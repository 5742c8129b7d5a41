"""Every client of streamd's daemon: the hook shim (``hook.py``, run by the host once
per tool call; stdlib only, it imports nothing from here) and the ``streamd`` operator
command, over one transport (``_transport``) and a typed client (``DaemonClient``)."""

from ._api import DaemonClient, DaemonError, DaemonUnavailable
from ._cli import CommandError, main
from ._install import SettingsError, hook_command, shim_path
from ._service import ServiceError
from ._spawn import DaemonDidNotStart, start_daemon, stop_daemon

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
