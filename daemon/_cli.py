"""The ``streamd`` operator command. Every failure says what went wrong and what to do,
on stderr, with a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


class CommandError(Exception):
    """Raised when an operator command cannot do what was asked; the message says why."""


def _replay(args: argparse.Namespace) -> int:
    from streamd.shared import PolicyError

    from . import _replay

    try:
        _replay.run(args.log, args.policy, args.json, sys.stdout)
    except FileNotFoundError as exc:
        raise CommandError(f"{exc.args[0]}: no such file; pass the path of a session log") from None
    except PolicyError as exc:
        raise CommandError(f"{exc}; fix the [tool_stream] table and run again") from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamd", description="A loop detector for AI coding agents."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    replay = sub.add_parser("replay", help="classify a session log offline, step by step")
    replay.add_argument("log", help="a session log, <workspace>/.dos/streams/<session>.jsonl")
    replay.add_argument("--policy", help="a dos.toml to take [tool_stream] from")
    replay.add_argument("--json", action="store_true", help="one JSON object per step")
    replay.set_defaults(handler=_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except CommandError as exc:
        print(f"streamd {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
