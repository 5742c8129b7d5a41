"""Break a promise in a copy of the code, run the suite against it, and list the tests
that caught it: how ``docs/promises.md`` was checked.

    python scripts/mutate.py [NAME ...] [--pytest-args "-x -q"]

Each mutation is a text substitution in one file of a fresh copy of this checkout; the
suite runs with that copy first on ``PYTHONPATH``, so the daemon, the hook and the CLI
it starts are the broken ones. A mutation that no test catches exits 1.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MUTATIONS: dict[str, tuple[str, str, str]] = {
    "no-fsync": (
        "shared/_log.py",
        "line[written:])\n            os.fsync(self.fd)",
        "line[written:])",
    ),
    "no-directory-fsync": (
        "shared/_log.py",
        "            os.fsync(parent)  # the new log's name",
        "            pass  # the new log's name",
    ),
    "timer-never-armed": (
        "client/_shim.py",
        "    _signal.setitimer(_signal.ITIMER_REAL, seconds)",
        "    return",
    ),
    "one-connection-at-a-time": (
        "daemon/_server.py",
        "                    tg.start_soon(self._connection, stream)",
        "                    await self._connection(stream)",
    ),
    "daemon-answers-error": (
        "daemon/_server.py",
        "        started = time.perf_counter()\n",
        '        return proto.Error("internal", "mutated")\n',
    ),
    "stall-guard-always-true": (
        "daemon/_server.py",
        "    def wanted() -> bool:\n        try:",
        "    def wanted() -> bool:\n        return True\n        try:",
    ),
}


def mutated_copy(name: str, into: Path) -> Path:
    """A copy of the checkout with the mutation applied, and a package root over it."""
    path, old, new = MUTATIONS[name]
    tree = into / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.pyc"))
    target = tree / path
    text = target.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"{name}: the text to mutate is not in {path} exactly once")
    target.write_text(text.replace(old, new))
    package = into / "pkg" / "streamd"
    package.mkdir(parents=True)
    for part in ("shared", "client", "daemon"):
        (package / part).symlink_to(tree / part)
    return tree


def run(name: str, pytest_args: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix=f"mutant-{name}-") as tmp:
        tree = mutated_copy(name, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "pkg")}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *pytest_args],
            cwd=tree, env=env, capture_output=True, text=True,
        )  # fmt: skip
    return re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=list(MUTATIONS))
    parser.add_argument("--pytest-args", default="-m 'not e2e'")
    args = parser.parse_args()
    uncaught = []
    for name in args.names:
        failed = run(name, shlex.split(args.pytest_args))
        print(f"{name}: caught by {len(failed)} test(s)", flush=True)
        for test in failed:
            print(f"  {test}")
        if not failed:
            uncaught.append(name)
    if uncaught:
        raise SystemExit(f"not caught: {', '.join(uncaught)}")


if __name__ == "__main__":
    main()
