"""The ``streamd`` operator command. Every failure says what went wrong and what to do,
on stderr, with a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from streamd.shared import StreamdError

from ._api import DaemonClient, DaemonError, DaemonUnavailable


class CommandError(StreamdError):
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


def _socket(args: argparse.Namespace) -> str:
    from streamd.daemon import socket_path

    return socket_path(getattr(args, "socket", None))


def _serve(args: argparse.Namespace) -> int:
    from streamd.daemon import serve

    try:
        serve(args)
    except StreamdError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _client(args: argparse.Namespace) -> DaemonClient:
    return DaemonClient(_socket(args))


def _unavailable(client: DaemonClient, when_down: str) -> CommandError:
    return CommandError(f"no daemon is running on {client.path}; {when_down}")


def _status(args: argparse.Namespace) -> int:
    from ._status import render_status

    client = _client(args)
    try:
        reply = client.status()
    except DaemonUnavailable:
        raise _unavailable(
            client,
            "start one with `streamd serve` (the hook falls back to in-process decisions "
            "meanwhile)",
        ) from None
    except DaemonError as exc:
        raise CommandError(f"the daemon answered with an error: {exc}") from None
    render_status(reply, as_json=args.json, out=sys.stdout)
    return 0


def _stop(args: argparse.Namespace) -> int:
    import time

    client = _client(args)
    path = client.path
    try:
        reply = client.stop()
    except DaemonUnavailable:
        raise _unavailable(client, "nothing to stop") from None
    except DaemonError as exc:
        raise CommandError(f"the daemon answered with an error: {exc}") from None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            DaemonClient(path, timeout=0.5).ping()
        except DaemonUnavailable:
            print(f"stopped the daemon (pid {reply.pid}) on {path}")
            return 0
        time.sleep(0.05)
    raise CommandError(f"the daemon (pid {reply.pid}) is still answering after 15 s")


def _hook(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import _install

    command = _install.hook_command(_socket(args), host=args.host)
    if args.action == "command":
        print(command)
        return 0
    path = _install.settings_path(args.host, args.scope, Path.cwd())
    try:
        if args.action == "install":
            changed = _install.install(path, command, args.host)
            print(f"{'installed the hook in' if changed else 'already installed in'} {path}")
            notice = _install.HOST_CONFIGS[args.host].notice
            if notice:
                print(notice)
        else:
            changed = _install.uninstall(path, args.host)
            print(f"{'removed the hook from' if changed else 'no streamd hook in'} {path}")
    except (_install.SettingsError, OSError) as exc:
        raise CommandError(str(exc)) from None
    return 0


def _service(args: argparse.Namespace) -> int:
    from . import _service

    path = _socket(args)
    try:
        plan = _service.plan(args.manager or _service.default_manager(), path)
        if args.action == "print":
            sys.stdout.write(_service.render(plan))
            return 0
        if args.action == "install":
            lines = _service.install(plan, dry_run=args.dry_run, socket_path=path)
        else:
            lines = _service.uninstall(plan)
    except (_service.ServiceError, OSError) as exc:
        raise CommandError(str(exc)) from None
    print("\n".join(lines))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(sys.stdout)


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

    from streamd.daemon import add_serve_arguments

    socket_help = "the daemon's socket (default: $STREAMD_SOCKET, else the user runtime dir)"
    serve = sub.add_parser("serve", help="run the daemon in the foreground")
    add_serve_arguments(serve)
    serve.set_defaults(handler=_serve)

    status = sub.add_parser("status", help="show the daemon and its live sessions")
    status.add_argument("--socket", help=socket_help)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)

    stop = sub.add_parser("stop", help="stop the daemon")
    stop.add_argument("--socket", help=socket_help)
    stop.set_defaults(handler=_stop)

    hook = sub.add_parser("hook", help="the hook command, and installing it into a host")
    hook.add_argument("action", choices=["command", "install", "uninstall"])
    hook.add_argument("--socket", help=socket_help)
    hook.add_argument(
        "--host",
        choices=["claude", "codex", "gemini", "cursor"],
        default="claude",
        help="the agent whose hook config to write (default claude)",
    )
    hook.add_argument(
        "--scope",
        choices=["user", "project"],
        default="user",
        help="the host's config in your home directory (user) or this project (project)",
    )
    hook.set_defaults(handler=_hook)

    service = sub.add_parser("service", help="run the daemon as a systemd or launchd user service")
    service.add_argument("action", choices=["install", "uninstall", "print"])
    service.add_argument("--socket", help=socket_help)
    service.add_argument(
        "--manager", choices=["systemd", "launchd"], help="default: launchd on macOS, else systemd"
    )
    service.add_argument(
        "--dry-run", action="store_true", help="with install: say what would be done, do nothing"
    )
    service.set_defaults(handler=_service)

    demo = sub.add_parser("demo", help="watch streamd catch a looping agent")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except StreamdError as exc:  # CommandError, and any other that says what to do
        print(f"streamd {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
