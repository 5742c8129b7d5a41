"""Every pattern that reads text streamd did not write is linear in it: a tool result,
an error or a transcript made of the runs a backtracking pattern re-scans from every
position takes time in proportion to its length. One such result used to freeze the
daemon for minutes. Each check runs in a subprocess with a time limit, so a quadratic
pattern fails by that limit rather than hanging the suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, limit: float) -> object:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.shared._linear", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"a pattern did not finish within {limit} s: it is not linear")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_megabyte_of_adversarial_text_costs_what_its_length_does() -> None:
    """For each pattern, its worst adversarial input of 1 MB against 1 MB of an ordinary
    test log, and against the same input at 256 KB. Linear: four times the text, about
    four times the time (quadratic: sixteen); and nothing that a megabyte of backtracking
    would cost (minutes)."""
    results = run("ratios", limit=240)
    assert isinstance(results, dict) and len(results) >= 30
    for name, worst in results.items():
        # A quadratic pattern would need hours for a megabyte; a linear one here needs at
        # most 0.15 s. 2 s leaves room for a loaded machine.
        assert worst["seconds"] < 2, (name, worst)
        assert worst["over_ordinary"] < 2000, (name, worst)
        if worst["seconds"] > 0.05:  # long enough to time a quarter of it reliably
            assert worst["scaling"] < 12, (name, worst)  # linear: about 4; quadratic: 16


def test_generated_adversarial_strings_finish_quickly() -> None:
    slow = run("property", "150", limit=300)
    assert slow == []
