"""Stall, crash and hijack harness: several writers per session run the real hook while
the daemon is stopped and resumed (SIGSTOP/SIGCONT), killed and restarted (SIGKILL), or
replaced by another user's listener; then every log is checked.

    python scripts/stall.py [--mode stop|kill|hijack] [--faults 12] [--no-ids]

Each event is unique (its arguments name its writer and number) and fails the same way
as every other, so the failure rule fires as the writers interleave. Checked per
session: every event sent is recorded exactly once (none lost, none doubled), each
writer's events are in its own order, no line is unreadable, and every answer a writer
got equals the answer a clean replay of the log gives at that event's place. With
``--no-ids`` the events carry no ``tool_use_id`` (as Gemini CLI's), so only the shim's
own key guards them. ``hijack`` mode (root only) has a listener of another user on the
socket; it must hear nothing. Exits 1 on any problem.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _report import print_report

from streamd.client import shim_path, start_daemon
from streamd.shared import (
    DEFAULT_POLICY,
    Detector,
    HookRequest,
    adapt_event,
    decide,
    log_path,
    parse_line,
    read_records,
    resolve,
)


@dataclass
class Writer:
    session: int
    writer: int
    answers: list[bytes] = field(default_factory=list)


def event(workspace: str, session: int, writer: int, k: int, *, ids: bool) -> bytes:
    body: dict[str, object] = {
        "session_id": f"stall-{session:03d}",
        "cwd": workspace,
        "hook_event_name": "PostToolUseFailure",
        "tool_name": "Edit",
        "tool_input": {"file_path": "app.py", "writer": writer, "k": k},
        "error": "Syntax error\n- E999 IndentationError: expected an indented block",
    }
    if ids:
        body["tool_use_id"] = f"toolu_{session}_{writer}_{k}"
    return json.dumps(body).encode()


def write(w: Writer, workspace: str, socket_path: str, stop: threading.Event, ids: bool) -> None:
    argv = [sys.executable, "-S", "-I", shim_path(), "--socket", socket_path]
    k = 0
    while not stop.is_set():
        raw = event(workspace, w.session, w.writer, k, ids=ids)
        done = subprocess.run(argv, input=raw, capture_output=True, timeout=30)
        if done.returncode != 0 or done.stderr:
            raise SystemExit(f"shim exited {done.returncode}: {done.stderr[:200]!r}")
        w.answers.append(done.stdout)
        k += 1


class Faults:
    """Stops and resumes, or kills and restarts, the daemon ``count`` times."""

    def __init__(self, socket_path: str, log_file: Path, mode: str) -> None:
        self.socket_path = socket_path
        self.log_file = log_file
        self.mode = mode
        self.proc: subprocess.Popen[bytes] | None = None
        self.done = 0

    def start(self) -> None:
        with open(self.log_file, "ab") as log:
            self.proc = start_daemon(self.socket_path, log=log, timeout=30)

    def run(self, count: int, rng: random.Random, stop: threading.Event) -> None:
        assert self.proc is not None
        for _ in range(count):
            time.sleep(rng.uniform(0.2, 0.8))
            if self.mode == "stop":
                self.proc.send_signal(signal.SIGSTOP)
                time.sleep(rng.uniform(0.3, 2.5))  # past the shim's 1 s, often
                self.proc.send_signal(signal.SIGCONT)
            else:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
                time.sleep(rng.uniform(0.0, 1.5))
                self.start()
            self.done += 1
        time.sleep(0.5)
        stop.set()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)


STRANGER = """
import os, socket, sys, signal
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
os.setgid(65534); os.setuid(65534)
server.bind(sys.argv[1]); server.listen(64)
heard = [0, 0]
def done(*_):
    print(heard[0], heard[1], flush=True); sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.settimeout(5)
    heard[0] += 1
    try:
        while chunk := conn.recv(65536):
            heard[1] += len(chunk)
    except OSError:
        pass
    conn.close()
"""


def verify(writers: list[Writer], workspace: str, ids: bool) -> dict[str, int]:
    """Counts over every session: sent, recorded, lost, doubled, out of order, wrong."""
    counts = dict(sent=0, recorded=0, lost=0, doubled=0, out_of_order=0, wrong=0, unreadable=0)
    for session in sorted({w.session for w in writers}):
        mine = {w.writer: w for w in writers if w.session == session}
        counts["sent"] += sum(len(w.answers) for w in mine.values())
        path = log_path(workspace, f"stall-{session:03d}")
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        counts["unreadable"] += sum(1 for ln in lines if ln.strip() and not parse_line(ln))
        by_args = {}
        for w in mine.values():
            for k in range(len(w.answers)):
                raw = event(workspace, session, w.writer, k, ids=ids)
                step = adapt_event(json.loads(raw)).step
                assert step is not None
                by_args[step.args_digest] = (w.writer, k, raw)
        seen: dict[tuple[int, int], int] = {}
        last_k = {n: -1 for n in mine}
        tracker = Detector(DEFAULT_POLICY)
        for record in read_records(str(path)):
            counts["recorded"] += 1
            found = by_args.get(record.step.args_digest)
            if found is None:
                counts["wrong"] += 1
                continue
            writer, k, raw = found
            seen[(writer, k)] = seen.get((writer, k), 0) + 1
            if seen[(writer, k)] > 1:
                counts["doubled"] += 1
                continue
            if k < last_k[writer]:
                counts["out_of_order"] += 1
            last_k[writer] = max(last_k[writer], k)
            target = resolve(HookRequest(raw, cwd=workspace))
            assert target is not None and target.event.step is not None
            decision = decide(tracker, target)
            tracker.push(target.event.step)
            if decision.answer != mine[writer].answers[k]:
                counts["wrong"] += 1
        counts["lost"] += sum(
            1 for w in mine.values() for k in range(len(w.answers)) if (w.writer, k) not in seen
        )
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["stop", "kill", "hijack"], default="stop")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--writers", type=int, default=3, help="writers per session")
    parser.add_argument("--faults", type=int, default=12, help="stalls or kills")
    parser.add_argument("--seconds", type=float, default=6.0, help="hijack mode's length")
    parser.add_argument("--no-ids", action="store_true", help="events without tool_use_id")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if args.mode == "hijack" and os.geteuid() != 0:
        print("hijack mode needs root, to listen as another user", file=sys.stderr)
        return 2
    ids = not args.no_ids
    root = Path(tempfile.mkdtemp(prefix="sdstall-", dir="/tmp"))
    workspace = str(root / "ws")
    os.mkdir(workspace)
    socket_path = str(root / "d.sock")
    report: dict[str, object] = {"mode": args.mode, "ids": ids, "writers": args.writers}
    stranger: subprocess.Popen[str] | None = None
    faults = Faults(socket_path, root / "daemon.log", args.mode)
    try:
        if args.mode == "hijack":
            root.chmod(0o777)
            stranger = subprocess.Popen(
                [sys.executable, "-c", STRANGER, socket_path], stdout=subprocess.PIPE, text=True
            )
            assert stranger.stdout is not None and stranger.stdout.readline() == "ready\n"
        else:
            faults.start()
        stop = threading.Event()
        writers = [Writer(s, w) for s in range(args.sessions) for w in range(args.writers)]
        threads = [
            threading.Thread(target=write, args=(w, workspace, socket_path, stop, ids))
            for w in writers
        ]
        if args.mode == "hijack":
            threads.append(threading.Timer(args.seconds, stop.set))
        else:
            rng = random.Random(args.seed)
            threads.append(threading.Thread(target=faults.run, args=(args.faults, rng, stop)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        faults.stop()
        if stranger is not None:
            stranger.send_signal(signal.SIGTERM)
            connections, heard = map(int, stranger.communicate(timeout=10)[0].split())
            report.update(stranger_connections=connections, stranger_bytes=heard)
        report["faults"] = faults.done
        report.update(verify(writers, workspace, ids))
    finally:
        if stranger is not None and stranger.poll() is None:
            stranger.kill()
        faults.stop()
        shutil.rmtree(root, ignore_errors=True)
    bad = ("lost", "doubled", "out_of_order", "wrong", "unreadable")
    ok = all(report[k] == 0 for k in bad) and report.get("stranger_bytes", 0) == 0
    report["verified"] = ok
    print_report(report, as_json=args.json)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
