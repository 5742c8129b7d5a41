"""Measure tail recovery against log length: a 10-step log against a 100,000-step one.

    python scripts/bench_tail.py [--runs 2000] [--lengths 10,100000]

Each log ends in a 3-step identical run; a full replay is timed beside it for scale.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from streamd.shared import Detector, Policy, Step, encode_record, read_records, recover


def make_log(path: Path, steps: int) -> None:
    with open(path, "wb") as f:
        for i in range(steps):
            tail = i >= steps - 3
            step = Step("Read", "a" * 16, "r" * 16 if tail else f"{i:016x}")
            f.write(encode_record(step, step_index=i, tool_use_id=f"toolu_{i:08d}"))


def time_calls(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--lengths", default="10,100000")
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    policy = Policy()
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        header = ("steps", "bytes", "recover p50", "p99", "full replay p50")
        print("{:>8}  {:>10}  {:>12}  {:>10}  {:>15}".format(*header))
        for n in lengths:
            path = Path(tmp) / f"s{n}.jsonl"
            make_log(path, n)
            tracker = recover(str(path), policy, tool_use_id="toolu_none").detector
            got = (tracker.exact.run, tracker.steps)
            assert got == (3, n), got
            samples = time_calls(
                lambda p=str(path): recover(p, policy, tool_use_id="toolu_none"), args.runs
            )
            full_runs = max(3, min(args.runs, 200_000 // n))
            full = time_calls(lambda p=str(path): _full_replay(p, policy), full_runs)
            results[n] = statistics.median(samples)
            samples.sort()
            print(
                f"{n:>8}  {path.stat().st_size:>10}  {results[n] * 1e6:>10.1f}us  "
                f"{samples[int(len(samples) * 0.99)] * 1e6:>8.1f}us  "
                f"{statistics.median(full) * 1e3:>13.2f}ms"
            )
    if len(lengths) >= 2:
        ratio = results[lengths[-1]] / results[lengths[0]]
        print(f"recover p50 ratio {lengths[-1]} / {lengths[0]} steps: {ratio:.2f}")


def _full_replay(path: str, policy: Policy) -> Detector:
    tracker = Detector(policy)
    for record in read_records(path):
        tracker.push(record.step)
    return tracker


if __name__ == "__main__":
    main()
