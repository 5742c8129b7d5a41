from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamd.shared import failure_gist, normalize
from streamd.shared._shape import SPAN


class TestNormalize:
    @pytest.mark.parametrize(
        ("one", "other"),
        [
            ("===== 3 failed, 2 passed in 0.53s =====", "===== 3 failed, 2 passed in 12.07s ====="),
            ("took 12ms", "took 480ms"),
            ("Ran 4 tests in 1.5 seconds", "Ran 4 tests in 2 seconds"),
            ("2024-01-02T03:04:05.123Z started", "2026-11-25T17:40:01Z started"),
            ("[12:34:56] tick", "[09:01:02] tick"),
            ("-rw-r--r-- 1 u u 12 Dec  4 20:35 a.txt", "-rw-r--r-- 1 u u 12 Jan 17 09:01 a.txt"),
            ("server pid 4242 on port 8080", "server pid 977 on port 31337"),
            ("Exit Code: 1\nProcess Group PGID: 720", "Exit Code: 1\nProcess Group PGID: 725"),
            ("listening on localhost:5432", "listening on localhost:41823"),
            ("<object at 0x7ffd1234abcd>", "<object at 0x55d0deadbeef>"),
            (
                "commit 3f2a9c0d1e4b5a69788c7d6e5f4a3b2c1d0e9f8a",
                "commit a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            ),
            (
                "run 123e4567-e89b-12d3-a456-426614174000",
                "run 9a8b7c6d-1111-4222-8333-444455556666",
            ),
            (
                "wrote /tmp/pytest-of-u/pytest-3/test0/out.txt",
                "wrote /tmp/pytest-of-u/pytest-9/test0/out.txt",
            ),
            ("cache tmpa1b2c3d4_x ok", "cache tmpzz9y8x7w_q ok"),
            ("\x1b[31mFAILED\x1b[0m test_x", "FAILED test_x"),
            ("10%|\u2588    | 1/10 [00:01<00:09]\rdone", "done"),
            ("\u280b working\rbuilt", "\u2819 working\rbuilt"),
            ("line  \nnext\t\n", "line\nnext"),
            ("a\r\nb", "a\nb"),
        ],
    )
    def test_noise_is_removed(self, one: str, other: str) -> None:
        assert normalize(one) == normalize(other)

    @pytest.mark.parametrize(
        ("one", "other"),
        [
            ("chunk 1", "chunk 2"),
            ("3 failed, 10 passed", "2 failed, 11 passed"),
            ("FAILED test_a\nFAILED test_b", "FAILED test_a"),
            ("count: 41", "count: 42"),
            ("12: x = 1", "13: x = 1"),
            ("version 1.2.3", "version 1.2.4"),
            ("exit code 1", "exit code 2"),
            ("test_2s passed", "test_3s passed"),
            ("File not found: a.txt", "File not found: b.txt"),
            ("sleep 5 more", "sleep 6 more"),
        ],
    )
    def test_substance_is_kept(self, one: str, other: str) -> None:
        assert normalize(one) != normalize(other)

    def test_a_long_text_keeps_its_middle_exact(self) -> None:
        middle_a = "x" * SPAN + " took 1s " + "y" * SPAN
        middle_b = "x" * SPAN + " took 2s " + "y" * SPAN
        head, tail = "started in 0.5s\n", "\nended in 3s"
        assert normalize(head + middle_a + tail) != normalize(head + middle_b + tail)
        assert normalize("in 1s\n" + middle_a + tail) == normalize("in 9s\n" + middle_a + tail)

    @given(st.text(max_size=300))
    def test_is_idempotent(self, text: str) -> None:
        once = normalize(text)
        assert normalize(once) == once

    @given(st.text(alphabet="abcxyz _-\n.,:/()", max_size=200))
    def test_text_without_digits_or_markers_is_kept(self, text: str) -> None:
        if "tmp" not in text:
            assert normalize(text) == "\n".join(map(str.rstrip, text.split("\n"))).rstrip()


class TestFailureGist:
    def test_same_exception_from_different_tracebacks(self) -> None:
        one = (
            'Traceback (most recent call last):\n  File "a.py", line 3, in <module>\n'
            "    f()\nNameError: name 'x' is not defined\n"
        )
        two = (
            'Traceback (most recent call last):\n  File "b.py", line 90, in g\n'
            "    h(1)\nNameError: name 'x' is not defined\n"
        )
        assert failure_gist(one) == failure_gist(two) == "NameError: name 'x' is not defined"

    def test_linter_code_of_a_rejected_edit(self) -> None:
        text = (
            "Your proposed edit has introduced new syntax error(s).\n\nERRORS:\n"
            "- E999 IndentationError: expected an indented block\n\n"
            "This is how your edit would have looked if applied\n"
            "371:    raise ValueError('x')\n"
        )
        assert failure_gist(text) == "E999 IndentationError: expected an indented block"

    def test_echoed_input_is_not_part_of_the_gist(self) -> None:
        said = (
            "ERROR:\nNo replacement was performed, old_str `{}` did not appear verbatim in /w/m.py."
        )
        one = said.format("def f():\n    return 1")
        two = said.format("def f():\n    return 2")
        assert failure_gist(one) == failure_gist(two)
        assert "did not appear verbatim" in failure_gist(one)

    def test_different_failures_differ(self) -> None:
        assert failure_gist("ModuleNotFoundError: No module named 'a'") != failure_gist(
            "ModuleNotFoundError: No module named 'b'"
        )
        assert failure_gist("FAILED tests/t.py::test_a - assert 1 == 2") != failure_gist(
            "FAILED tests/t.py::test_a - assert 1 == 3"
        )

    def test_shell_errors(self) -> None:
        assert failure_gist("bash: line 1: foo: command not found\n") == (
            "bash: line N: foo: command not found"
        )
        assert "No such file or directory" in failure_gist(
            "cat: missing.txt: No such file or directory\n"
        )

    def test_positions_are_not_part_of_the_gist(self) -> None:
        assert failure_gist("src/a.py:12:5: E999 SyntaxError") == failure_gist(
            "src/a.py:14:1: E999 SyntaxError"
        )
        assert failure_gist("IndentationError: expected an indented block (line 40)") == (
            failure_gist("IndentationError: expected an indented block (line 41)")
        )

    def test_noise_in_the_gist_is_normalized(self) -> None:
        assert failure_gist("Error: timed out after 30.2s") == failure_gist(
            "Error: timed out after 31.9s"
        )

    def test_without_a_recognized_line_the_first_lines_stand_in(self) -> None:
        assert failure_gist("something odd\nhappened\n") == "something odd\nhappened"

    @pytest.mark.parametrize(
        "text", ["", "   \n", "<returncode>1</returncode>\n<output>\n</output>"]
    )
    def test_a_silent_failure_has_no_gist(self, text: str) -> None:
        assert failure_gist(text) == ""


RUNNERS = Path(__file__).resolve().parents[1] / "fixtures" / "runners"
COUNTS = {
    "pytest": "2 failed, 1 passed",
    "unittest": "FAILED (failures=2)",
    "cargo": "1 passed; 2 failed",
    "jest": "Tests:       2 failed, 1 passed, 3 total",
    "vitest": "Tests  2 failed | 1 passed (3)",
    "mocha": "2 failing",
    "npm": "2 failing",
    "rspec": "3 examples, 2 failures",
}


class TestRunnerFingerprints:
    """Real output of each test runner (``tests/fixtures/runners/make.sh``), as Claude
    Code reports a failed command: two tests failing, then one."""

    @staticmethod
    def gist(runner: str, failing: int) -> str:
        output = (RUNNERS / f"{runner}-{failing}failed.txt").read_text()
        return failure_gist("Exit code 1\n" + output)

    @pytest.mark.parametrize("runner", [*COUNTS, "go"])
    def test_a_shrinking_failure_count_is_a_new_fingerprint(self, runner: str) -> None:
        assert self.gist(runner, 2) != self.gist(runner, 1)
        assert "Exit code" not in self.gist(runner, 2)

    @pytest.mark.parametrize("runner", list(COUNTS))
    def test_the_counts_are_kept(self, runner: str) -> None:
        assert COUNTS[runner] in self.gist(runner, 2)

    def test_an_exit_status_alone_is_no_fingerprint(self) -> None:
        assert failure_gist("Exit code 1") == ""
        assert failure_gist("Exit code 2\n\n") == ""

    def test_warnings_are_not_the_error(self) -> None:
        text = (
            "Exit code 1\nnpm warn config production Use `--omit=dev` instead.\n"
            "DeprecationWarning: the x module is deprecated\nTypeError: add is not a function"
        )
        assert failure_gist(text) == "TypeError: add is not a function"
