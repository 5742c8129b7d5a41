"""Every pattern streamd runs over text it did not write (tool results, errors,
transcripts), as the code runs it, and inputs made to make a backtracking pattern
quadratic. Run as a script by ``test_linear.py`` in a subprocess with a time limit, so
a pattern that turns quadratic fails the test by its limit instead of hanging it.

    python -m tests.shared._linear ratios | property
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from streamd.shared import _adapter, _agents, _calls, _shape
from streamd.shared.hosts import codex

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

Use = Callable[[str], object]


def _uses() -> dict[str, Use]:
    s = _shape
    uses: dict[str, Use] = {
        "digit noise": lambda t: list(s._DIGIT_NOISE.finditer(t)),
        "ansi": lambda t: s._ANSI.sub("", t),
        "redraw": s._redrawn,
        "progress": lambda t: s._PROGRESS.sub("<progress>", t),
        "gist": lambda t: list(s._GIST.finditer(t)),
        "test summary": lambda t: list(s._SUMMARY.finditer(t)),
        "not the error": lambda t: s._NOT_THE_ERROR.match(t),
        "long quote": lambda t: s._LONG_QUOTE.sub("<quoted>", t),
        "position": lambda t: s._POSITION.sub(s._no_position, t),
        "tag": lambda t: s._TAG.sub("", t),
        "letter": lambda t: s._LETTER.search(t),
        "blocks": lambda t: s._BLOCKS.sub("<bar>", t),
        "braille": lambda t: s._BRAILLE.sub("", t),
        "month": lambda t: s._MONTH.search(t),
        "error opening": lambda t: _adapter._ERROR_OPENING.match(t),
        "exit line": lambda t: _adapter._EXIT_LINE.search(t),
        "artifact": lambda t: _adapter.artifact_of({}, t, None),
        "writes": lambda t: _calls._WRITES.search(t),
        "canonical command": lambda t: _calls.canonical_command(t, "/w/p"),
        "codex exit": lambda t: codex._EXIT.search(t),
        "bash block": lambda t: _agents._BASH_BLOCK.findall(t),
        "returncode": lambda t: _agents._RETURNCODE.search(t),
        "normalize": s.normalize,
        "failure gist": s.failure_gist,
        "failure of": lambda t: _adapter.failure_of("PostToolUse", t),
    }
    for marker, pattern, replacement in s._AFTER:
        uses[f"pass {marker}"] = lambda t, p=pattern, r=replacement: p.sub(r, t)  # type: ignore[misc]
    return uses


USES = _uses()
# Each made of a run that a backtracking pattern would re-scan from every position.
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "digit run, then a letter": lambda n: "1" * n + "a",
    "blank run, then digits": lambda n: " " * n + "1",
    "hex run, then a word character": lambda n: "1a" * (n // 2) + "g",
    "digits, then 'line '": lambda n: "1" * n + "line ",
    "bars, then ': '": lambda n: "|" * n + ": ",
    "a fence, then newlines": lambda n: "```" + "\n" * n,
    "a bash fence, then newlines": lambda n: "```bash\n" + "\n" * n,
    "carriage returns, then a fence": lambda n: "\r" * n + "```",
    "a digit, then newlines": lambda n: "1" + "\n" * n,
    "fences": lambda n: "g" + "```" * (n // 3),
    "tmp, then a capital": lambda n: "tmp" * (n // 3) + "Z",
    "an open bracket of =": lambda n: "[" + "=" * n,
    "an open bracket of #": lambda n: "[" + "#" * n,
    "a long line, no carriage return": lambda n: "x" * n + "\n\r",
    "an open backtick, then lines": lambda n: "`" + "a\n" * (n // 2),
    "an escape, then digits": lambda n: "\x1b[" + "0" * n,
    "pid, then spaces": lambda n: "pid" + " " * n,
    "dots and words": lambda n: ".a" * (n // 2) + ":",
    "one long word": lambda n: "a" * n,
}
_LINE = (
    "2026-11-30T02:16:{s:02d}Z INFO tests/test_app.py::test_{i} PASSED in 0.{i:03d}s "
    "pid={i} /tmp/pytest-{i}/x port 80{s:02d}\n"
    "    assert total([1, 2, {i}]) == {i}  # line {i}, col 4: ok `x`\n"
)


def ordinary(size: int) -> str:
    """A test run's log: timestamps, durations, pids, paths, code."""
    parts = []
    length = 0
    i = 0
    while length < size:
        line = _LINE.format(i=i, s=i % 60)
        parts.append(line)
        length += len(line)
        i += 1
    return "".join(parts)[:size]


def best(use: Use, text: str, runs: int = 5) -> float:
    """The fastest of ``runs``: what the pattern costs, without what a busy machine's
    other work added to it."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        use(text)
        times.append(time.perf_counter() - started)
    return min(times)


def ratios(size: int = 1 << 20) -> dict[str, dict[str, float]]:
    """Per pattern, its worst adversarial input at ``size`` characters: seconds, that
    over the ordinary input's seconds, and over the same input at a quarter size."""
    plain = ordinary(size)
    out: dict[str, dict[str, float]] = {}
    for name, use in USES.items():
        base = best(use, plain)
        worst = {"seconds": 0.0, "over_ordinary": 0.0, "scaling": 0.0}
        for make in ADVERSARIAL.values():
            whole = best(use, make(size))
            if whole > worst["seconds"]:
                quarter = best(use, make(size // 4))
                worst = {
                    "seconds": whole,
                    "over_ordinary": whole / max(base, 1e-4),
                    "scaling": whole / max(quarter, 1e-4),
                }
        out[name] = worst
    return out


def adversarial_strings() -> SearchStrategy[str]:
    """Hypothesis: a few pieces that patterns care about, each repeated into a long run."""
    from hypothesis import strategies as st

    atoms = st.sampled_from(
        ["1", "a", "g", " ", "\n", "\r", "\t", "=", "#", "[", "`", "'", '"', "<", ":", ".",
         "-", "x", "|", "\x1b", "%", "Error", "tmp", "pid", "0x", "line ", "```", "/tmp/",
         "Exit Code: ", "```bash\n", "Traceback", "E999", "FAILED ", "ms", "Dec"]
    )  # fmt: skip
    run = st.tuples(st.lists(atoms, min_size=1, max_size=3), st.integers(1, 12000))
    return st.lists(run, min_size=1, max_size=3).map(
        lambda runs: "".join("".join(piece) * times for piece, times in runs)[: 1 << 15]
    )


def property_check(examples: int) -> list[str]:
    """Each use, on generated adversarial strings of up to 32 KB, must finish in a
    quarter of a second: linear patterns take a millisecond or two there, quadratic ones
    seconds to hours."""
    from hypothesis import HealthCheck, given, settings

    slow: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(adversarial_strings())
    def check(text: str) -> None:
        for name, use in USES.items():
            started = time.perf_counter()
            use(text)
            elapsed = time.perf_counter() - started
            if elapsed > 0.25:
                slow.append(f"{name}: {elapsed:.2f} s on {text[:40]!r}... ({len(text)} chars)")

    check()
    return slow


def main() -> None:
    if sys.argv[1] == "ratios":
        print(json.dumps(ratios()))
    else:
        print(json.dumps(property_check(int(sys.argv[2]))))


if __name__ == "__main__":
    main()
