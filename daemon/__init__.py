"""streamd's resident daemon: it holds each live session's detector in memory, appends
every step to the session's log (fsynced before it answers) on writer lanes, and
answers the hook and the operator commands over a local socket. ``protocol`` is the
wire protocol its clients speak."""

from . import protocol
from ._activation import ActivationError
from ._main import add_serve_arguments, main, serve
from ._paths import DaemonAlreadyRunning, SocketPathError, default_socket_path, socket_path
from ._server import VERSION, Daemon, run

__all__ = [
    "VERSION",
    "ActivationError",
    "Daemon",
    "DaemonAlreadyRunning",
    "SocketPathError",
    "add_serve_arguments",
    "default_socket_path",
    "main",
    "protocol",
    "run",
    "serve",
    "socket_path",
]
