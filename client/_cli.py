"""The ``streamd`` operator command. Every failure says what went wrong and what to do,
on stderr. Exit status: 0 done, 1 a check or an operation failed, 2 a usage error.
A light client: building the parser and ``--help``, ``--version``, ``status`` and
``hook status`` import neither anyio nor the daemon; each command imports what it needs
when it runs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from streamd.shared import StreamdError, _wire, hosts
from streamd.shared._version import VERSION

from ._options import SOCKET_HELP, add_serve_arguments, positive_int

if TYPE_CHECKING:
    import datetime as dt

    from ._api import DaemonClient


class CommandError(StreamdError):
    """Raised when an operator command cannot do what was asked; the message says why."""


def _replay(args: argparse.Namespace) -> int:
    from streamd.shared import PolicyError, UnknownFormat

    from . import _replay

    try:
        view = _replay.View(args.only_fired, args.context, args.digests)
        _replay.run(args.log, args.policy, args.json, sys.stdout, args.format, view)
    except FileNotFoundError as exc:
        raise CommandError(
            f"{exc.args[0]}: no such file; pass a session log or an agent's transcript"
        ) from None
    except UnknownFormat as exc:
        raise CommandError(f"{exc}; name its format with --format") from None
    except PolicyError as exc:
        raise CommandError(f"{exc}; fix the dos.toml and run again") from None
    return 0


def _report(args: argparse.Namespace) -> int:
    from streamd.shared import DEFAULT_POLICY, PolicyError, default_folders, load_policy

    from . import _report
    from ._report._parallel import cores

    since = _date(args.since, "--since")
    until = _date(args.until, "--until", end_of_day=True)
    try:
        policy = load_policy(args.policy) if args.policy else DEFAULT_POLICY
    except PolicyError as exc:
        raise CommandError(f"{exc}; fix the dos.toml and run again") from None
    if args.stop_at or args.budget:
        from dataclasses import replace

        from streamd.shared._breaker import Breaker

        policy = replace(policy, breaker=Breaker(args.stop_at, args.budget))
    if args.html and not os.path.isdir(os.path.dirname(os.path.abspath(args.html))):
        raise CommandError(f"--html {args.html}: its folder does not exist; make it first")
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        raise CommandError(f"{missing[0]}: no such file or folder")
    paths = args.paths or default_folders(str(Path.home()))
    if not paths:
        raise CommandError(
            "no transcripts found in ~/.claude/projects, ~/.codex/sessions or ~/.gemini/tmp; "
            "pass files or folders"
        )
    try:
        prices = _report.load_prices(args.prices) if args.prices else _report.Prices()
        prices.by_model.update(_report.parse_price(spec) for spec in args.price or ())
    except _report.PriceError as exc:
        raise CommandError(str(exc)) from None
    otlp = None
    if args.otlp:
        from ._report._otlp import Backtest

        otlp = Backtest()
    options = _report.Options(
        as_json=args.json,
        since=since,
        until=until,
        fmt=args.format,
        excerpts=not args.no_excerpts,
        html=args.html,
        group_by=args.group_by,
        prices=prices or None,
        jobs=args.jobs or cores(),
    )
    from concurrent.futures.process import BrokenProcessPool

    try:
        return _report.run(paths, policy, sys.stdout, options, otlp=otlp)
    except BrokenProcessPool:
        raise CommandError(
            "a process reading transcripts died (out of memory?); run again with --jobs 1"
        ) from None


def _date(given: str | None, option: str, *, end_of_day: bool = False) -> dt.datetime | None:
    """A date or time from the command line, in UTC unless it says otherwise; a bare
    date given as an end means the end of that day."""
    import datetime as dt

    if not given:
        return None
    try:
        when = dt.datetime.fromisoformat(given)
    except ValueError:
        raise CommandError(f"{option} {given!r}: give a date, as 2026-11-01") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if end_of_day and len(given.strip()) == 10:
        when += dt.timedelta(days=1)
    return when


def _socket(args: argparse.Namespace) -> str:
    """The socket every side agrees on; the default is refused when another user could
    listen there first."""
    path = _wire.socket_path(getattr(args, "socket", None))
    if path == _wire.default_socket():
        foreign = _wire.foreign_dir(path)
        if foreign is not None:
            raise CommandError(
                f"the user runtime directory for {path} is not safe: {foreign}; pass "
                "--socket DIR/streamd.sock with a DIR made by `mkdir -m 700 DIR`"
            )
    return path


def _serve(args: argparse.Namespace) -> int:
    from streamd.daemon import serve

    try:
        serve(args)
    except StreamdError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _client(args: argparse.Namespace, timeout: float = 5.0) -> DaemonClient:
    from ._api import DaemonClient

    return DaemonClient(_socket(args), timeout=timeout)


def _unavailable(client: DaemonClient, when_down: str) -> CommandError:
    return CommandError(f"no daemon is running on {client.path}; {when_down}")


def _status(args: argparse.Namespace) -> int:
    from ._api import DaemonError, DaemonUnavailable
    from ._status import render_status

    client = _client(args)
    try:
        reply = client.status()
    except DaemonUnavailable:
        raise _unavailable(
            client,
            "start one with `streamd start` (the hook decides each call itself meanwhile)",
        ) from None
    except DaemonError as exc:
        raise CommandError(f"the daemon answered with an error: {exc}") from None
    render_status(reply, as_json=args.json, out=sys.stdout)
    return 0


def _stop(args: argparse.Namespace) -> int:
    import time

    from ._api import DaemonClient, DaemonError, DaemonUnavailable

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
            from ._spawn import forget

            forget(path)
            print(f"stopped the daemon (pid {reply.pid}) on {path}")
            return 0
        time.sleep(0.05)
    raise CommandError(f"the daemon (pid {reply.pid}) is still answering after 15 s")


def _start(args: argparse.Namespace) -> int:
    from ._api import DaemonClient, DaemonUnavailable
    from ._spawn import DaemonDidNotStart, start_detached

    path = _socket(args)
    try:
        pong = DaemonClient(path, timeout=2.0).ping()
    except DaemonUnavailable:
        pass
    else:
        print(f"a daemon (streamd {pong.version}, pid {pong.pid}) already listens on {path}")
        return 0
    extra = ["--idle-timeout", str(args.idle_timeout), "--lanes", str(args.lanes)]
    extra += ["--read-budget", str(args.read_budget), "--log-level", args.log_level]
    try:
        started = start_detached(path, *extra)
    except DaemonDidNotStart as exc:
        raise CommandError(str(exc)) from None
    print(f"started the daemon (pid {started.pid}) on {started.socket}")
    print(f"  log {started.log}")
    print(f"  pid {started.pid_file}")
    return 0


def _restart(args: argparse.Namespace) -> int:
    from ._api import DaemonClient, DaemonUnavailable

    try:
        DaemonClient(_socket(args), timeout=2.0).ping()
    except DaemonUnavailable:
        pass
    else:
        _stop(args)
    return _start(args)


def _doctor(args: argparse.Namespace) -> int:
    from . import _doctor

    return _doctor.run(_socket(args), sys.stdout)


def _hook(args: argparse.Namespace) -> int:
    from . import _install

    if args.action == "hosts":
        print(hosts.table())
        return 0
    if args.action == "status":
        return _hook_status(args)
    if args.host == "all":
        if args.action != "install":
            raise CommandError("--host all goes with install; name a host to uninstall")
        homes = [name for name in hosts.NAMES if _host_folder(name, args.scope).is_dir()]
        if homes:
            _write_launcher()
        if not homes:
            raise CommandError(
                "no agent's config folder was found (~/.claude, ~/.codex, ...); name a host"
            )
        failed = []
        for name in homes:
            try:
                _install_one(args, name)
            except StreamdError as exc:
                failed.append(name)
                print(f"{hosts.get(name).title}: not installed: {exc}")
        skipped = sorted(set(hosts.NAMES) - set(homes))
        if skipped:
            print(f"skipped (no config folder): {', '.join(skipped)}")
        done = len(homes) - len(failed)
        failures = f"; failed: {', '.join(failed)}" if failed else ""
        print(f"installed for {done} of {len(homes)} agents{failures}")
        return 1 if failed else 0
    if args.action == "command":
        _write_launcher(quiet=True)
        print(_install.hook_command(_chosen_socket(args), host=args.host))
        return 0
    if args.action == "install":
        _write_launcher()
        _install_one(args, args.host)
        return 0
    path, project = _config(args.host, args.scope)
    try:
        changed = _install.uninstall(path, args.host, project=project)
    except OSError as exc:
        raise CommandError(str(exc)) from None
    print(f"{'removed the hook from' if changed else 'no streamd hook in'} {path}")
    return 0


def _host_folder(name: str, scope: str) -> Path:
    installer = hosts.get(name).installer
    relative = installer.user_file if scope == "user" else installer.project_file
    if relative is None:
        return Path("/nonexistent")
    base = Path.home() if scope == "user" else Path.cwd()
    return (base / relative).parent


def _config(name: str, scope: str) -> tuple[Path, Path | None]:
    """The host's config file for ``scope``, and the project it lies in (None: home)."""
    from . import _install

    project = Path.cwd() if scope == "project" else None
    return _install.settings_path(name, scope, project), project


def _chosen_socket(args: argparse.Namespace) -> str | None:
    """The socket the user named (checked like any), which the hook command then carries;
    None: the hook finds it by the common rule."""
    return _socket(args) if args.socket else None


def _write_launcher(*, quiet: bool = False) -> None:
    from . import _launcher

    try:
        if _launcher.write_launcher() and not quiet:
            print(f"wrote the hook launcher {_launcher.launcher_path()}")
    except OSError as exc:
        raise CommandError(f"cannot write the hook launcher: {exc}") from None
    root = _launcher.package_root()
    fragile = _launcher.fragile(root)
    if fragile:
        warning = (
            f"warning: the hook runs streamd from {root}, and {fragile}; install streamd "
            "with `pipx install` or `uv tool install` for a hook that lasts"
        )
        print(warning, file=sys.stderr if quiet else sys.stdout)


def _install_one(args: argparse.Namespace, name: str) -> None:
    from . import _install

    command = _install.hook_command(_chosen_socket(args), host=name)
    path, project = _config(name, args.scope)
    try:
        changed = _install.install(path, command, name, project=project)
    except OSError as exc:
        raise CommandError(str(exc)) from None
    host = hosts.get(name)
    print(f"{host.title}: {'installed the hook in' if changed else 'already installed in'} {path}")
    notice = host.installer.notice
    if notice:
        print(f"  {notice}")


def _hook_status(args: argparse.Namespace) -> int:
    """Per host and scope: is the hook installed, will its command keep working, does it
    reach the daemon, and when did the daemon last hear from that host. Exit 1 when a
    problem was found."""
    import time

    from . import _checks, _install
    from ._api import DaemonClient, DaemonError, DaemonUnavailable
    from ._spawn import recorded_socket

    socket = _socket(args)
    heard: dict[str, float] = {}
    listening: str | None = socket
    try:
        for session in DaemonClient(socket, timeout=2.0).status().sessions:
            heard[session.host] = max(heard.get(session.host, 0.0), session.last_seen)
    except (DaemonUnavailable, DaemonError):
        print("(no daemon answers: last heard is unknown)")
        listening = recorded_socket()
    now = time.time()
    problems = 0
    for h in hosts.every():
        name = h.name
        last = f"last heard {now - heard[name]:.0f} s ago" if name in heard else "not heard"
        print(f"{h.title} ({name}): {last}")
        for scope in ("user", "project"):
            try:
                path = _install.settings_path(name, scope, Path.cwd())
            except _install.SettingsError:
                continue
            commands = _install.installed(path, name)
            if not commands:
                print(f"  {scope:<7}  not installed ({path})")
                continue
            complete = len(commands) >= len(h.events)
            state = "installed" if complete else "partly installed"
            print(f"  {scope:<7}  {state} in {path}")
            print(f"           runs {commands[0]}")
            found = _checks.command_problems(commands[0], name)
            mismatch = _checks.socket_problem(commands[0], listening)
            found += [mismatch] if mismatch else []
            for problem in found:
                print(f"           {problem}")
            problems += len(found) + (not complete)
            if name == "codex":
                print("           Codex runs it only once trusted in /hooks (by this command)")
    return 1 if problems else 0


def _service(args: argparse.Namespace) -> int:
    from . import _service

    path = _socket(args)
    try:
        plan = _service.plan(args.manager or _service.default_manager(), path)
        if args.action == "print":
            sys.stdout.write(_service.render(plan))
            return 0
        if args.action == "install":
            lines, done = _service.install(plan, dry_run=args.dry_run, socket_path=path)
        else:
            lines, done = _service.uninstall(plan), True
    except (_service.ServiceError, OSError) as exc:
        raise CommandError(str(exc)) from None
    print("\n".join(lines))
    return 0 if done else 1


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamd", description="A loop detector for AI coding agents."
    )
    parser.add_argument("--version", action="version", version=f"streamd {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from streamd.shared._formats import FORMATS

    formats = list(FORMATS)
    replay = sub.add_parser(
        "replay", help="classify a session log or an agent's transcript offline, step by step"
    )
    replay.add_argument("log", help="a session log (.dos/streams/*.jsonl) or a transcript")
    replay.add_argument("--policy", help="a dos.toml to take the policy from")
    replay.add_argument("--format", choices=formats, help="default: told from the file")
    replay.add_argument("--json", action="store_true", help="one JSON object per step")
    replay.add_argument(
        "--only-fired", action="store_true", help="only the steps at which a rule fired"
    )
    replay.add_argument(
        "--context",
        type=int,
        default=0,
        metavar="N",
        help="with the steps that fired, N steps around each",
    )
    replay.add_argument(
        "--digests", action="store_true", help="the digests instead of the arguments and results"
    )
    replay.set_defaults(handler=_replay)

    report = sub.add_parser(
        "report", help="what streamd would have caught in transcripts, and what the loops cost"
    )
    report.add_argument(
        "paths", nargs="*", help="files or folders (default: the agents' transcript folders)"
    )
    report.add_argument("--policy", help="a dos.toml to take the policy from")
    report.add_argument("--format", choices=FORMATS, help="default: told from each file")
    report.add_argument("--since", help="only sessions started on or after this date (UTC)")
    report.add_argument(
        "--until", help="only sessions started before this time, or on or before this date"
    )
    report.add_argument(
        "--group-by",
        choices=("day", "project"),
        help="totals per day or project; the page groups its sessions so (default project)",
    )
    report.add_argument(
        "--price",
        action="append",
        metavar="MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]]",
        help="what a model's tokens cost per million (MODEL may be a glob); repeatable",
    )
    report.add_argument(
        "--prices", metavar="FILE", help='a TOML file of [prices."MODEL"] tables (see README)'
    )
    report.add_argument(
        "--jobs",
        type=positive_int,
        metavar="N",
        help="processes reading transcripts at once (default: one per core)",
    )
    report.add_argument("--json", action="store_true", help="one JSON object")
    report.add_argument("--html", metavar="FILE", help="also write a self-contained page")
    report.add_argument(
        "--no-excerpts", action="store_true", help="leave every error and result text out"
    )
    report.add_argument(
        "--otlp",
        action="store_true",
        help="also send the findings to the OTLP collector OTEL_EXPORTER_OTLP_ENDPOINT names, "
        "with the transcripts' own times (needs streamd[otel])",
    )
    report.add_argument(
        "--stop-at",
        type=positive_int,
        metavar="N",
        help="what if a circuit breaker stopped the agent when one loop reached N",
    )
    report.add_argument(
        "--budget",
        type=positive_int,
        metavar="N",
        help="what if it stopped the agent once N calls of a session fell inside loops",
    )
    report.set_defaults(handler=_report)

    socket_help = SOCKET_HELP
    serve = sub.add_parser("serve", help="run the daemon in the foreground")
    add_serve_arguments(serve)
    serve.set_defaults(handler=_serve)

    status = sub.add_parser("status", help="show the daemon and its live sessions")
    status.add_argument("--socket", help=socket_help)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)

    start = sub.add_parser(
        "start", help="run the daemon in the background, its log in your state folder"
    )
    add_serve_arguments(start)
    start.set_defaults(handler=_start)

    restart = sub.add_parser("restart", help="stop the daemon if it runs, then start it")
    add_serve_arguments(restart)
    restart.set_defaults(handler=_restart)

    doctor = sub.add_parser(
        "doctor",
        help="check the whole set-up (hooks, daemon, policy, logs); exit 0 when all is well",
    )
    doctor.add_argument("--socket", help=socket_help)
    doctor.set_defaults(handler=_doctor)

    stop = sub.add_parser("stop", help="stop the daemon")
    stop.add_argument("--socket", help=socket_help)
    stop.set_defaults(handler=_stop)

    hook = sub.add_parser("hook", help="the hook command, and installing it into a host")
    hook.add_argument("action", choices=["command", "install", "uninstall", "status", "hosts"])
    hook.add_argument("--socket", help=socket_help)
    hook.add_argument(
        "--host",
        choices=[*hosts.NAMES, "all"],
        default="claude",
        help="the agent whose hook config to write (default claude); with install, `all` "
        "installs for every agent whose config folder exists",
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
    from ._terminal import SafeWriter

    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeWriter(out), SafeWriter(err)
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except StreamdError as exc:  # CommandError, and any other that says what to do
        print(f"streamd {args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
