"""The rules' work per step: ``Detector.push`` over a generated stream, every rule on.

    python scripts/bench_rules.py [--steps 20000] [--rounds 15]

The stream mixes what real sessions hold: distinct reads, a test re-run with noisy
durations, failing edits with one fingerprint, a two-call cycle and exempt-free calls
between them. Steps are built once; only ``push`` is timed. Prints the median over
rounds of the mean microseconds a step, and the same for ``peek`` (what the hook does
before it appends).
"""

from __future__ import annotations

import argparse
import statistics
import time

from streamd.shared import DEFAULT_POLICY, Detector, Step


def stream(n: int) -> list[Step]:
    steps: list[Step] = []
    for i in range(n):
        kind = i % 10
        if kind < 4:
            steps.append(Step("Read", f"{i:016x}", f"{i * 7:016x}"))
        elif kind < 6:
            steps.append(Step("Bash", "a" * 16, f"{i:016x}", "s" * 16))
        elif kind < 8:
            steps.append(Step("Edit", f"{i:016x}", f"{i:016x}", None, "f" * 16))
        else:
            steps.append(Step("Grep", f"{kind:016x}", f"{kind:016x}"))
    return steps


def timed(steps: list[Step], rounds: int, peek: bool) -> float:
    samples = []
    for _ in range(rounds):
        detector = Detector(DEFAULT_POLICY)
        started = time.perf_counter()
        if peek:
            for step in steps:
                detector.peek(step)
                detector.push(step)
        else:
            for step in steps:
                detector.push(step)
        samples.append((time.perf_counter() - started) / len(steps) * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    steps = stream(args.steps)
    push = timed(steps, args.rounds, peek=False)
    both = timed(steps, args.rounds, peek=True)
    print(f"push: {push:.2f} us/step; peek+push: {both:.2f} us/step (median of {args.rounds})")


if __name__ == "__main__":
    main()
