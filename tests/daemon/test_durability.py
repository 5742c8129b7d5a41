"""Nothing answered is lost: the real daemon fsyncs each step's record before it
answers, and fsyncs the folders and the log it creates into their parents."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..harness import (
    read_event,
    records,
    run_shim,
    session_log,
    short_tempdir,
    wait_until_it_answers,
)

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A traced daemon's socket and its trace file."""
    with short_tempdir() as sockdir:
        sock, trace = sockdir / "d.sock", tmp_path / "trace"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.daemon._traced", "serve", "--socket", str(sock)],
            cwd=ROOT, env={**os.environ, "STREAMD_TRACE": str(trace)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_until_it_answers(sock, proc)
            yield sock, trace
        finally:
            proc.kill()
            proc.wait()


def test_each_record_is_fsynced_before_its_answer(
    traced: tuple[Path, Path], tmp_path: Path
) -> None:
    sock, trace = traced
    workspace = tmp_path / "ws"
    for n in range(5):
        assert run_shim(read_event(workspace, n), sock).returncode == 0
    assert len(records(workspace)) == 5
    log = os.path.realpath(session_log(workspace))
    lines = trace.read_text().splitlines()
    answers = [i for i, line in enumerate(lines) if line == "answer"]
    assert len(answers) == 5
    for k, at in enumerate(answers):
        synced = sum(1 for line in lines[:at] if line == f"fsync {log}")
        assert synced == k + 1, (k, lines)


def test_the_folders_and_the_log_it_creates_are_fsynced_into_their_parents(
    traced: tuple[Path, Path], tmp_path: Path
) -> None:
    sock, trace = traced
    workspace = tmp_path / "ws"
    workspace.mkdir()
    assert run_shim(read_event(workspace, 0), sock).returncode == 0
    lines = trace.read_text().splitlines()
    first_answer = lines.index("answer")
    synced = {line.removeprefix("fsync ") for line in lines[:first_answer]}
    real = os.path.realpath(workspace)
    # The workspace holds the new .dos, .dos holds streams, streams holds the new log.
    assert {real, f"{real}/.dos", f"{real}/.dos/streams"} <= synced
