"""``python -m streamd.daemon serve``, which service units run, and ``streamd serve``:
the daemon in the foreground until SIGTERM, SIGINT or a Stop request."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ._frames import DEFAULT_READ_BUDGET
from ._lanes import DEFAULT_LANES
from ._paths import socket_path
from ._server import DEFAULT_IDLE_TIMEOUT, run

SOCKET_HELP = "the daemon's socket (default: $STREAMD_SOCKET, else the user runtime dir)"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", help=SOCKET_HELP)
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        help="seconds after which an idle session leaves memory (default 1800)",
    )
    parser.add_argument(
        "--lanes",
        type=_positive_int,
        default=DEFAULT_LANES,
        help="writer threads; more suit a disk with slow fsync (default 4)",
    )
    parser.add_argument(
        "--read-budget",
        type=_positive_int,
        default=DEFAULT_READ_BUDGET // (1024 * 1024),
        metavar="MIB",
        help="MiB that incoming frames may hold at once, across connections (default 256)",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])


def serve(args: argparse.Namespace) -> None:
    """Serve as ``args`` say. Raises ``DaemonAlreadyRunning``, ``SocketPathError`` or
    ``ActivationError`` before serving."""
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s streamd[%(process)d] %(levelname)s %(message)s",
    )
    run(
        socket_path(args.socket),
        idle_timeout=args.idle_timeout,
        lanes=args.lanes,
        read_budget=args.read_budget * 1024 * 1024,
    )


def main(argv: Sequence[str] | None = None) -> int:
    from streamd.shared import StreamdError

    parser = argparse.ArgumentParser(prog="python -m streamd.daemon")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_serve_arguments(sub.add_parser("serve", help="run the daemon in the foreground"))
    args = parser.parse_args(argv)
    try:
        serve(args)
    except StreamdError as exc:
        print(f"streamd serve: {exc}", file=sys.stderr)
        return 2
    return 0
