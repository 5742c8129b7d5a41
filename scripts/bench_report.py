"""What ``streamd report`` costs against merely reading its input: the report over
generated Claude Code transcripts, side by side with reading and JSON-decoding the same
lines with msgspec, alternating, in one run; medians of the rounds.

By default the transcripts are laid out as Claude Code writes them (each entry's
metadata, a model turn's usage, some prose between calls, the result twice) and sized
as the development corpus is: results of about 1.4 kB on average with a long tail,
one call in five repeating one of the ten before it, and one in fifty opening a loop of
three to eight identical calls with identical output. ``--dense`` writes the earlier,
harder layout: bare entries, and a third of the calls repeating.

    python scripts/bench_report.py [--megabytes 1024] [--rounds 2] [--dense] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import msgspec

from streamd.client._report import build
from streamd.shared import Policy

WORDS = ("test", "value", "config", "module", "import", "error", "path", "result", "data")


def session_lines(rng: random.Random, session: str, calls: int) -> list[str]:
    lines = []
    for n in range(calls):
        command = f"pytest tests/test_{rng.choice(WORDS)}.py -k case_{rng.randint(0, 9)}"
        if n % 17 in (5, 6, 7):
            command = "pytest tests/test_loop.py"  # a short loop now and then
        body = "\n".join(
            f"{i:5d}  {rng.choice(WORDS)} = {rng.choice(WORDS)}({rng.randint(0, 999)})"
            for i in range(rng.randint(10, 60))
        )
        use = {"type": "tool_use", "id": f"toolu_{session}_{n}", "name": "Bash",
               "input": {"command": command}}  # fmt: skip
        lines.append(json.dumps({
            "type": "assistant", "sessionId": session, "cwd": "/w",
            "timestamp": "2026-11-20T10:00:00Z",
            "message": {"role": "assistant", "content": [use]},
        }))  # fmt: skip
        result = {"stdout": f"{body}\n1 passed in 0.{rng.randint(10, 99)}s", "stderr": "",
                  "interrupted": False, "isImage": False}  # fmt: skip
        lines.append(json.dumps({
            "type": "user", "sessionId": session, "cwd": "/w",
            "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": use["id"], "content": result["stdout"]}]},
            "toolUseResult": result,
        }))  # fmt: skip
    return lines


def output(rng: random.Random) -> str:
    """A command's output: about 1.4 kB on average, with a long tail."""
    size = min(40_000, int(rng.lognormvariate(6.6, 1.0)))
    body: list[str] = []
    length = 0
    while length < size:
        row = f"{len(body):5d}  {rng.choice(WORDS)} = {rng.choice(WORDS)}({rng.randint(0, 999)})"
        body.append(row)
        length += len(row) + 1
    return "\n".join(body)


def claude_lines(rng: random.Random, session: str, calls: int) -> list[str]:
    """A session as Claude Code writes one (the fields of real 2.1 entries)."""
    meta = {"cwd": "/home/dev/project", "gitBranch": "main", "isSidechain": False,
            "sessionId": session, "userType": "external", "version": "2.1.39"}  # fmt: skip
    lines: list[str] = []
    recent: list[str] = []
    parent: str | None = None

    def entry(kind: str, message: dict[str, object], n: int, **more: object) -> str:
        nonlocal parent
        uuid = f"{session}-{len(lines):06d}"
        stamp = f"2026-11-20T10:{n // 60 % 60:02d}:{n % 60:02d}.{rng.randint(0, 999):03d}Z"
        line = json.dumps({**meta, "parentUuid": parent, "uuid": uuid, "timestamp": stamp,
                           "type": kind, "message": message, **more})  # fmt: skip
        parent = uuid
        return line

    looping = 0  # calls left in a loop: the same command, the same output
    stdout = ""
    for n in range(calls):
        if looping:
            looping -= 1
            command = recent[-1]
        elif rng.random() < 0.02:
            looping = rng.randint(2, 7)  # now and then a loop of 3 to 8 calls
            command = f"pytest tests/test_loop_{n}.py"
        elif recent and rng.random() < 0.2:
            command = rng.choice(recent[-10:])  # one call in five repeats a recent one
        else:
            command = f"pytest tests/test_{rng.choice(WORDS)}_{n}.py -k case_{rng.randint(0, 99)}"
        repeated = (
            bool(recent) and command == recent[-1] and command.startswith("pytest tests/test_loop")
        )
        recent.append(command)
        usage = {"input_tokens": 6, "cache_creation_input_tokens": rng.randint(0, 900),
                 "cache_read_input_tokens": 20_000 + 300 * n,
                 "output_tokens": rng.randint(20, 400)}  # fmt: skip
        blocks: list[dict[str, object]] = []
        if n % 3 == 0:
            prose = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
            blocks.append({"type": "text", "text": prose})
        use = {"type": "tool_use", "id": f"toolu_{session}_{n}", "name": "Bash",
               "input": {"command": command, "description": "run the tests"}}  # fmt: skip
        message: dict[str, object] = {
            "id": f"msg_{session}_{n}", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5", "content": [*blocks, use], "usage": usage,
        }  # fmt: skip
        lines.append(entry("assistant", message, n, requestId=f"req_{session}_{n}"))
        if not repeated:
            stdout = output(rng)
        result = {"type": "tool_result", "tool_use_id": use["id"], "content": stdout,
                  "is_error": False}  # fmt: skip
        lines.append(entry(
            "user", {"role": "user", "content": [result]}, n,
            toolUseResult={"stdout": stdout, "stderr": "", "interrupted": False,
                           "isImage": False},
            sourceToolAssistantUUID=parent,
        ))  # fmt: skip
    return lines


def generate(root: Path, megabytes: int, *, dense: bool = False) -> int:
    rng = random.Random(7)
    written = n = 0
    while written < megabytes * 1024 * 1024:
        make = session_lines if dense else claude_lines
        text = "\n".join(make(rng, f"s{n:05d}", 200)) + "\n"
        (root / f"s{n:05d}.jsonl").write_text(text)
        written += len(text)
        n += 1
    return written


def decode_only(root: Path) -> float:
    decoder = msgspec.json.Decoder()
    started = time.perf_counter()
    for path in sorted(root.iterdir()):
        with open(path, "rb") as f:
            for line in f:
                decoder.decode(line)
    return time.perf_counter() - started


def report_only(root: Path, jobs: int) -> tuple[float, int]:
    started = time.perf_counter()
    report = build([str(root)], Policy(), jobs=jobs)
    return time.perf_counter() - started, report.tool_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dense", action="store_true", help="the earlier, denser layout")
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes reading at once (streamd's default: all)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sdreport-"))
    try:
        size = generate(root, args.megabytes, dense=args.dense)
        decodes, reports = [], []
        calls = 0
        for _ in range(args.rounds):
            decodes.append(decode_only(root))
            seconds, calls = report_only(root, args.jobs)
            reports.append(seconds)
        d, r = statistics.median(decodes), statistics.median(reports)
        print(f"{size / 1e6:,.0f} MB, {len(os.listdir(root))} files, {calls:,} tool calls")
        print(f"msgspec read+decode: median {d:.2f} s ({size / 1e6 / d:,.0f} MB/s)")
        print(f"streamd report:      median {r:.2f} s ({size / 1e6 / r:,.0f} MB/s), "
              f"{args.jobs} process{'es' if args.jobs > 1 else ''}")  # fmt: skip
        print(f"ratio {r / d:.1f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
