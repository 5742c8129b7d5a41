from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamd.shared import (
    DEFAULT_POLICY,
    HookEvent,
    Step,
    adapt_event,
    canonical_bytes,
    encode_record,
    hosts,
    parse_event,
    safe_session_name,
)
from streamd.shared._record import parse_line
from streamd.shared.rules import Detector


def sha16(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class TestCanonicalBytes:
    def test_string_is_its_own_utf8(self) -> None:
        assert canonical_bytes("héllo") == "héllo".encode()

    def test_lone_surrogate_becomes_question_mark(self) -> None:
        assert canonical_bytes("a\ud800b") == b"a?b"
        assert canonical_bytes({"k": "\udfff"}) == b'{"k": "?"}'

    def test_objects_sort_keys_with_default_separators(self) -> None:
        assert (
            canonical_bytes({"b": 1, "a": [True, None, 1.5]}) == b'{"a": [true, null, 1.5], "b": 1}'
        )

    def test_nested_key_order_does_not_matter(self) -> None:
        one = {"x": {"b": 1, "a": 2}, "y": [{"d": 0, "c": 1}]}
        two = {"y": [{"c": 1, "d": 0}], "x": {"a": 2, "b": 1}}
        assert canonical_bytes(one) == canonical_bytes(two)

    def test_big_integers_negative_zero_and_non_ascii(self) -> None:
        assert (
            canonical_bytes([2**64 + 1, -0.0, "日"])
            == '[18446744073709551617, -0.0, "日"]'.encode()
        )


class TestAdaptEvent:
    def test_digests_follow_the_reference_recipe(self) -> None:
        event = {"tool_name": "Read", "tool_input": {"path": "/x"}, "tool_response": "body"}
        step = adapt_event(event).step
        assert step is not None
        args = json.dumps({"tool": "Read", "input": {"path": "/x"}}, sort_keys=True).encode()
        assert step.args_digest == sha16(args)
        assert step.result_digest == sha16(b"body")

    def test_missing_or_null_input_means_empty_object(self) -> None:
        one = adapt_event({"tool_name": "T", "tool_response": 1}).step
        two = adapt_event({"tool_name": "T", "tool_input": None, "tool_response": 1}).step
        assert one is not None and two is not None
        assert one.args_digest == two.args_digest == sha16(b'{"input": {}, "tool": "T"}')

    def test_tool_output_is_the_fallback_result(self) -> None:
        step = adapt_event({"tool_name": "T", "tool_response": None, "tool_output": "o"}).step
        assert step is not None and step.result_digest == sha16(b"o")

    def test_no_result_means_no_result_digest(self) -> None:
        step = adapt_event({"tool_name": "T", "tool_response": None}).step
        assert step is not None and step.result_digest is None

    @pytest.mark.parametrize("name", [None, "", 3, ["Read"]])
    def test_event_without_a_tool_name_is_not_a_step(self, name: object) -> None:
        assert adapt_event({"tool_name": name, "tool_response": "x"}).step is None

    def test_failure_event_hashes_the_error_text(self) -> None:
        event = {
            "hook_event_name": "PostToolUseFailure",
            "tool_name": "Bash",
            "tool_input": {"command": "make"},
            "error": "make: *** No rule to make target",
        }
        adapted = adapt_event(event)
        assert adapted.step is not None
        assert adapted.step.result_digest == sha16(b"make: *** No rule to make target")
        assert adapted.event_name == "PostToolUseFailure"

    def test_error_on_a_success_event_is_not_a_result(self) -> None:
        step = adapt_event({"tool_name": "Bash", "error": "boom"}).step
        assert step is not None and step.result_digest is None

    def test_session_and_call_identity(self) -> None:
        adapted = adapt_event({"session_id": "  ", "tool_use_id": "toolu_1", "cwd": "/w"})
        assert adapted.session_id is None
        assert (adapted.tool_use_id, adapted.cwd) == ("toolu_1", "/w")
        assert adapt_event({"tool_use_id": "\ud800"}).tool_use_id is None

    def test_session_end(self) -> None:
        assert adapt_event({"hook_event_name": "SessionEnd", "session_id": "s"}).is_session_end


class TestParseEvent:
    @pytest.mark.parametrize(
        "raw", [b"", b"   \n", b"not json", b"[1, 2]", b'"str"', b"\xff\xfe{}", b"{"]
    )
    def test_anything_but_an_object_is_not_an_event(self, raw: bytes) -> None:
        assert parse_event(raw) is None

    def test_an_event_nested_too_deeply_is_said_to_be(self) -> None:
        with pytest.raises(RecursionError):
            parse_event(b"[" * 100000)

    def test_object(self) -> None:
        assert parse_event(b' {"a": 1}\n') == {"a": 1}


class TestSafeSessionName:
    @pytest.mark.parametrize(
        ("raw", "safe"),
        [
            ("abc-123_x", "abc-123_x"),
            ("../../etc/passwd", "etcpasswd-" + sha16(b"../../etc/passwd")),
            ("a b/c\\d", "abcd-" + sha16(b"a b/c\\d")),
            ("séssion", "séssion"),
            ("../..", None),
            ("", None),
        ],
    )
    def test_keeps_only_alphanumerics_dash_underscore(self, raw: str, safe: str | None) -> None:
        assert safe_session_name(raw) == safe

    def test_ids_that_sanitize_alike_get_their_own_logs(self) -> None:
        names = {safe_session_name(i) for i in ("ab", "a/b", "a\0b", "a b")}
        assert len(names) == 4 and "ab" in names

    def test_a_long_id_gets_a_short_name(self) -> None:
        name = safe_session_name("x" * 300)
        assert name is not None and len(name) == 64 + 1 + 16
        assert name != safe_session_name("x" * 301)


class TestShapeAndFailure:
    def test_a_result_without_noise_has_no_shape_digest(self) -> None:
        step = adapt_event({"tool_name": "Read", "tool_response": "plain text"}).step
        assert step is not None and step.shape_digest is None

    def test_results_differing_in_noise_share_a_shape(self) -> None:
        one = adapt_event({"tool_name": "Bash", "tool_response": "1 failed in 0.5s"}).step
        two = adapt_event({"tool_name": "Bash", "tool_response": "1 failed in 0.7s"}).step
        assert one is not None and two is not None
        assert one.result_digest != two.result_digest
        assert one.shape_digest == two.shape_digest is not None

    def test_a_failure_event_has_a_fingerprint_shared_across_arguments(self) -> None:
        def failed(command: str) -> HookEvent:
            event = {
                "hook_event_name": "PostToolUseFailure",
                "tool_name": "Bash",
                "tool_input": {"command": command},
                "error": f"Exit code 1\n  File \"{command}\", line 3\nKeyError: 'k'",
            }
            return adapt_event(event)

        one, two = failed("python a.py"), failed("python b.py")
        assert one.step is not None and two.step is not None
        assert one.step.failure_digest == two.step.failure_digest is not None
        assert one.failure is not None and "KeyError" in one.failure

    def test_a_success_has_no_fingerprint(self) -> None:
        step = adapt_event({"tool_name": "Read", "tool_response": {"content": "x"}}).step
        assert step is not None and step.failure_digest is None

    @pytest.mark.parametrize(
        ("host", "response"),
        [
            (
                "gemini",
                {
                    "llmContent": "Could not read file.",
                    "error": {"message": "File not found: /a", "type": "x"},
                },
            ),
            ("claude", {"error": "boom"}),
            ("claude", {"exit_code": 2, "stderr": "make: *** [all] Error 2"}),
            ("claude", {"returncode": 1, "stdout": "FAILED test_x"}),
            ("claude", {"is_error": True, "content": "denied"}),
            ("codex", 'Traceback (most recent call last):\n  File "x"\nValueError: bad'),
            ("codex", "bash: foo: command not found"),
            (
                "gemini",
                {"llmContent": "Output: cat: x: No such file\nExit Code: 1\nProcess Group PGID: 9"},
            ),
            ("codex", "Exit code: 2\nWall time: 0.1 seconds\nOutput:\nmake: *** Error 2"),
            ("droid", {"success": False, "error": ""}),
        ],
    )
    def test_structured_and_plain_failures_are_read(self, host: str, response: object) -> None:
        event = adapt_event({"tool_name": "T", "tool_response": response}, host=hosts.get(host))
        assert event.failure is not None
        assert event.step is not None and event.step.failure_digest is not None

    @pytest.mark.parametrize(
        "response",
        [
            {"exit_code": 0, "stdout": "ok"},
            {"error": None, "x": 1},
            "all good",
            {"is_error": False},
        ],
    )
    def test_successes_are_not_failures(self, response: object) -> None:
        assert adapt_event({"tool_name": "T", "tool_response": response}).failure is None

    def test_gemini_error_message_is_the_failure_text(self) -> None:
        event = adapt_event(
            {
                "tool_name": "read_file",
                "tool_response": {"error": {"message": "File not found: /a", "type": "x"}},
            }
        )
        assert event.failure == "File not found: /a"


class TestHostileEventNames:
    @pytest.mark.parametrize("name", [[], {}, 3, None, ""])
    def test_an_event_name_of_another_type_reads_as_post_tool_use(self, name: object) -> None:
        event = adapt_event({"hook_event_name": name, "tool_name": "T", "error": "x"})
        assert event.event_name == "PostToolUse"
        assert event.step is not None and event.step.result_digest is None


class TestDigestImplementations:
    @given(st.binary(max_size=5000))
    def test_the_hooks_sha256_is_openssls(self, data: bytes) -> None:
        """The hook hashes with CPython's own SHA-256, the daemon with OpenSSL's: the
        digests must be the same bytes."""
        import hashlib

        from streamd.shared._adapter import _builtin_sha256

        assert _builtin_sha256()(data).hexdigest() == hashlib.sha256(data).hexdigest()


class TestHostArtifacts:
    """What a host answers in place of a call it did not run is no attempt of the agent's."""

    def _step(self, **fields: object) -> Step:
        event = {"tool_name": "Read", "tool_input": {"file_path": "a"}, **fields}
        step = adapt_event(event).step
        assert step is not None
        return step

    @pytest.mark.parametrize(
        ("fields", "kind"),
        [
            (
                {"hook_event_name": "PostToolUseFailure",
                 "error": "<tool_use_error>Sibling tool call errored</tool_use_error>"},
                "cancelled",
            ),
            (
                {"hook_event_name": "PostToolUseFailure", "error": "Sibling tool call errored"},
                "cancelled",
            ),
            (
                {"hook_event_name": "PostToolUseFailure", "is_interrupt": True, "error": "x"},
                "interrupted",
            ),
            (
                {"hook_event_name": "PostToolUseFailure",
                 "error": "The user doesn't want to proceed with this tool use. The tool use "
                          "was rejected (eg. if it was a file edit, the new_string was NOT "
                          "written to the file). STOP what you are doing"},
                "refused",
            ),
            ({"hook_event_name": "PostToolUseFailure", "error": "User rejected tool use"},
             "refused"),
            ({"tool_response": "exec command rejected by user"}, "refused"),
            ({"tool_response": {"resultType": "rejected", "textResultForLlm": "no"}},
             "refused"),
            ({"tool_response": "[Request interrupted by user for tool use]"}, "interrupted"),
        ],
    )  # fmt: skip
    def test_each_dialect(self, fields: dict[str, object], kind: str) -> None:
        step = self._step(**fields)
        assert step.artifact == kind
        assert step.result_digest is None and step.failure_digest is None

    def test_a_real_failure_is_no_artifact(self) -> None:
        step = self._step(hook_event_name="PostToolUseFailure", error="EISDIR: illegal operation")
        assert step.artifact is None and step.failure_digest is not None

    def test_an_artifact_neither_extends_nor_breaks_a_run(self) -> None:
        same = Step("Read", "a" * 16, "r" * 16)
        cancelled = Step("Read", "b" * 16, artifact="cancelled")
        detector = Detector(DEFAULT_POLICY)
        verdicts = [detector.push(s) for s in (same, same, cancelled, cancelled, same)]
        assert [v.state.value for v in verdicts] == [
            "ADVANCING", "ADVANCING", "ADVANCING", "ADVANCING", "REPEATING"
        ]  # fmt: skip
        assert detector.steps == 5

    def test_five_cancellations_fire_nothing(self) -> None:
        detector = Detector(DEFAULT_POLICY)
        cancelled = Step("Read", "b" * 16, artifact="cancelled")
        assert not any(detector.push(cancelled).fired for _ in range(5))

    def test_the_record_keeps_the_artifact_and_no_result(self) -> None:
        line = encode_record(Step("Read", "b" * 16, artifact="refused"), step_index=3)
        raw = json.loads(line)
        assert raw["streamd_artifact"] == "refused" and raw["result_digest"] is None
        assert parse_line(line)[0].step.artifact == "refused"


def test_a_file_quoting_an_artifact_is_still_a_result() -> None:
    event = {
        "tool_name": "Read",
        "tool_input": {"file_path": "notes.md"},
        "tool_response": "# notes\nClaude said: Sibling tool call errored\n",
    }
    step = adapt_event(event).step
    assert step is not None and step.artifact is None and step.result_digest is not None


def test_two_spellings_of_one_call_are_one_call_for_streamds_rules() -> None:
    def step(command: str) -> Step:
        event = {"cwd": "/w/p", "tool_name": "Bash", "tool_input": {"command": command},
                 "tool_response": "x"}  # fmt: skip
        adapted = adapt_event(event).step
        assert adapted is not None
        return adapted

    relative, absolute = step("python reproduce.py"), step("python /w/p/reproduce.py")
    assert relative.args_digest != absolute.args_digest  # dos-kernel's digests stay
    assert relative.call == absolute.call
    assert relative.call_digest is None  # already canonical: nothing extra recorded
