"""Hook latency against session length, measured side by side in one run.

    python scripts/bench_hook.py [--runs 200] [--lengths 10,1000,10000,100000] [--no-go]
                                 [--against ROOT] [--fallback]

For each length, a session log with that many prior steps is written, then the same
event stream is timed, interleaved call by call, through:
  baseline  ``python3 -S -I -c pass`` (the interpreter's own start-up, same stdin)
  streamd   the hook, through the launcher hosts run, talking to a running daemon
  dos-hook  dos-kernel's Go hook (``dos/_bin/dos-hook posttool``), when installed
  against   with ``--against ROOT``, another streamd (``ROOT/streamd/{shared,client,
            daemon}``, say an older checkout) with its own daemon, in the same run
With ``--fallback`` no daemon listens: the shims decide every call themselves.
Each call is a fresh process, as a host runs it. The daemon is warm for the session
(its first call, which recovers from the log's tail, is reported apart).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from streamd.client import start_daemon, stop_daemon
from streamd.client._launcher import render as render_launcher
from streamd.shared import Step, encode_record, log_path

SESSION = "bench-session"


def go_hook() -> str | None:
    try:
        import dos
    except ImportError:
        return None
    path = Path(dos.__file__).parent / "_bin" / "dos-hook"
    return str(path) if path.exists() else None


def write_log(workspace: Path, steps: int) -> None:
    path = Path(log_path(str(workspace), SESSION))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for i in range(steps):
            step = Step("Read", f"{i % 97:016x}", f"{i:016x}")
            f.write(encode_record(step, step_index=i, tool_use_id=f"toolu_prior_{i}"))
        f.flush()
        os.fsync(f.fileno())  # else the first hook's fsync pays for flushing the whole log


def event(workspace: Path, n: int) -> bytes:
    return json.dumps(
        {
            "session_id": SESSION,
            "transcript_path": "/tmp/t.jsonl",
            "cwd": str(workspace),
            "permission_mode": "default",
            "hook_event_name": "PostToolUse",
            "tool_name": "Read",
            "tool_input": {"file_path": "/srv/app/config.yaml"},
            "tool_response": {"type": "text", "file": {"content": "port: 8080\n" * 40}},
            "tool_use_id": f"toolu_bench_{n:06d}",
        }
    ).encode()


def timed(argv: list[str], stdin: bytes) -> tuple[float, bytes]:
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed, done.stdout


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="calls per length for streamd")
    parser.add_argument("--go-runs", type=int, default=30, help="calls per length for dos-hook")
    parser.add_argument("--lengths", default="10,1000,10000,100000")
    parser.add_argument("--no-go", action="store_true", help="skip dos-kernel's Go hook")
    parser.add_argument("--against", metavar="ROOT", help="another streamd's package root")
    parser.add_argument("--fallback", action="store_true", help="no daemon: time the fallback")
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    python = os.path.realpath(sys.executable)
    go = None if args.no_go else go_hook()
    tmp = Path(tempfile.mkdtemp(prefix="sdb-", dir="/tmp"))
    socket_path = str(tmp / "d.sock")
    other_socket = str(tmp / "o.sock")
    daemon = None if args.fallback else start_daemon(socket_path)
    other = None
    if args.against and not args.fallback:
        other = start_daemon(other_socket, env={**os.environ, "PYTHONPATH": args.against})
    launcher = tmp / "hook.py"  # what `streamd hook install` has hosts run
    launcher.write_bytes(render_launcher())
    shim = [python, "-S", "-I", str(launcher), "--socket", socket_path]
    other_hook = os.path.join(args.against or "", "streamd", "client", "hook.py")
    other_shim = [python, "-S", "-I", other_hook, "--socket", other_socket]
    baseline = [python, "-S", "-I", "-c", "pass"]
    rows = []
    against: dict[int, list[float]] = {}
    try:
        for length in lengths:
            ours_ws, go_ws = tmp / f"ours-{length}", tmp / f"go-{length}"
            write_log(ours_ws, length)
            if go:
                write_log(go_ws, length)
            other_ws = tmp / f"other-{length}"
            if args.against:
                write_log(other_ws, length)
                timed(other_shim, event(other_ws, 0))
            first, _ = timed(shim, event(ours_ws, 0))
            base_t, ours_t, go_t, other_t = [], [], [], against.setdefault(length, [])
            for n in range(1, args.runs + 1):
                base_t.append(timed(baseline, event(ours_ws, n))[0])
                ours_t.append(timed(shim, event(ours_ws, n))[0])
                if args.against:
                    other_t.append(timed(other_shim, event(other_ws, n))[0])
                if go and n <= args.go_runs:
                    go_t.append(
                        timed([go, "posttool", "--workspace", str(go_ws)], event(go_ws, n))[0]
                    )
            rows.append((length, first, base_t, ours_t, go_t))
            print(_row(length, first, base_t, ours_t, go_t), flush=True)
    finally:
        if daemon is not None:
            stop_daemon(daemon, socket_path)
        if other is not None:
            stop_daemon(other, other_socket)
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(_header())
    for row in rows:
        print(_row(*row))
    p50 = {length: statistics.median(ours) for length, _, _, ours, _ in rows}
    if len(rows) >= 2:
        print(
            f"\nflatness: streamd p50 at {lengths[-1]} / p50 at {lengths[0]} prior steps = "
            f"{p50[lengths[-1]] / p50[lengths[0]]:.3f}"
        )
    for length, times in against.items() if args.against else ():
        print(
            f"against {args.against} at {length}: p50 {statistics.median(times) * 1e3:.2f} ms; "
            f"this streamd / that one = {p50[length] / statistics.median(times):.3f}"
        )
    all_base = [t for _, _, base, _, _ in rows for t in base]
    all_ours = [t for _, _, _, ours, _ in rows for t in ours]
    print(
        f"overall: streamd p50 {statistics.median(all_ours) * 1e3:.2f} ms / baseline p50 "
        f"{statistics.median(all_base) * 1e3:.2f} ms = "
        f"{statistics.median(all_ours) / statistics.median(all_base):.3f}"
    )


def _header() -> str:
    return (
        f"{'prior steps':>11} | {'baseline p50/p99':>16} | {'streamd p50/p99':>16} | "
        f"{'ratio p50':>9} | {'1st call':>8} | {'dos-hook p50/p99':>17}"
    )


def _row(length: int, first: float, base: list[float], ours: list[float], go: list[float]) -> str:
    go_text = f"{pct(go, 0.5):7.2f}/{pct(go, 0.99):7.2f}" if go else "-"
    return (
        f"{length:>11} | {pct(base, 0.5):7.2f}/{pct(base, 0.99):7.2f}ms | "
        f"{pct(ours, 0.5):7.2f}/{pct(ours, 0.99):7.2f}ms | "
        f"{statistics.median(ours) / statistics.median(base):9.3f} | {first * 1e3:6.2f}ms | "
        f"{go_text:>15}ms"
    )


if __name__ == "__main__":
    main()
