"""``streamd report`` and ``replay`` over transcripts: the analysis and each reporter."""

from __future__ import annotations

import json
import os
import re
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

from ..browser import CHROMIUM, Browser
from ..transcripts import BASH_RESULT, claude_session

FIXTURES = Path(__file__).parent.parent / "fixtures" / "hosts"
CAPTURED = ("claude-2.1.332.jsonl", "codex-0.169.0.jsonl", "gemini-0.61.0.jsonl")


def report_json(folder: Path, *args: str) -> dict[str, Any]:
    """``streamd report FOLDER --json ARGS``, run as a user runs it; its object."""
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(folder), "--json", *args],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


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
            return report_json(tmp_path, *args)

        everything = report()
        for key in ("sessions", "tool_calls", "skipped", "loops", "calls_in_loops"):
            assert isinstance(everything[key], int)
        assert everything["skipped_by_reason"] == {"file in no transcript format": 1}
        assert report("--since", "2026-11-21")["sessions"] == 0
        assert report("--since", "2026-11-19")["sessions"] == 1

    @pytest.mark.process
    def test_until_group_by_and_prices(self, tmp_path: Path) -> None:
        shutil.copy(FIXTURES / "gemini-0.61.0.jsonl", tmp_path / "g.jsonl")  # 2026-11-30
        claude_session(tmp_path / "s-1.jsonl", calls=4)  # 2026-11-20
        prices = tmp_path / "prices.toml"
        prices.write_text('[prices."gemini-*"]\ninput = 1\noutput = 2\ncache_read = 0.5\n')

        def report(*args: str) -> dict[str, Any]:
            return report_json(tmp_path, *args)

        assert report("--until", "2026-11-20")["sessions"] == 1  # the whole of that day
        assert report("--until", "2026-11-20T09:00")["sessions"] == 0
        by_day = report("--group-by", "day")["groups"]
        assert [(g["group"], g["sessions"], g["loops"]) for g in by_day] == [
            ("2026-11-20", 1, 1), ("2026-11-30", 1, 2)
        ]  # fmt: skip
        by_project = report("--group-by", "project")["groups"]
        assert by_project[0]["group"].endswith("/project") and by_project[1]["group"] == "/w"
        from_file = report("--prices", str(prices))
        given = report("--price", "gemini-*=1,2,0.5")
        assert from_file["cost_in_loops"] == given["cost_in_loops"] > 0
        assert given["unpriced_tokens"] > 0  # Claude's turns: no price given for them
        assert "cost_in_loops" not in report()

    @pytest.mark.process
    def test_processes_read_as_one_does(self, tmp_path: Path) -> None:
        """Two processes reading a folder give the report one gives, byte for byte, in
        the files' order: sessions, skips by reason, the page."""
        for n in range(9):
            claude_session(tmp_path / f"s-{n}.jsonl", calls=3 + n % 4, broken=n == 4)
        for name in CAPTURED:
            shutil.copy(FIXTURES / name, tmp_path / name)
        (tmp_path / "notes.json").write_text('{"nothing": "here"}')

        def report(jobs: str) -> tuple[str, str]:
            page = tmp_path / f"page-{jobs}.html"
            done = subprocess.run(
                [sys.executable, "-m", "streamd.client", "report", str(tmp_path), "--json",
                 "--jobs", jobs, "--html", str(page), "--group-by", "day"],
                capture_output=True, text=True,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            made = page.read_text()
            return done.stdout, made[made.index("</p>") :]  # after the line saying when

        one, two = report("1"), report("2")
        assert json.loads(one[0])["skipped_by_reason"]["file in no transcript format"] == 1
        assert two == one

    @pytest.mark.process
    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["--price", "gpt-5=3"], "MODEL=IN,OUT"),
            (["--price", "gpt-5=3,x"], "is not a price"),
            (["--price", "gpt-5=3,-1"], "is not a price"),
            (["--prices", "missing.toml"], "cannot read it"),
            (["--until", "soon"], "give a date"),
        ],
    )
    def test_bad_prices_and_dates_say_what_to_do(
        self, tmp_path: Path, args: list[str], says: str
    ) -> None:
        claude_session(tmp_path / "s-1.jsonl", calls=3)
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(tmp_path), *args],
            capture_output=True, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 1 and says in done.stderr and "Traceback" not in done.stderr

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


def png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")


def write_page(tmp_path: Path, *args: str) -> Path:
    """A page over the captured transcripts and a synthetic nine-call loop."""
    transcripts = tmp_path / "t"
    transcripts.mkdir()
    for name in CAPTURED:
        shutil.copy(FIXTURES / name, transcripts / name)
    claude_session(transcripts / "s-1.jsonl", calls=9)
    page = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", str(transcripts), "--html", str(page),
         *args],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return page


ROWS = "[].map.call(document.querySelectorAll('#loop-rows > details'), r => r.dataset.{})"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (.ci/run installs Debian's)")
@pytest.mark.process
class TestHtmlPage:
    def test_sorting_expanding_and_the_screenshot_in_chromium(self, tmp_path: Path) -> None:
        """In the real Chromium, by mouse and keyboard: a click on a column sorts the
        loops (again: the other way), Enter on a loop opens its evidence; the CSP lets
        the page's own script run and nothing else is fetched or fails."""
        page = write_page(tmp_path, "--price", "gemini-*=1,2,0.5")
        text = page.read_text()
        assert "http://" not in text and "https://" not in text and "<script src" not in text
        with Browser(tmp_path / "profile", width=1100, height=900) as browser:
            browser.open(page.as_uri())
            assert browser.evaluate(ROWS.format("calls")) == ["9"] + ["3"] * 6  # by tokens
            tokens = [int(t) for t in browser.evaluate(ROWS.format("tokens"))]
            assert tokens == sorted(tokens, reverse=True) and tokens[0] > 100_000
            browser.click("#loops button[data-key=tokens]")  # it was most first: now least
            tokens = [int(t) for t in browser.evaluate(ROWS.format("tokens"))]
            assert tokens == sorted(tokens)
            browser.click("#loops button[data-key=calls]")
            browser.click("#loops button[data-key=calls]")
            assert browser.evaluate(ROWS.format("calls")) == ["3"] * 6 + ["9"]
            assert (
                browser.evaluate("document.querySelector('#loops [aria-sort]').textContent")
                == "calls"
            )
            browser.click("#loops button[data-key=project]")
            projects = browser.evaluate(ROWS.format("project"))
            assert projects == sorted(projects, key=str.lower)
            nine = '#loop-rows > details[data-calls="9"]'
            browser.evaluate(f"document.querySelector('{nine} > summary').focus()")
            browser.press("Enter", "Enter", 13)
            opened = browser.evaluate("[].map.call(document.querySelectorAll('details[open]'), "
                                      "d => d.id)")  # fmt: skip
            assert opened == [browser.evaluate(f"document.querySelector('{nine}').id")]
            evidence = browser.evaluate(f"document.querySelector('{nine} .evidence').innerText")
            assert "pytest -x" in evidence and "FAILED test_x" in evidence
            assert "… 3 more calls …" in evidence  # nine calls: the first four, the last two
            assert browser.evaluate("document.querySelectorAll('figure.chart svg rect').length")
            shot = tmp_path / "desktop.png"
            browser.screenshot(shot)
            assert browser.problems() == []
        assert png_width(shot) == 1100 and png_colours(shot) > 10

    def test_readable_and_touchable_at_phone_width(self, tmp_path: Path) -> None:
        page = write_page(tmp_path)
        with Browser(tmp_path / "profile", width=390, height=844, mobile=True) as browser:
            browser.open(page.as_uri())
            assert browser.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"
            )  # no sideways scrolling
            clipped = browser.evaluate(
                "[].filter.call(document.querySelectorAll('#loops .row > span'), c => "
                "c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1)"
                ".map(c => c.textContent)"
            )
            assert clipped == []  # every figure shown whole: what does not fit is left out
            browser.tap("#loop-rows > details:first-child > summary")
            assert browser.evaluate("document.querySelectorAll('#loop-rows details[open]').length")
            shot = tmp_path / "phone.png"
            browser.screenshot(shot)
            assert browser.problems() == []
        assert png_width(shot) == 390 and png_colours(shot) > 10

    def test_sessions_are_named_grouped_and_quiet_ones_folded(self, tmp_path: Path) -> None:
        transcripts = tmp_path / "t"
        transcripts.mkdir()
        shutil.copy(FIXTURES / "codex-0.169.0.jsonl", transcripts / "a.jsonl")
        claude_session(transcripts / "quiet.jsonl", calls=1)
        page = tmp_path / "report.html"
        subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(transcripts),
             "--html", str(page)], capture_output=True, check=True,
        )  # fmt: skip
        with Browser(tmp_path / "profile", width=1000, height=800) as browser:
            browser.open(page.as_uri())
            groups = browser.evaluate(
                "[].map.call(document.querySelectorAll('#sessions section.group h3'), "
                "h => h.firstChild.textContent.trim())"
            )
            assert groups == ["project", "w"]  # by loops, most first
            named = browser.evaluate("document.querySelector('details.session > summary')"
                                     ".innerText")  # fmt: skip
            assert "2026-11-30" in named and "check the build" in named and "codex" in named
            folded = browser.evaluate(
                "[].map.call(document.querySelectorAll('#sessions details:not(.session) > "
                "summary'), s => s.innerText)"
            )
            assert folded == ["1 session without loops"]
            cells = browser.evaluate("document.querySelectorAll('.strip a.c').length")
            assert cells == 6  # every call inside a loop is coloured and leads to its loop

    def test_no_excerpts_leaves_every_result_out(self, tmp_path: Path) -> None:
        page = write_page(tmp_path, "--no-excerpts")
        text = page.read_text()
        assert "FAILED test_x" not in text and "pytest -x" not in text
        assert "check the build" not in text and "run the tests" not in text
        assert "no arguments or result text" in text
        # What each call was, without what it said: its arguments' names, its result's size.
        assert re.search(r"<code>\(command\) → [\d,]+ bytes</code>", text)
        assert re.search(r"<code>\(command, description\) → [\d,]+ bytes, failed</code>", text)


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


@pytest.mark.process
def test_refusals_in_a_real_claude_code_transcript_are_no_loop() -> None:
    """Claude Code 2.1.332 refusing one Bash call three times (run on a scripted model):
    no hook event fires for a refusal, so the report does not count one either."""
    transcript = FIXTURES.parent / "claude-2.1.332-refused.jsonl"
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


class TestCapturedTranscripts:
    """Transcripts the real clients wrote (tests/fixtures/hosts/README.md)."""

    @pytest.mark.parametrize("name", CAPTURED)
    def test_loops_project_prompt_tokens_and_time(self, name: str) -> None:
        from streamd.client._report import analyze
        from streamd.shared import read_transcript

        result = analyze(read_transcript(str(FIXTURES / name)), Policy(), keep_steps=True)
        assert result.calls == 6
        assert [i for i, c in enumerate(result.steps) if c.state != "ADVANCING"] == [2, 5]
        assert result.prompt == "check the build"
        assert result.project.endswith("/project") and result.started and result.ended
        # Turn k (k results in) reads 1000 * k tokens from the cache: 0+1+2, then 3+4+5.
        cached = [loop.tokens.get("cache_read") for loop in result.loops]
        assert cached == [3000, 12000]
        assert all(loop.seconds is not None for loop in result.loops)
        assert all(loop.tokens_by_model.keys() != {""} for loop in result.loops)

    def test_codex_rollout_gives_the_live_hooks_own_digests(self) -> None:
        """The report reads Codex's ``exec_command`` as the hook received it: each step's
        digests equal those in the session log the live hook wrote in the same run."""
        from streamd.shared import hosts, read_records, read_transcript

        t = read_transcript(str(FIXTURES / "codex-0.169.0.jsonl"))
        hook = read_records(str(FIXTURES / "codex-0.169.0.session-log.jsonl"))
        ours = [step for e in t.events if (step := adapt_event(e, host=hosts.get("codex")).step)]
        assert [(s.tool_name, s.args_digest, s.result_digest, s.failure_digest) for s in ours] == [
            (r.step.tool_name, r.step.args_digest, r.step.result_digest, r.step.failure_digest)
            for r in hook
        ]

    def test_a_codex_rollout_of_2025(self) -> None:
        from streamd.client._report import analyze
        from streamd.shared import read_transcript

        t = read_transcript(str(FIXTURES / "codex-0.20.0.jsonl"))
        result = analyze(t, Policy(), keep_steps=True)
        assert (t.format, result.calls, result.prompt) == ("codex", 6, "check the build")
        assert [i for i, c in enumerate(result.steps) if c.state != "ADVANCING"] == [2, 5]
        assert [loop.tokens for loop in result.loops] == [{}, {}]  # it records none
        assert all(loop.result_bytes for loop in result.loops)  # so they are estimated

    def test_a_session_filed_by_date_has_no_project_but_unknown(self, tmp_path: Path) -> None:
        from streamd.client._report import analyze
        from streamd.shared import read_transcript

        day = tmp_path / "sessions" / "2026" / "11" / "30"
        day.mkdir(parents=True)
        shutil.copy(FIXTURES / "codex-0.20.0.jsonl", day / "rollout-x.jsonl")
        result = analyze(read_transcript(str(day / "rollout-x.jsonl")), Policy())
        assert result.project == "unknown"

    def test_the_session_log_reads_as_the_hook_decided(self) -> None:
        from streamd.client._report import analyze
        from streamd.shared import read_transcript

        t = read_transcript(str(FIXTURES / "codex-0.169.0.session-log.jsonl"))
        assert t.format == "session-log"
        result = analyze(t, Policy(), keep_steps=True)
        assert [i for i, c in enumerate(result.steps) if c.state != "ADVANCING"] == [2, 5]

    def test_prices_cost_the_tokens_of_loops(self, tmp_path: Path) -> None:
        from streamd.client._report import Prices, parse_price

        prices = Prices(dict([parse_price("gemini-*=1,2,0.5")]))
        report = build([str(FIXTURES / "gemini-0.61.0.jsonl")], Policy(), prices=prices)
        t = report.tokens_in_loops
        expected = (t["input"] * 1 + t["output"] * 2 + t["cache_read"] * 0.5) / 1e6
        assert report.cost_in_loops == pytest.approx(expected) and report.unpriced_tokens == 0
        unpriced = build([str(FIXTURES / "codex-0.169.0.jsonl")], Policy(), prices=prices)
        assert unpriced.cost_in_loops == 0 and unpriced.unpriced_tokens == sum(
            unpriced.tokens_in_loops.values()
        )


class TestPrices:
    def test_an_exact_name_wins_then_the_longest_glob(self) -> None:
        from streamd.client._report import Prices, parse_price

        prices = Prices(dict(parse_price(s) for s in ("claude-*=1,1", "claude-opus-*=9,9",
                                                      "claude-opus-4=5,5")))  # fmt: skip
        found = {m: p.per_million["input"] if (p := prices.of(m)) else None
                 for m in ("claude-opus-4", "claude-opus-4-1", "claude-haiku", "gpt")}  # fmt: skip
        assert found == {"claude-opus-4": 5, "claude-opus-4-1": 9, "claude-haiku": 1, "gpt": None}

    def test_kinds_without_a_price_are_counted_not_guessed(self) -> None:
        from streamd.client._report import Prices, parse_price

        prices = Prices(dict([parse_price("m=2,10")]))
        cost, unpriced = prices.cost({"m": {"input": 1_000_000, "output": 100_000,
                                            "cache_read": 5}, "": {"input": 7}})  # fmt: skip
        assert cost == pytest.approx(3.0) and unpriced == 12

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("not toml [", "not TOML"),
            ('[prices."m"]\nfoo = 1\n', "give some of"),
            ('[prices."m"]\ninput = "lots"\n', "is not a price"),
            ("[other]\n", 'write only [prices."MODEL"] tables'),
        ],
    )
    def test_a_bad_price_file_says_where(self, tmp_path: Path, text: str, says: str) -> None:
        from streamd.client._report import PriceError, load_prices

        path = tmp_path / "prices.toml"
        path.write_text(text)
        with pytest.raises(PriceError, match=says.replace("[", r"\[").replace(".", r"\.")):
            load_prices(str(path))


def _values() -> Any:
    """JSON values drawn from few keys and few scalars, so that a handful of them often
    holds two that differ by one leaf (inf or null, 1 or 1.0 or true), and strings
    that spell values as either encoding writes them."""
    import msgspec
    from hypothesis import strategies as st

    from streamd.shared._adapter import canonical_bytes

    pool = [None, True, False, 0, 1, 1.0, 0.0, -0.0, float("inf"), float("-inf"), float("nan"),
            "", "null", "1", "1.0", "true", "Infinity", "\x01{}", "\x02", "x\ud800", "x?",
            "é"]  # fmt: skip
    scalars = st.one_of(st.sampled_from(pool), st.integers(), st.floats(), st.text(max_size=4))
    values = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(["", "a", "b", "é"]), inner, max_size=3),
        ),
        max_leaves=6,
    )
    compact = msgspec.json.Encoder(order="sorted").encode

    def spelled_compact(v: Any) -> str:
        try:
            return compact(v).decode()
        except (TypeError, ValueError):
            return "?"

    return st.one_of(
        values,
        values.map(lambda v: canonical_bytes(v).decode("utf-8", "replace")),
        values.map(spelled_compact),
    )


class TestReportEncoding:
    """The report digests ``report_bytes``, not the hook's ``canonical_bytes``: it may,
    because the two are equal for exactly the same values, so every verdict is too."""

    def test_equal_for_exactly_the_values_canonical_bytes_is_equal_for(self) -> None:
        from hypothesis import given, settings
        from hypothesis import strategies as st

        from streamd.client._report._encoding import report_bytes
        from streamd.shared._adapter import canonical_bytes

        @settings(max_examples=3000, deadline=None)
        @given(st.lists(_values(), min_size=2, max_size=6))
        def check(values: list[Any]) -> None:
            for a in values:
                for b in values:
                    hook = canonical_bytes(a) == canonical_bytes(b)
                    assert (report_bytes(a) == report_bytes(b)) == hook, (a, b)

        check()

    def test_key_order_and_duplicates_by_value(self) -> None:
        from streamd.client._report._encoding import report_bytes

        assert report_bytes({"b": 1, "a": [1.0]}) == report_bytes({"a": [1.0], "b": 1})
        assert report_bytes({"a": 1}) != report_bytes({"a": 1.0}) != report_bytes({"a": True})
        assert report_bytes([float("inf")]) != report_bytes([None])
        assert report_bytes('{"a": 1}') == report_bytes({"a": 1})  # as the hook has it

    def test_the_report_gives_the_hooks_verdicts_on_the_captured_sessions(self) -> None:
        """Each captured transcript through the report (its own encoding), and through
        the hook's adapter and detector call by call: the same verdicts."""
        from streamd.client._report import analyze
        from streamd.shared import hosts, read_transcript

        for name in CAPTURED:
            t = read_transcript(str(FIXTURES / name))
            detector = Detector(Policy())
            host = hosts.get(t.format)
            hook = []
            for event in t.events:
                step = adapt_event(event, host=host).step
                assert step is not None
                verdict = detector.push(step)
                hook.append((verdict.state.value, verdict.rule if verdict.fired else ""))
            ours = analyze(t, Policy(), keep_steps=True).steps
            assert [(c.state, c.rule) for c in ours] == hook


class TestPlots:
    def test_days_with_gaps_then_months_past_three(self) -> None:
        from streamd.client._report._plots import periods

        assert periods(["2026-11-03", "2026-11-01", "undated"]) == (
            "day", ["2026-11-01", "2026-11-02", "2026-11-03"]
        )  # fmt: skip
        unit, months = periods(["2025-11-20", "2026-02-28"])
        assert unit == "month" and months == ["2025-11", "2025-12", "2026-01", "2026-02"]
        assert periods([]) == ("day", [])


def test_a_dead_reading_process_is_an_operator_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A process reading transcripts that dies (the kernel's OOM killer) fails the
    command with what to do, not a traceback."""
    from concurrent.futures.process import BrokenProcessPool

    from streamd.client import _cli, _report

    def dies(*args: object, **kwargs: object) -> int:
        raise BrokenProcessPool("a child process terminated abruptly")

    monkeypatch.setattr(_report, "run", dies)
    claude_session(tmp_path / "s-1.jsonl", calls=3)
    assert _cli.main(["report", str(tmp_path)]) == 1
    assert "run again with --jobs 1" in capsys.readouterr().err
