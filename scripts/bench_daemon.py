"""The daemon's memory with many live sessions, and its cost to restart on many logs.

    python scripts/bench_daemon.py memory  [--sessions 10000]
    python scripts/bench_daemon.py restart [--logs 10000] [--steps 10000] [--probe 200]

memory: one step each for N sessions through the socket protocol, then the daemon's RSS
(and its RSS before any session, beside it).
restart: N session logs of M steps written to disk, then the time from starting the
daemon to its first answer, and the latency of the first call on each of ``--probe``
sessions (each recovers from its log's tail) beside a warm call's p50. Exits 1 if the
daemon did not hold every session or a recovered session continued its run wrongly.
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

from _report import print_report

from streamd.client import DaemonClient, start_daemon
from streamd.client._transport import Connection
from streamd.shared import Step, adapt_event, encode_record, log_path
from streamd.shared._wire import decode_answer as parse_answer
from streamd.shared._wire import encode_step as step_payload


def start_timed(socket_path: str) -> tuple[subprocess.Popen[bytes], float]:
    """The daemon, and seconds from spawning it to its first answer."""
    started = time.perf_counter()
    proc = start_daemon(socket_path, timeout=30)
    return proc, time.perf_counter() - started


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


class Client:
    """One persistent connection speaking the shim's Step request."""

    def __init__(self, socket_path: str) -> None:
        self.connection = Connection(socket_path, timeout=30)

    def step(self, workspace: str, raw: bytes) -> bytes:
        reply = self.connection.ask(step_payload(raw, workspace.encode(), None, None, "claude"))
        answer = parse_answer(reply)
        if answer is None:
            raise SystemExit("the daemon did not answer a step")
        return answer

    def close(self) -> None:
        self.connection.close()


def event(workspace: str, session: str, n: int) -> bytes:
    return json.dumps(
        {
            "session_id": session,
            "cwd": workspace,
            "hook_event_name": "PostToolUse",
            "tool_name": "Read",
            "tool_input": {"file_path": "/srv/a.txt"},
            "tool_response": "unchanged",
            "tool_use_id": f"toolu_{session}_{n}",
        }
    ).encode()


def memory(args: argparse.Namespace, root: Path) -> dict[str, object]:
    socket_path = str(root / "d.sock")
    workspace = str(root / "ws")
    proc, _ = start_timed(socket_path)
    try:
        before = rss_mb(proc.pid)
        client = Client(socket_path)
        for i in range(args.sessions):
            client.step(workspace, event(workspace, f"mem-{i:06d}", 0))
        client.close()
        status = DaemonClient(socket_path, timeout=30).status()
        after = rss_mb(proc.pid)
        return {
            "sessions": args.sessions,
            "live_sessions": len(status.sessions),
            "rss_mb_idle": round(before, 1),
            "rss_mb": round(after, 1),
            "ok": len(status.sessions) == args.sessions,
        }
    finally:
        proc.terminate()
        proc.wait(30)


def write_logs(workspace: str, logs: int, steps: int) -> None:
    """``logs`` session logs of ``steps`` records, each ending in a 2-step run of the
    step ``event`` makes, so one more such call makes it REPEATING."""
    repeated = adapt_event(json.loads(event(workspace, "x", 0))).step
    assert repeated is not None
    body = bytearray()
    for i in range(steps):
        step = repeated if i >= steps - 2 else Step("Read", repeated.args_digest, f"{i:016x}")
        body += encode_record(step, step_index=i, tool_use_id=f"toolu_old_{i}")
    for n in range(logs):
        path = log_path(workspace, f"old-{n:06d}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
    os.sync()


def restart(args: argparse.Namespace, root: Path) -> dict[str, object]:
    socket_path = str(root / "d.sock")
    workspace = str(root / "ws")
    started = time.perf_counter()
    write_logs(workspace, args.logs, args.steps)
    written = time.perf_counter() - started
    dropped = False
    if args.drop_caches:  # the whole machine's, so only when asked (never from the tests)
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            dropped = True
        except OSError:
            pass
    proc, ready = start_timed(socket_path)
    try:
        client = Client(socket_path)
        probe = [f"old-{n:06d}" for n in range(0, args.logs, max(1, args.logs // args.probe))]
        first, ok = [], True
        for session in probe:
            t = time.perf_counter()
            answer = client.step(workspace, event(workspace, session, 1))
            first.append(time.perf_counter() - t)
            ok &= b"REPEATING" in answer  # a recovered 2-step run becomes 3
        warm = []
        for n in range(2, 2 + args.probe):
            t = time.perf_counter()
            client.step(workspace, event(workspace, probe[0], n))
            warm.append(time.perf_counter() - t)
        client.close()
    finally:
        proc.terminate()
        proc.wait(30)
    return {
        "logs": args.logs,
        "steps_per_log": args.steps,
        "bytes_on_disk": args.logs * os.path.getsize(log_path(workspace, "old-000000")),
        "seconds_to_write": round(written, 1),
        "page_cache_dropped": dropped,
        "ready_s": round(ready, 3),
        "first_call_p50_ms": round(statistics.median(first) * 1e3, 3),
        "first_call_max_ms": round(max(first) * 1e3, 3),
        "warm_call_p50_ms": round(statistics.median(warm) * 1e3, 3),
        "first_over_warm": round(statistics.median(first) / statistics.median(warm), 2),
        "ok": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    mem = sub.add_parser("memory")
    mem.add_argument("--sessions", type=int, default=10_000)
    rst = sub.add_parser("restart")
    rst.add_argument("--logs", type=int, default=10_000)
    rst.add_argument("--steps", type=int, default=10_000)
    rst.add_argument("--probe", type=int, default=200)
    rst.add_argument(
        "--drop-caches", action="store_true", help="drop the page cache first (root; machine-wide)"
    )
    for p in (mem, rst):
        p.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sdb-", dir="/tmp"))
    try:
        report = memory(args, root) if args.what == "memory" else restart(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(report, as_json=args.json)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
