"""Start time of the operator command: ``streamd --help``, ``--version``, ``status`` and
``hook status``, each a fresh process, as a user runs them.

    python scripts/bench_cli.py [--runs 30] [--against ROOT]

``--against ROOT`` times another streamd too (``ROOT/streamd/{shared,client,daemon}``,
say an older checkout), interleaved call by call in the same run. No daemon listens, so
``status`` measures starting, finding none and saying so. Prints medians in ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = (["--help"], ["--version"], ["status"], ["hook", "status"])


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--against", metavar="ROOT", help="another streamd's package root")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        base = {**os.environ, "HOME": home, "STREAMD_SOCKET": os.path.join(home, "none.sock")}
        variants = {"this": base}
        if args.against:
            variants["against"] = {**base, "PYTHONPATH": args.against}
        print(f"{'command':<14}" + "".join(f"{name:>10}" for name in variants))
        for command in COMMANDS:
            argv = [sys.executable, "-m", "streamd.client", *command]
            samples: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.runs):
                for name, env in variants.items():
                    samples[name].append(timed(argv, env))
            medians = {name: statistics.median(s) * 1e3 for name, s in samples.items()}
            row = f"{' '.join(command):<14}" + "".join(f"{m:>8.1f}ms" for m in medians.values())
            if args.against:
                row += f"   this / against = {medians['this'] / medians['against']:.2f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
