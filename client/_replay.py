"""``streamd replay``: a session log or a transcript classified offline, step by step:
when, which tool with what, what came back, and the rule that fired with its count in
its own unit (rounds for a cycle). A session log holds digests only; a transcript holds
the calls themselves."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from streamd.shared import (
    POLICY_FILENAME,
    SESSION_LOG,
    STREAMS_DIR,
    Detector,
    Policy,
    Record,
    Verdict,
    adapt_event,
    detect,
    excerpt,
    hosts,
    load_policy,
    read_records,
    read_transcript,
)
from streamd.shared._breaker import loop_count
from streamd.shared._calls import first_text

from ._terminal import plural

_ARGUMENT_KEYS = ("command", "cmd", "file_path", "path", "absolute_path", "pattern", "query")


@dataclass(frozen=True, slots=True)
class Row:
    """One step, with what a person reads of it (empty for a session log's digests)."""

    record: Record
    time: str = ""
    arguments: str = ""
    result: str = ""


@dataclass(frozen=True, slots=True)
class View:
    """How much to show: every step, or the fired ones with ``context`` steps around."""

    only_fired: bool = False
    context: int = 0
    digests: bool = False


def workspace_policy_for(log: str) -> Policy:
    """The policy of the workspace a log lies in (``<ws>/.dos/streams/x.jsonl``)."""
    streams = os.path.dirname(os.path.abspath(log))
    if not streams.endswith(os.sep + STREAMS_DIR):
        return Policy()
    workspace = streams[: -len(STREAMS_DIR) - 1]
    return load_policy(os.path.join(workspace, POLICY_FILENAME))


def replay(records: list[Record], policy: Policy) -> Iterator[tuple[int, Record, Verdict, int]]:
    """Each step with its verdict and the session's calls in advised loops so far."""
    detector = Detector(policy)
    for index, record in enumerate(records):
        verdict = detector.push(record.step)
        yield index, record, verdict, detector.in_loops


def print_json(rows: list[Row], policy: Policy, out: TextIO) -> None:
    records = [row.record for row in rows]
    for (index, record, verdict, _), row in zip(replay(records, policy), rows, strict=True):
        line = {
            "step_index": index,
            "time": row.time or None,
            "tool_name": record.step.tool_name,
            "arguments": row.arguments or None,
            "result": row.result or None,
            "args_digest": record.step.args_digest,
            "result_digest": record.step.result_digest,
            "state": verdict.state.value,
            "repeat_run": verdict.repeat_run,
            "count": loop_count(verdict) if verdict.fired else None,
            "rule": verdict.rule if verdict.fired else None,
            "audience": verdict.audience if verdict.fired else None,
            "period": verdict.period if verdict.fired and verdict.rule == "cycle" else None,
            "recorded_state": record.verdict_state,
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _shown(fired: list[bool], view: View) -> list[bool]:
    if not view.only_fired and not view.context:
        return [True] * len(fired)
    shown = [False] * len(fired)
    for i, hit in enumerate(fired):
        if hit:
            for j in range(max(0, i - view.context), min(len(fired), i + view.context + 1)):
                shown[j] = True
    return shown


def print_table(rows: list[Row], policy: Policy, out: TextIO, view: View | None = None) -> None:
    view = view or View()
    records = [row.record for row in rows]
    steps = list(replay(records, policy))
    shown = _shown([verdict.fired for _, _, verdict, _ in steps], view)
    digests = view.digests or not any(row.arguments or row.result for row in rows)
    what = f"{'args':<16}  result" if digests else f"{'arguments':<34}  result"
    head = f"{'step':>6}  {'time':<8}  {'state':<9}  {'rule':<11}  {'count':>5}  {'tool':<16}"
    out.write(f"{head}  {what}\n")
    fired: dict[str, int] = {}
    stop: int | None = None
    previous = -1
    for (index, record, verdict, in_loops), row, show in zip(steps, rows, shown, strict=True):
        rule = verdict.rule if verdict.fired else "-"
        if verdict.fired and verdict.audience != "model":
            rule += "*"  # a note for people, not said to the model
        if verdict.fired:
            fired[rule] = fired.get(rule, 0) + 1
        breaker = policy.breaker
        stops = stop is None and breaker is not None and breaker.trips(verdict, in_loops)
        if stops:
            stop = index
        if not show:
            continue
        if previous >= 0 and index != previous + 1:
            out.write(f"{'...':>6}\n")
        previous = index
        count = _count(verdict)
        step = record.step
        if digests:
            detail = f"{step.args_digest:<16}  {step.result_digest or '-'}"
        else:
            detail = f"{_clip(row.arguments, 34):<34}  {_clip(row.result, 60)}"
        out.write(
            f"{index:>6}  {row.time[11:19] if len(row.time) >= 19 else row.time:<8}  "
            f"{verdict.state.value:<9}  {rule:<11}  {count:>5}  {_clip(step.tool_name, 16):<16}  "
            f"{detail}".rstrip()
        )
        if stops:
            out.write("  <- the circuit breaker stops the agent here")
        out.write("\n")
    by_rule = ", ".join(f"{rule} {n}" for rule, n in fired.items())
    rules = f" ({by_rule})" if by_rule else ""
    out.write(
        f"{plural(len(records), 'step')}, {sum(fired.values())} fired{rules}; "
        f"rules {', '.join(policy.rules)} "
        f"(repeat_n={policy.repeat_n}, stall_n={policy.stall_n})\n"
    )
    if policy.breaker is not None:
        where = f"at step {stop}" if stop is not None else "nowhere"
        out.write(f"the circuit breaker in dos.toml would have stopped this session {where}\n")
    if any(rule.endswith("*") for rule in fired):
        out.write("* a note for people: recorded and shown here, not said to the model\n")


def _count(verdict: Verdict) -> str:
    """The count in the rule's own unit: rounds for a cycle (``3r``), else calls."""
    if verdict.fired and verdict.rule == "cycle":
        return f"{loop_count(verdict)}r"
    return str(verdict.repeat_run)


def _clip(text: str, width: int) -> str:
    printable = text.encode("utf-8", "replace").decode("utf-8")
    printable = " ".join(printable.split())  # one line: newlines and runs of spaces go
    return printable if len(printable) <= width else printable[: width - 1] + "…"


def _arguments(tool_input: object) -> str:
    """The argument a person recognizes a call by (its command, path or pattern)."""
    found = first_text(tool_input, _ARGUMENT_KEYS)
    if found is not None:
        return found
    return json.dumps(tool_input, sort_keys=True, default=str, ensure_ascii=False)


def rows_of(log: str, fmt: str) -> list[Row]:
    if fmt == SESSION_LOG:
        return [Row(record, record.ts or "") for record in read_records(log)]
    host = hosts.get(fmt) if fmt in hosts.NAMES else None
    rows = []
    for event in read_transcript(log, fmt).events:
        adapted = adapt_event(event, host=host)
        if adapted.step is None:
            continue
        shown = adapted.failure if adapted.failure is not None else adapted.result
        result = excerpt(shown, 200, host=host) if adapted.has_result else ""
        stamp = event.get("timestamp")
        rows.append(
            Row(
                Record(adapted.step),
                stamp if isinstance(stamp, str) else "",
                _arguments(event.get("tool_input")),
                result,
            )
        )
    return rows


def run(
    log: str,
    policy_file: str | None,
    as_json: bool,
    out: TextIO,
    fmt: str | None = None,
    view: View | None = None,
) -> None:
    """Raises ``FileNotFoundError`` for a missing file, ``PolicyError`` for a bad policy,
    ``UnknownFormat`` for a file in no format streamd reads."""
    if not os.path.isfile(log):
        raise FileNotFoundError(log)
    if policy_file is not None:
        if not os.path.isfile(policy_file):
            raise FileNotFoundError(policy_file)
        policy = load_policy(policy_file)
    else:
        policy = workspace_policy_for(log)
    rows = rows_of(log, fmt or detect(log))
    if as_json:
        print_json(rows, policy, out)
    else:
        print_table(rows, policy, out, view)
