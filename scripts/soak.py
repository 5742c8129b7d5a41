"""Soak and crash harness: many concurrent sessions against a real daemon, then a check
that nothing was lost, doubled or answered differently from a clean run.

    python scripts/soak.py [--sessions 64] [--shim-sessions 4] [--seconds 10]
    python scripts/soak.py --crash [--kills 20] [--down 3]

Direct clients speak the socket protocol on persistent connections (the shim's
transport, a thread each) and, exactly as the shim does, decide in-process from the log
when the daemon does not answer within a second. Shim
clients run the real hook as a subprocess. Crash mode SIGKILLs the daemon at random
moments and restarts it, once leaving it down for ``--down`` seconds.

Reported: the steps the daemon fsynced and answered itself per second (its own count,
apart from those the clients decided from the log), latency p50/p99, the daemon's peak
RSS, and beside them this disk's raw fsync rate from the same number of concurrent
writers. Then verified: every log holds exactly the answered steps in order, no line
the reader rejects (but a torn tail), every answer equals a clean run's, and each
session's last verdict equals a full offline replay of its log. Exits 1 if any check
fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _report import print_report

from streamd.client import DaemonClient, DaemonError, DaemonUnavailable, shim_path, start_daemon
from streamd.client._shim import ANSWER_TIMEOUT, printed
from streamd.client._transport import Connection, NoAnswer
from streamd.shared import (
    DEFAULT_POLICY,
    Detector,
    HookRequest,
    decide,
    handle_offline,
    log_path,
    parse_line,
    read_records,
    resolve,
)
from streamd.shared._wire import encode_step as step_payload

RUNS = [1, 2, 3, 1, 5, 7, 4, 1, 6]


def event(workspace: str, session: int, k: int) -> bytes:
    """Step ``k`` of a session: runs of identical results of varying lengths."""
    position, block = k, 0
    while position >= RUNS[block % len(RUNS)]:
        position -= RUNS[block % len(RUNS)]
        block += 1
    return json.dumps(
        {
            "session_id": f"soak-{session:04d}",
            "cwd": workspace,
            "hook_event_name": "PostToolUse",
            "tool_name": "Read",
            "tool_input": {"file_path": f"/srv/{session % 7}.txt"},
            "tool_response": f"content {block} of session {session}",
            "tool_use_id": f"toolu_{session:04d}_{k:07d}",
        }
    ).encode()


@dataclass
class SessionLog:
    session: int
    via_shim: bool
    answers: list[bytes] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    fallbacks: int = 0


class Daemon:
    def __init__(self, socket_path: str, log_file: Path) -> None:
        self.socket_path = socket_path
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_kb = 0

    def start(self) -> None:
        with open(self.log_file, "ab") as log:
            self.proc = start_daemon(self.socket_path, log=log, timeout=30)

    def sample_rss(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
        except OSError:
            pass

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.sample_rss()
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def answered(self) -> int | None:
        """Steps this daemon process fsynced and answered itself; None if it is down."""
        try:
            return DaemonClient(self.socket_path, timeout=10).status().steps_answered
        except (DaemonUnavailable, DaemonError):
            return None

    def stop(self) -> None:
        self.sample_rss()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)


def direct_worker(log: SessionLog, workspace: str, socket_path: str, stop: threading.Event) -> None:
    connection = Connection(socket_path, ANSWER_TIMEOUT)
    k = 0
    while not stop.is_set():
        raw = event(workspace, log.session, k)
        payload = step_payload(raw, workspace.encode(), None, None, "claude")
        started = time.perf_counter()
        try:
            answer = printed(connection.ask(payload))
        except NoAnswer:
            answer = None
        if answer is None:
            log.fallbacks += 1
            answer = handle_offline(HookRequest(raw, cwd=workspace))
        log.latencies.append(time.perf_counter() - started)
        log.answers.append(answer)
        k += 1
    connection.close()


def shim_worker(log: SessionLog, workspace: str, socket_path: str, stop: threading.Event) -> None:
    argv = [sys.executable, "-S", "-I", shim_path(), "--socket", socket_path]
    k = 0
    while not stop.is_set():
        started = time.perf_counter()
        done = subprocess.run(
            argv, input=event(workspace, log.session, k), capture_output=True, timeout=10
        )
        log.latencies.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"shim exited {done.returncode}")
        log.answers.append(done.stdout)
        k += 1


def crasher(
    daemon: Daemon,
    seconds: float,
    kills: int,
    down: float,
    rng: random.Random,
    out: list[float],
    stop: threading.Event,
) -> None:
    """SIGKILLs the daemon ``kills`` times at random moments spread over about
    ``seconds`` and restarts it, once after ``down`` seconds; ``out`` gets each kill's
    moment. However slow the machine, every kill happens: the run ends (``stop``) only
    after the last restart has served a while."""
    window = max(0.5, seconds - down - 1.0)
    moments = sorted(rng.uniform(0.2, window) for _ in range(kills))
    long_one = rng.randrange(kills)
    started = time.monotonic()
    for i, moment in enumerate(moments):
        delay = started + moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        daemon.kill()
        out.append(time.monotonic() - started)
        if i == long_one:
            time.sleep(down)
            started += down
        daemon.start()
    time.sleep(0.5)
    stop.set()


def fsync_rate(root: Path, writers: int, seconds: float) -> float:
    """Appends+fsyncs per second from ``writers`` threads, one file each."""
    count = [0] * writers
    stop_at = time.monotonic() + seconds

    def work(i: int) -> None:
        fd = os.open(root / f"raw-{i}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        line = b'{"schema": {"family": "tool-stream", "version": 1}, "op": "STEP"}' * 3 + b"\n"
        try:
            while time.monotonic() < stop_at:
                os.write(fd, line)
                os.fsync(fd)
                count[i] += 1
        finally:
            os.close(fd)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(count) / seconds


def verify(logs: list[SessionLog], workspace: str) -> list[str]:
    problems: list[str] = []
    for log in logs:
        sid = f"soak-{log.session:04d}"
        path = log_path(workspace, sid)
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        bad = [i for i, line in enumerate(lines) if line.strip() and not parse_line(line)]
        if bad and bad != [len(lines) - 1]:
            problems.append(f"{sid}: unreadable lines at {bad}")
        ids = [r.tool_use_id for r in read_records(path)]
        expected_ids = [f"toolu_{log.session:04d}_{k:07d}" for k in range(len(log.answers))]
        if ids != expected_ids:
            problems.append(
                f"{sid}: log holds {len(ids)} steps against {len(expected_ids)} "
                "acknowledged, or out of order"
            )
            continue
        tracker = Detector(DEFAULT_POLICY)
        last = None
        for k, answer in enumerate(log.answers):
            target = resolve(HookRequest(event(workspace, log.session, k), cwd=workspace))
            assert target is not None and target.event.step is not None
            clean = decide(tracker, target).answer
            last = tracker.push(target.event.step)
            if answer != clean:
                problems.append(
                    f"{sid}: step {k} answered {answer[:60]!r}, a clean run {clean[:60]!r}"
                )
                break
        replayed = Detector(DEFAULT_POLICY)
        replay = None
        for record in read_records(path):
            replay = replayed.push(record.step)
        if replay != last:
            problems.append(f"{sid}: last verdict differs from a full replay")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sessions", type=int, default=64, help="direct socket clients, one session each"
    )
    parser.add_argument(
        "--shim-sessions", type=int, default=4, help="sessions driven through the real shim"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--crash", action="store_true", help="SIGKILL and restart the daemon meanwhile"
    )
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument(
        "--down", type=float, default=3.0, help="seconds the daemon stays down once"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fsync-seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="sdsoak-", dir="/tmp"))
    workspace = str(root / "ws")
    os.mkdir(workspace)
    socket_path = str(root / "d.sock")
    report: dict[str, object] = {"sessions": args.sessions, "shim_sessions": args.shim_sessions}
    try:
        raw_dir = root / "raw"
        raw_dir.mkdir()
        report["raw_fsync_per_s"] = round(fsync_rate(raw_dir, args.sessions, args.fsync_seconds))
        shutil.rmtree(raw_dir)

        daemon = Daemon(socket_path, root / "daemon.log")
        daemon.start()
        logs = [SessionLog(i, via_shim=False) for i in range(args.sessions)]
        logs += [SessionLog(args.sessions + i, via_shim=True) for i in range(args.shim_sessions)]
        started = time.monotonic()
        stop = threading.Event()
        kills: list[float] = []
        threads = [
            threading.Thread(
                target=shim_worker if log.via_shim else direct_worker,
                args=(log, workspace, socket_path, stop),
            )
            for log in logs
        ]
        if args.crash:
            rng = random.Random(args.seed)
            threads.append(
                threading.Thread(
                    target=crasher,
                    args=(daemon, args.seconds, args.kills, args.down, rng, kills, stop),
                )
            )
        sampler_stop = threading.Event()

        def sample() -> None:
            while not sampler_stop.wait(0.2):
                daemon.sample_rss()

        sampler = threading.Thread(target=sample)
        sampler.start()
        if not args.crash:
            threads.append(threading.Timer(args.seconds, stop.set))
        for t in threads:
            t.start()

        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        sampler_stop.set()
        sampler.join()
        by_daemon = daemon.answered()
        daemon.stop()

        direct_logs = [log for log in logs if not log.via_shim]
        direct_lat = sorted(t for log in direct_logs for t in log.latencies)
        shim_lat = sorted(t for log in logs if log.via_shim for t in log.latencies)
        answers = sum(len(log.answers) for log in logs)
        direct_fallbacks = sum(log.fallbacks for log in logs)
        # Throughput counts only what the daemon fsynced and answered itself, as its own
        # status says; the rest the clients decided from the log. A crash run restarts
        # the daemon, whose count starts again: there only the last run's is known.
        report.update(
            seconds=round(elapsed, 2),
            answers=answers,
            daemon_answered=by_daemon,
            fallback_decided=None if kills else answers - (by_daemon or 0),
            direct_fallbacks=direct_fallbacks,
            daemon_steps_per_s=None if kills or by_daemon is None else round(by_daemon / elapsed),
            direct_p50_ms=round(statistics.median(direct_lat) * 1e3, 3) if direct_lat else None,
            direct_p99_ms=round(direct_lat[int(len(direct_lat) * 0.99)] * 1e3, 3)
            if direct_lat
            else None,
            shim_p50_ms=round(statistics.median(shim_lat) * 1e3, 3) if shim_lat else None,
            shim_p99_ms=round(shim_lat[int(len(shim_lat) * 0.99)] * 1e3, 3) if shim_lat else None,
            daemon_peak_rss_mb=round(daemon.peak_rss_kb / 1024, 1),
            kills=len(kills),
        )
        problems = verify(logs, workspace)
        report["verified"] = not problems
        report["problems"] = problems[:20]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(report, as_json=args.json)
    return 0 if report["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
