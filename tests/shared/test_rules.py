"""The rules, one scenario at a time, and the incremental ``Detector`` against a slow
reference that reads each rule's definition off the whole stream."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamd.shared import (
    MAX_PERIOD,
    Counts,
    Detector,
    FailureSettings,
    Policy,
    Step,
    StreamState,
    StreamTracker,
    Verdict,
    adapt_event,
)
from streamd.shared._calls import family
from streamd.shared.rules.recurrence import RecurrenceSettings

from ..strategies import rich_streams, step_streams

ADVANCING, REPEATING, STALLED = StreamState.ADVANCING, StreamState.REPEATING, StreamState.STALLED


def fire(steps: list[Step], policy: Policy | None = None) -> list[tuple[str, str, int]]:
    detector = Detector(policy or Policy())
    out = []
    for step in steps:
        v = detector.push(step)
        out.append((v.state.value, v.rule if v.fired else "-", v.repeat_run if v.fired else 0))
    return out


FAILURE_ONLY = Policy(rules=("failure",))
CYCLE_ONLY = Policy(rules=("cycle",))


def call(tool: str, args: str, result: str, *, failed: bool = False) -> Step:
    event: dict[str, object] = {
        "hook_event_name": "PostToolUseFailure" if failed else "PostToolUse",
        "tool_name": tool,
        "tool_input": {"arg": args},
        ("error" if failed else "tool_response"): result,
    }
    step = adapt_event(event).step
    assert step is not None
    return step


class TestExactRule:
    @given(step_streams)
    def test_exact_only_is_dos_kernels_verdict(self, stream: list[Step]) -> None:
        policy = Policy(rules=("exact",))
        detector, tracker = Detector(policy), StreamTracker(policy)
        for step in stream:
            assert detector.push(step) == tracker.push(step)

    def test_identical_results_fire_at_three_and_five(self) -> None:
        steps = [call("Read", "a.py", "same")] * 5
        assert [s for s, _, _ in fire(steps)] == [
            "ADVANCING",
            "ADVANCING",
            "REPEATING",
            "REPEATING",
            "STALLED",
        ]
        assert fire(steps)[2][1] == "exact"


class TestNoisyRule:
    def test_a_rerun_test_with_new_durations_fires(self) -> None:
        steps = [
            call("Bash", "pytest", f"FAILED test_x - assert 1 == 2\n1 failed in {t}s")
            for t in ("0.51", "0.48", "0.62", "0.55", "0.50")
        ]
        assert fire(steps) == [
            ("ADVANCING", "-", 0),
            ("ADVANCING", "-", 0),
            ("REPEATING", "noisy", 3),
            ("REPEATING", "noisy", 4),
            ("STALLED", "noisy", 5),
        ]
        assert fire(steps, Policy(rules=("exact",))) == [("ADVANCING", "-", 0)] * 5

    def test_polling_new_data_does_not_fire(self) -> None:
        steps = [call("Bash", "tail log", f"chunk {n} at 12:00:0{n}") for n in range(6)]
        assert all(state == "ADVANCING" for state, _, _ in fire(steps))

    def test_a_shrinking_failure_list_does_not_fire(self) -> None:
        steps = [call("Bash", "pytest", f"{n} failed in 0.{n}s") for n in (5, 4, 3, 2)]
        assert all(state == "ADVANCING" for state, _, _ in fire(steps))


class TestFailureRule:
    def test_an_edit_rejected_the_same_way_with_varied_arguments(self) -> None:
        error = "E999 IndentationError: expected an indented block (line {})"
        steps = [
            call("Edit", f"attempt {n}", f"Syntax error.\n- {error.format(40 + n)}", failed=True)
            for n in range(5)
        ]
        assert [(s, r, n) for s, r, n in fire(steps)][2:] == [
            ("REPEATING", "failure", 3),
            ("REPEATING", "failure", 4),
            ("STALLED", "failure", 5),
        ]

    def test_a_success_between_attempts_resets(self) -> None:
        fail = [call("Edit", f"a{n}", "IndentationError: bad", failed=True) for n in range(4)]
        ok = call("Edit", "fixed", "ok")
        stream = [fail[0], fail[1], ok, fail[2], fail[3]]
        assert all(s == "ADVANCING" for s, _, _ in fire(stream, FAILURE_ONLY))

    def test_different_errors_do_not_fire(self) -> None:
        steps = [
            call("Bash", f"run {n}", f"NameError: name 'v{n}' is not defined", failed=True)
            for n in range(5)
        ]
        assert all(s == "ADVANCING" for s, _, _ in fire(steps))

    def test_a_gap_lets_a_look_come_between_attempts(self) -> None:
        fail = [call("Edit", f"a{n}", "IndentationError: bad", failed=True) for n in range(3)]
        look = call("Read", "f.py", "content")
        stream = [fail[0], look, fail[1], look, fail[2]]
        assert fire(stream, FAILURE_ONLY)[-1][0] == "ADVANCING"
        gap = Policy(rules=("failure",), settings={"failure": FailureSettings(gap=1)})
        assert fire(stream, gap)[-1] == (
            "REPEATING",
            "failure",
            3,
        )

    def test_codex_plain_text_errors_count_as_failures(self) -> None:
        steps = [
            call("Bash", cmd, "cat: missing.txt: No such file or directory\n")
            for cmd in ("cat missing.txt", "cat ./missing.txt", "head missing.txt")
        ]
        assert fire(steps)[-1] == ("REPEATING", "failure", 3)

    def test_a_silent_failure_has_no_fingerprint(self) -> None:
        steps = [call("Bash", f"grep {n} f", "", failed=True) for n in range(4)]
        assert all(s.failure_digest is None for s in steps)
        assert all(state == "ADVANCING" for state, _, _ in fire(steps))


class TestCycleRule:
    A, B, C, D = (call("Read", name, f"content of {name}") for name in "abcd")

    def test_two_calls_alternating_three_rounds(self) -> None:
        A, B = self.A, self.B
        got = fire([A, B, A, B, A, B, A, B, A, B], CYCLE_ONLY)
        assert [s for s, _, _ in got[:5]] == ["ADVANCING"] * 5
        assert got[5] == ("REPEATING", "cycle", 6)
        assert got[9] == ("STALLED", "cycle", 10)

    def test_three_calls_three_rounds(self) -> None:
        A, B, C = self.A, self.B, self.C
        got = fire([A, B, C] * 5, CYCLE_ONLY)
        assert [rule for _, rule, _ in got[:8]] == ["-"] * 8
        assert got[8] == ("REPEATING", "cycle", 9)
        assert got[14] == ("STALLED", "cycle", 15)

    def test_a_single_reread_of_a_sequence_is_not_a_loop(self) -> None:
        A, B, C, D = self.A, self.B, self.C, self.D
        assert all(rule == "-" for _, rule, _ in fire([A, B, C, D, A, B, C, D]))

    @pytest.mark.parametrize("pattern", ["ABABCABAB", "ABA", "ABCDAB", "AAAAAA", "ABCABC"])
    def test_not_a_cycle(self, pattern: str) -> None:
        steps = [getattr(self, c) for c in pattern]
        assert all(rule != "cycle" for _, rule, _ in fire(steps))

    def test_a_changed_result_breaks_the_cycle(self) -> None:
        A, B = self.A, self.B
        B2 = call("Read", "b", "content of b, edited")
        assert all(s == "ADVANCING" for s, _, _ in fire([A, B, A, B2, A, B], CYCLE_ONLY))

    def test_verdict_names_the_period(self) -> None:
        detector = Detector(Policy())
        verdicts = [detector.push(s) for s in [self.A, self.B, self.C] * 3]
        assert (verdicts[-1].rule, verdicts[-1].period) == ("cycle", 3)


class TestDetector:
    def test_the_strongest_rule_decides(self) -> None:
        # The exact run is 3 (REPEATING); the noisy run is 5 (STALLED).
        steps = [call("Bash", "pytest", f"1 failed in 0.{n}s") for n in (1, 2, 3, 3, 3)]
        assert fire(steps)[-1] == ("STALLED", "noisy", 5)

    def test_switched_off_rules_do_not_fire(self) -> None:
        steps = [call("Bash", "pytest", f"1 failed in 0.{n}s") for n in range(5)]
        assert fire(steps, Policy(rules=("exact", "failure"))) == [("ADVANCING", "-", 0)] * 5

    def test_switching_off_exact_keeps_its_run_quiet(self) -> None:
        steps = [call("Read", "a", "same")] * 4
        assert fire(steps, Policy(rules=("cycle",))) == [("ADVANCING", "-", 0)] * 4

    def test_peek_changes_nothing(self) -> None:
        detector = Detector(Policy())
        for step in [TestCycleRule.A, TestCycleRule.B] * 2:
            detector.push(step)
        before = detector.snapshot()
        peeked = detector.peek(TestCycleRule.A)
        assert detector.snapshot() == before
        assert detector.push(TestCycleRule.A) == peeked

    @given(rich_streams, st.sampled_from([0, 1, 3]), st.sampled_from([2, 3]))
    def test_incremental_equals_reference(self, stream: list[Step], gap: int, rounds: int) -> None:
        policy = Policy(
            settings={"failure": FailureSettings(gap=gap), "cycle": Counts(rounds, rounds + 1)}
        )
        detector = Detector(policy)
        for t, step in enumerate(stream):
            assert detector.push(step) == reference(stream[: t + 1], policy)


class TestRecurrenceRule:
    TEST = call("Bash", "pytest -x", "FAILED test_key - KeyError: 'j'", failed=True)
    GREP = call("Grep", "key", "json.py:12: key")
    VIEW = call("Read", "json.py", "def key(): ...")
    ONLY = Policy(rules=("recurrence",))

    def edit(self, n: int) -> Step:
        step = adapt_event(
            {"tool_name": "Edit", "tool_input": {"file_path": "json.py", "old_string": f"v{n}"},
             "tool_response": {"filePath": "json.py"}}
        ).step  # fmt: skip
        assert step is not None and step.writes
        return step

    def test_a_failure_an_edit_does_not_change_is_advice_at_its_third_run(self) -> None:
        stream = [self.TEST, self.edit(1), self.TEST, self.edit(2), self.TEST]
        assert fire(stream, self.ONLY)[-1] == ("REPEATING", "recurrence", 3)
        detector = Detector(self.ONLY)
        assert [detector.push(s).audience for s in stream][-1] == "model"

    def test_a_failure_that_changes_is_progress(self) -> None:
        other = call("Bash", "pytest -x", "FAILED test_other - ValueError", failed=True)
        stream = [self.TEST, self.edit(1), other, self.edit(2), self.TEST]
        assert fire(stream, self.ONLY)[-1][0] == "ADVANCING"

    def test_a_re_read_with_nothing_written_between_is_advice(self) -> None:
        stream = [self.VIEW, self.GREP, self.VIEW, self.GREP, self.VIEW]
        detector = Detector(self.ONLY)
        verdicts = [detector.push(s) for s in stream]
        assert [v.fired for v in verdicts] == [False, False, False, False, True]
        assert (verdicts[-1].rule, verdicts[-1].audience) == ("recurrence", "model")

    def test_the_same_result_after_an_edit_is_only_a_note(self) -> None:
        stream = [self.VIEW, self.GREP, self.VIEW, self.edit(1), self.VIEW]
        detector = Detector(self.ONLY)
        verdict = [detector.push(s) for s in stream][-1]
        assert verdict.fired and verdict.audience == "people"

    def test_an_earlier_call_counts_only_within_the_window(self) -> None:
        window = Policy(
            rules=("recurrence",), settings={"recurrence": RecurrenceSettings(window=4)}
        )
        f0, f1, f2 = (call("Read", f"f{n}", f"{n}") for n in range(3))
        inside = [self.VIEW, f0, self.VIEW, f1, self.VIEW]  # the first, 4 calls back, counts
        outside = [self.VIEW, f0, f1, self.VIEW, f2, self.VIEW]  # 5 back: it does not
        assert fire(inside, window)[-1][1] == "recurrence"
        assert fire(outside, window)[-1][1] == "-"

    def test_a_call_of_nothing_returning_nothing_is_not_counted(self) -> None:
        step = adapt_event({"tool_name": "succeed", "tool_input": {}, "tool_response": ""}).step
        assert step is not None
        greps = [call("Grep", f"k{n}", f"{n}") for n in range(3)]
        stream = [step, greps[0], step, greps[1], step, greps[2]]
        assert all(rule == "-" for _, rule, _ in fire(stream, self.ONLY))

    def test_one_failure_from_tools_of_a_family_is_a_note(self) -> None:
        refused = [
            call(tool, f"x{n}", "File has not been read yet. Read it first", failed=True)
            for n, tool in enumerate(["Edit", "MultiEdit", "Write"])
        ]
        detector = Detector(self.ONLY)
        verdicts = [
            detector.push(s) for s in [refused[0], self.GREP, refused[1], self.GREP, refused[2]]
        ]
        assert verdicts[-1].fired and verdicts[-1].audience == "people"

    @given(rich_streams, st.sampled_from([2, 3, 10]))
    def test_alone_equals_reference(self, stream: list[Step], window: int) -> None:
        policy = Policy(
            rules=("recurrence",), settings={"recurrence": RecurrenceSettings(window=window)}
        )
        detector = Detector(policy)
        for t, step in enumerate(stream):
            assert detector.push(step) == reference(stream[: t + 1], policy)


# The reference: each rule's definition applied to the whole stream so far.


def _gap(policy: Policy) -> int:
    settings = policy.settings["failure"]
    assert isinstance(settings, FailureSettings)
    return settings.gap


def _counts(policy: Policy, rule: str) -> tuple[int, int]:
    counts = policy.settings[rule]
    return counts.repeat_n, counts.stall_n


def _state(count: int, repeat_n: int, stall_n: int) -> StreamState:
    return STALLED if count >= stall_n else REPEATING if count >= repeat_n else ADVANCING


def _trailing(keys: Sequence[object]) -> int:
    if keys[-1] is None:
        return 1
    run = 1
    while run < len(keys) and keys[-1 - run] == keys[-1]:
        run += 1
    return run


def _tool(step: Step, policy: Policy) -> str | None:
    """The folded tool when the step can extend a run (a result, a tool not exempt)."""
    if step.result_digest is None or step.tool_name.casefold() in policy.ignored:
        return None
    return step.tool_name.casefold()


def _shape_key(step: Step, policy: Policy) -> object:
    tool = _tool(step, policy)
    return (
        None if tool is None else (tool, step.args_digest, step.shape_digest or step.result_digest)
    )


def _failure_key(step: Step, policy: Policy) -> object:
    tool = _tool(step, policy)
    if tool is None or step.failure_digest is None:
        return None
    return (family(tool), step.failure_digest)


def _failure_chain(stream: list[Step], policy: Policy) -> int:
    last = stream[-1]
    fkey = _failure_key(last, policy)
    kind = family(last.tool_name.casefold())
    count, others, j = 1, 0, len(stream) - 2
    while j >= 0:
        step = stream[j]
        if family(step.tool_name.casefold()) == kind:
            if _failure_key(step, policy) != fkey:
                break
            count, others = count + 1, 0
        else:
            others += 1
            if others > _gap(policy):
                break
        j -= 1
    return count


def _recurrence_keys(step: Step, policy: Policy) -> tuple[tuple[object, ...], ...]:
    tool = _tool(step, policy)
    if tool is None:  # (no generated result is empty: nothing here observes nothing)
        return ()
    call = step.call_digest or step.args_digest
    if step.failure_digest is not None:
        return (
            ("same call failed", tool, call, step.failure_digest),
            ("family failed", family(tool), step.failure_digest),
        )
    return (("same result", tool, call, step.shape_digest or step.result_digest),)


def _recurrence(stream: list[Step], policy: Policy) -> Verdict | None:
    settings = policy.settings["recurrence"]
    assert isinstance(settings, RecurrenceSettings)
    now = len(stream) - 1
    writes = [i for i, s in enumerate(stream) if s.writes]
    best = None
    for key in _recurrence_keys(stream[-1], policy):
        earlier = [
            j
            for j in range(max(0, now - settings.window), now)
            if key in _recurrence_keys(stream[j], policy)
        ]
        count = len(earlier) + 1
        if count < settings.repeat_n:
            continue
        first = earlier[-(settings.repeat_n - 1)] if settings.repeat_n > 1 else now
        if key[0] == "same call failed":
            audience, reason = "model", "failed the same way between other calls"
        elif key[0] == "family failed":
            audience, reason = "people", "the same failure from calls of one family"
        elif not any(w >= first for w in writes):
            audience, reason = "model", "the same result with nothing written between"
        else:
            audience, reason = "people", "the same result after writes"
        verdict = Verdict(
            _state(count, settings.repeat_n, settings.stall_n),
            count,
            stream[-1],
            f"{reason}: {count} times in the last {settings.window} calls",
            "recurrence",
            audience=audience,
        )
        if best is None or (best.audience == "people" and audience == "model"):
            best = verdict
    return best


def reference(whole: list[Step], policy: Policy) -> Verdict:
    if whole[-1].artifact is not None:
        return Verdict(ADVANCING, 0, None, f"the host's ({whole[-1].artifact})")
    stream = [s for s in whole if s.artifact is None]  # the host's doing: no rule sees it
    last = stream[-1]
    exact = StreamTracker(policy)
    for step in stream:
        exact_verdict = exact.push(step)
    candidates: list[Verdict] = []
    shapes = [_shape_key(s, policy) for s in stream]
    noisy = _trailing(shapes)
    state = _state(noisy, *_counts(policy, "noisy"))
    candidates.append(Verdict(state, noisy, None, "", "noisy"))
    if _failure_key(last, policy) is not None:
        chain = _failure_chain(stream, policy)
        state = _state(chain, *_counts(policy, "failure"))
        candidates.append(Verdict(state, chain, None, "", "failure"))
    for p in range(2, MAX_PERIOD + 1):
        matched = 0
        while (
            matched + p < len(shapes)
            and shapes[-1 - matched] is not None
            and shapes[-1 - matched] == shapes[-1 - matched - p]
        ):
            matched += 1
        covered = matched + p
        if covered < p * policy.settings["cycle"].repeat_n or len(set(shapes[-p:])) == 1:
            continue
        stalled = covered >= p * policy.settings["cycle"].stall_n
        candidates.append(Verdict(STALLED if stalled else REPEATING, covered, None, "", "cycle", p))
        break
    recurring = _recurrence(stream, policy) if "recurrence" in policy.rules else None
    note = None
    if recurring is not None and recurring.audience == "model":
        candidates.append(recurring)
    elif recurring is not None:
        note = recurring
    rank = {ADVANCING: 0, REPEATING: 1, STALLED: 2}
    chosen = exact_verdict if "exact" in policy.rules else None
    for verdict in candidates:
        if verdict.rule in policy.rules and (
            chosen is None or rank[verdict.state] > rank[chosen.state]
        ):
            chosen = verdict
    if chosen is not None and chosen.fired:
        return _like(chosen, last)
    if note is not None:
        return note
    if exact_verdict.fired:
        return Verdict(ADVANCING, exact_verdict.repeat_run, None, "no rule fired", "exact")
    return exact_verdict


def _like(verdict: Verdict, last: Step) -> Verdict:
    """The reference's verdict with the detector's wording, for comparison."""
    if verdict.rule in ("exact", "recurrence"):
        return verdict
    reasons = {
        "noisy": "the same call returned results that differ only in noise {n} times in a row",
        "failure": "the same tool failed with the same error {n} times in a row",
        "cycle": "the last {n} calls are {p} calls repeating with the same results",
    }
    reason = reasons[verdict.rule].format(n=verdict.repeat_run, p=verdict.period)
    return Verdict(verdict.state, verdict.repeat_run, last, reason, verdict.rule, verdict.period)
