"""What a result's shape costs: ``normalize`` against a SHA-256 of the same bytes.

The texts are what tools print (a test run with durations, a numbered file listing, a
build log with timestamps), generated here, at 1 KB, 100 KB and 10 MB. The two are
timed interleaved, call by call, in one run; medians are reported.

    python scripts/bench_shape.py [--runs N] [--sizes 1000,100000,10000000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time

from streamd.shared import failure_gist, normalize

WORDS = ("the", "value", "config", "path", "module", "import", "assert", "error", "item", "data")


def tool_output(size: int, seed: int = 7) -> str:
    """``size`` characters of mixed tool output, the same for the same seed."""
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    n = 0
    while total < size:
        n += 1
        kind = n % 3
        if kind == 0:
            test = f"tests/test_{rng.choice(WORDS)}.py::test_{n}"
            line = f"{test} PASSED [{n % 100:3d}%] in {rng.random():.2f}s"
        elif kind == 1:
            line = f"{n:6d}\t    {rng.choice(WORDS)} = {rng.choice(WORDS)}({rng.randint(0, 99)})"
        else:
            line = (
                f"2026-11-25T17:{n % 60:02d}:{rng.randint(0, 59):02d}Z INFO "
                f"{' '.join(rng.choice(WORDS) for _ in range(6))}"
            )
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=0, help="calls per size (default: by size)")
    parser.add_argument("--sizes", default="1000,100000,10000000")
    args = parser.parse_args()
    header = ("bytes", "sha256 p50", "normalize p50", "ratio", "gist p50")
    print("{:>10}  {:>12}  {:>14}  {:>6}  {:>10}".format(*header))
    for size in (int(s) for s in args.sizes.split(",")):
        text = tool_output(size)
        data = text.encode()
        runs = args.runs or max(5, min(2000, 20_000_000 // size))
        sha: list[float] = []
        norm: list[float] = []
        gist: list[float] = []
        for _ in range(runs):
            t0 = time.perf_counter()
            hashlib.sha256(data).hexdigest()
            t1 = time.perf_counter()
            normalize(text)
            t2 = time.perf_counter()
            failure_gist(text)
            t3 = time.perf_counter()
            sha.append(t1 - t0)
            norm.append(t2 - t1)
            gist.append(t3 - t2)
        s, m, g = statistics.median(sha), statistics.median(norm), statistics.median(gist)
        print(
            f"{len(data):>10}  {s * 1e6:>10.1f}us  {m * 1e6:>12.1f}us  {m / s:>6.1f}  "
            f"{g * 1e6:>8.1f}us"
        )


if __name__ == "__main__":
    main()
