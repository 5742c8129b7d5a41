"""The daemon's options and their defaults: ``streamd serve`` and ``python -m
streamd.daemon serve`` (what service units run) parse the same ones, and reading them
imports nothing of the daemon."""

from __future__ import annotations

import argparse

DEFAULT_IDLE_TIMEOUT = 1800.0
DEFAULT_LANES = 4
"""Four writer lanes: each fsyncs one file at a time, so a slow disk wants several;
each is a thread contending for the GIL, so a fast one wants few (measured in the
README)."""
DEFAULT_READ_BUDGET = 256 * 1024 * 1024
SOCKET_HELP = "the daemon's socket (default: $STREAMD_SOCKET, else the user runtime dir)"


def positive_int(text: str) -> int:
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
        type=positive_int,
        default=DEFAULT_LANES,
        help="writer threads; more suit a disk with slow fsync (default 4)",
    )
    parser.add_argument(
        "--read-budget",
        type=positive_int,
        default=DEFAULT_READ_BUDGET // (1024 * 1024),
        metavar="MIB",
        help="MiB that incoming frames may hold at once, across connections (default 256)",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
