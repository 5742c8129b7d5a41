"""``python -m streamd.daemon serve``, which service units run, and ``streamd serve``:
the daemon in the foreground until SIGTERM, SIGINT or a Stop request."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from streamd.client._options import add_serve_arguments
from streamd.shared import StreamdError, _wire

from ._server import run


def serve(args: argparse.Namespace) -> None:
    """Serve as ``args`` say. Raises ``DaemonAlreadyRunning``, ``SocketPathError`` or
    ``ActivationError`` before serving."""
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s streamd[%(process)d] %(levelname)s %(message)s",
    )
    run(
        _wire.socket_path(args.socket),
        idle_timeout=args.idle_timeout,
        lanes=args.lanes,
        read_budget=args.read_budget * 1024 * 1024,
    )


def main(argv: Sequence[str] | None = None) -> int:
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
