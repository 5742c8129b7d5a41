"""streamd's resident daemon: it holds each live session's detector in memory, appends
every step to the session's log (fsynced before it answers) on writer lanes, and
answers the hook and the operator commands over a local socket, in the messages of
``streamd.client.protocol``."""

from ._activation import ActivationError
from ._main import main, serve
from ._paths import DaemonAlreadyRunning, SocketPathError
from ._server import Daemon, run

__all__ = [
    "ActivationError",
    "Daemon",
    "DaemonAlreadyRunning",
    "SocketPathError",
    "main",
    "run",
    "serve",
]
