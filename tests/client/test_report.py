"""``streamd report`` and ``replay`` over transcripts: the analysis and each reporter."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from streamd.client._report import as_json, build
from streamd.shared import (
    Detector,
    Policy,
    adapt_event,
)

from ..transcripts import BASH_RESULT, claude_session


class TestReport:
    def test_counts_loops_calls_bytes_and_tokens(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=5)
        report = as_json(build([str(tmp_path)], Policy()), excerpts=True)
        assert (report["sessions"], report["tool_calls"], report["skipped"]) == (1, 5, 0)
        assert report["loops"] == 1 and report["loops_by_rule"] == {"exact": 1}
        assert report["calls_in_loops"] == 5
        size = len(json.dumps(BASH_RESULT, sort_keys=True).encode())
        assert report["result_bytes_in_loops"] == 5 * size
        assert report["token_estimate"] == 5 * size // 4
        [top] = report["top_sessions"]
        assert top["worst_loop"] == "`Bash` returned identical output 5 times in a row"

    @pytest.mark.process
    def test_cli_json_since_and_no_excerpts(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=4)
        (tmp_path / "notes.json").write_text('{"nothing": "here"}')

        def report(*args: str) -> dict[str, Any]:
            done = subprocess.run(
                [sys.executable, "-m", "streamd.client", "report", str(tmp_path), "--json", *args],
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stderr
            data: dict[str, Any] = json.loads(done.stdout)
            return data

        everything = report()
        for key in ("sessions", "tool_calls", "skipped", "loops", "calls_in_loops"):
            assert isinstance(everything[key], int)
        assert everything["skipped_by_reason"] == {"file in no transcript format": 1}
        assert report("--since", "2026-11-21")["sessions"] == 0
        assert report("--since", "2026-11-19")["sessions"] == 1

    @pytest.mark.process
    def test_a_missing_path_is_an_operator_error(self, tmp_path: Path) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(tmp_path / "nope")],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1 and "no such file or folder" in done.stderr

    @pytest.mark.process
    def test_replay_reads_a_transcript(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=3)
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "replay", str(tmp_path / "s-1.jsonl")],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert "REPEATING  exact" in done.stdout and "3 steps, 1 fired (exact 1)" in done.stdout


STATES = ("ADVANCING", "REPEATING", "STALLED")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


def png_colours(path: Path) -> int:
    """How many distinct byte values the PNG's decoded rows hold: 1 or 2 for a blank page."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (.ci/run installs Debian's)")
@pytest.mark.process
class TestHtmlPage:
    def test_the_page_renders_its_summary_and_timelines_in_chromium(self, tmp_path: Path) -> None:
        transcripts = tmp_path / "t"
        transcripts.mkdir()
        claude_session(transcripts / "s-1.jsonl", calls=6)
        page = tmp_path / "report.html"
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(transcripts),
             "--html", str(page)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        text = page.read_text()
        assert "http://" not in text and "https://" not in text and "<script" not in text
        assert "FAILED test_x" in text  # the excerpt, in the hover text
        profile = tmp_path / "profile"
        common = [CHROMIUM or "", *HEADLESS, f"--user-data-dir={profile}"]
        dom = subprocess.run(
            [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
        )
        assert dom.returncode == 0, dom.stderr
        assert 'id="summary"' in dom.stdout and "What streamd would have caught" in dom.stdout
        cells = {s: dom.stdout.count(f'<span class="{s}" title=') for s in STATES}
        assert cells == {"ADVANCING": 2, "REPEATING": 2, "STALLED": 2}
        assert "CONSOLE" not in dom.stderr and "Failed to load resource" not in dom.stderr
        shot = tmp_path / "page.png"
        subprocess.run(
            [*common, "--window-size=900,600", f"--screenshot={shot}", page.as_uri()],
            capture_output=True,
            timeout=120,
        )
        assert png_colours(shot) > 10

    def test_no_excerpts_leaves_every_result_out(self, tmp_path: Path) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=3)
        page = tmp_path / "report.html"
        subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(tmp_path / "s-1.jsonl"),
             "--html", str(page), "--no-excerpts"],
            capture_output=True,
        )  # fmt: skip
        text = page.read_text()
        assert "FAILED test_x" not in text and "pytest -x" not in text
        assert "no arguments or result text" in text


def test_leaving_out_shapes_no_rule_could_compare_changes_no_verdict() -> None:
    """The report computes a result's shape only where its call recurs within five steps;
    every verdict must equal the one from shapes everywhere."""
    import random

    from streamd.client._report import analyze
    from streamd.shared import Transcript

    rng = random.Random(3)
    events = []
    for n in range(400):
        call = rng.choice(["a", "b", "c", f"u{n}"])
        events.append(
            {"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Bash",
             "tool_input": {"command": call},
             "tool_response": f"{rng.choice(['ok', 'FAILED x'])} in 0.{rng.randint(1, 9)}s"}
        )  # fmt: skip
    t = Transcript("p", "claude", "s", events)
    fast = analyze(t, Policy(), keep_steps=True).steps
    detector = Detector(Policy())
    full = [detector.push(adapt_event(e).step).state.value for e in events]  # type: ignore[arg-type]
    assert [call.state for call in fast] == full
    assert "REPEATING" in full


@pytest.mark.process
def test_hostile_transcripts_are_skipped_and_counted_never_fatal(tmp_path: Path) -> None:
    """One report over a folder holding a good session beside a FIFO, a link to
    /dev/zero, lines and files nested too deeply, a line over the line limit and a
    mini-swe-agent run of unclosed code fences: it finishes, reports the good session
    and counts each bad one."""
    folder = tmp_path / "t"
    folder.mkdir()
    claude_session(folder / "good.jsonl", calls=3)
    os.mkfifo(folder / "fifo.jsonl")
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    deep = "[" * 100_000 + "]" * 100_000
    (folder / "deep-line.jsonl").write_text('{"type": "user", "x": ' + deep + "}\n")
    (folder / "deep-file.json").write_text('{"history": ' + deep + "}")
    deep_call = {"type": "assistant", "sessionId": "d", "message": {"content": [
        {"type": "tool_use", "id": "t1", "name": "Bash",
         "input": json.loads("[" * 900 + "]" * 900)}]}}  # fmt: skip
    (folder / "deep-call.jsonl").write_text(json.dumps(deep_call) + "\n")
    with open(folder / "long-line.jsonl", "wb") as f:
        f.write(b'{"type": "user", "x": "' + b"a" * (65 << 20) + b'"}\n')
        f.write(json.dumps({"type": "summary"}).encode() + b"\n")
    fences = {"messages": [{"role": "assistant", "content": "```bash\n" + "\n" * 320_000}]}
    (folder / "fences.traj.json").write_text(json.dumps(fences))
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(folder), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["loops"] == 1 and report["top_sessions"][0]["session"] == "s-1"
    reasons = report["skipped_by_reason"]
    assert reasons["file that is not a regular file"] == 2
    assert reasons["unreadable line"] >= 1 and reasons["unreadable file"] == 1
    assert reasons["line over 64 MB"] == 1


@pytest.mark.process
def test_no_excerpts_shows_no_word_of_a_command_with_a_secret(tmp_path: Path) -> None:
    action = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI python deploy.py"
    steps = [{"action": action, "observation": "denied"} for _ in range(4)]
    (tmp_path / "run.traj").write_text(json.dumps({"trajectory": steps}))
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(tmp_path), "--no-excerpts"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and "loops found: 1" in done.stdout
    assert "read 1 file: 1 session, 4 tool calls" in done.stdout  # counted in words
    assert "wJalr" not in done.stdout and "AWS_SECRET" not in done.stdout


@pytest.mark.process
def test_the_page_is_private_and_replaces_a_link_at_its_path(tmp_path: Path) -> None:
    claude_session(tmp_path / "s.jsonl", calls=3)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep")
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    page.symlink_to(elsewhere)
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(tmp_path / "s.jsonl"),
         "--html", str(page)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert elsewhere.read_text() == "keep" and not page.is_symlink()
    assert page.stat().st_mode & 0o777 == 0o600 and "<!doctype html>" in page.read_text()
    missing = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(tmp_path / "s.jsonl"),
         "--html", str(tmp_path / "no" / "such" / "r.html")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.process
def test_refusals_in_a_real_claude_code_transcript_are_no_loop() -> None:
    """Claude Code 2.1.332 refusing one Bash call three times (run on a scripted model):
    no hook event fires for a refusal, so the report does not count one either."""
    transcript = FIXTURES / "claude-2.1.332-refused.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(transcript), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["tool_calls"] == 3 and report["loops"] == 0


@pytest.mark.process
def test_real_cost_from_the_transcripts_own_usage_and_times(tmp_path: Path) -> None:
    """Each turn of the loop carried 13,146 input tokens (most from the cache) and 40
    output; the calls came back a second apart."""
    claude_session(tmp_path / "s-1.jsonl", calls=4)
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    found = json.loads(done.stdout)
    assert found["format"] == 2
    assert found["tokens_in_loops"] == {
        "input": 24, "cache_creation": 400, "cache_read": 52_000, "output": 160,
    }  # fmt: skip
    assert found["seconds_in_loops"] == 3.0 and found["loops_with_usage"] == 1
    text = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert "52,424 input tokens (52,000 read from the cache, 400 written to it)" in text
    assert "160 output tokens" in text and "over 3 s" in text


@pytest.mark.process
def test_streamds_own_session_logs_are_read(tmp_path: Path) -> None:
    """What the live hook recorded is history too: report reads `.dos/streams`."""
    from ..harness import read_event, run_shim

    for n in range(4):
        run_shim(read_event(tmp_path, n), tmp_path / "absent.sock")
    streams = tmp_path / ".dos" / "streams"
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(streams), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    found = json.loads(done.stdout)
    assert (found["sessions"], found["tool_calls"], found["loops"]) == (1, 4, 1)
    assert found["skipped"] == 0  # its .gitignore is no transcript, and not counted as one
    assert found["top_sessions"][0]["format"] == "session-log"
