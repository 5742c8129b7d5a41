"""What ``streamd report`` costs against merely reading its input: the report over
generated Claude Code transcripts, side by side with reading and JSON-decoding the same
lines with msgspec, alternating, in one run; medians of the rounds.

    python scripts/bench_report.py [--megabytes 1024] [--rounds 2]
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


def generate(root: Path, megabytes: int) -> int:
    rng = random.Random(7)
    written = n = 0
    while written < megabytes * 1024 * 1024:
        text = "\n".join(session_lines(rng, f"s{n:05d}", 200)) + "\n"
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


def report_only(root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    report = build([str(root)], Policy())
    return time.perf_counter() - started, report.tool_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sdreport-"))
    try:
        size = generate(root, args.megabytes)
        decodes, reports = [], []
        calls = 0
        for _ in range(args.rounds):
            decodes.append(decode_only(root))
            seconds, calls = report_only(root)
            reports.append(seconds)
        d, r = statistics.median(decodes), statistics.median(reports)
        print(f"{size / 1e6:,.0f} MB, {len(os.listdir(root))} files, {calls:,} tool calls")
        print(f"msgspec read+decode: median {d:.2f} s ({size / 1e6 / d:,.0f} MB/s)")
        print(f"streamd report:      median {r:.2f} s ({size / 1e6 / r:,.0f} MB/s)")
        print(f"ratio {r / d:.1f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
