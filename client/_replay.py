"""``streamd replay``: classify a session log offline, step by step, with the rule
that fired."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
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
    hosts,
    load_policy,
    read_records,
    read_transcript,
)

from ._terminal import plural


def workspace_policy_for(log: str) -> Policy:
    """The policy of the workspace a log lies in (``<ws>/.dos/streams/x.jsonl``)."""
    streams = os.path.dirname(os.path.abspath(log))
    if not streams.endswith(os.sep + STREAMS_DIR):
        return Policy()
    workspace = streams[: -len(STREAMS_DIR) - 1]
    return load_policy(os.path.join(workspace, POLICY_FILENAME))


def replay(records: list[Record], policy: Policy) -> Iterator[tuple[int, Record, Verdict]]:
    detector = Detector(policy)
    for index, record in enumerate(records):
        yield index, record, detector.push(record.step)


def _loops(records: list[Record], policy: Policy) -> list[int]:
    """The session's calls inside advised loops after each step."""
    detector = Detector(policy)
    out = []
    for record in records:
        detector.push(record.step)
        out.append(detector.in_loops)
    return out


def print_json(records: list[Record], policy: Policy, out: TextIO) -> None:
    for index, record, verdict in replay(records, policy):
        row = {
            "step_index": index,
            "tool_name": record.step.tool_name,
            "args_digest": record.step.args_digest,
            "result_digest": record.step.result_digest,
            "state": verdict.state.value,
            "repeat_run": verdict.repeat_run,
            "rule": verdict.rule if verdict.fired else None,
            "audience": verdict.audience if verdict.fired else None,
            "period": verdict.period if verdict.fired and verdict.rule == "cycle" else None,
            "recorded_state": record.verdict_state,
        }
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def print_table(records: list[Record], policy: Policy, out: TextIO) -> None:
    out.write(
        f"{'step':>6}  {'state':<9}  {'rule':<11}  {'run':>4}  {'tool':<20}  {'args':<16}  result\n"
    )
    fired: dict[str, int] = {}
    stop: int | None = None
    detector_loops = _loops(records, policy)
    for (index, record, verdict), in_loops in zip(
        replay(records, policy), detector_loops, strict=True
    ):
        rule = verdict.rule if verdict.fired else "-"
        if verdict.fired and verdict.audience != "model":
            rule += "*"  # a note for people, not said to the model
        if verdict.fired:
            fired[rule] = fired.get(rule, 0) + 1
        step = record.step
        out.write(
            f"{index:>6}  {verdict.state.value:<9}  {rule:<11}  {verdict.repeat_run:>4}  "
            f"{_clip(step.tool_name, 20):<20}  {step.args_digest:<16}  "
            f"{step.result_digest or '-'}"
        )
        if stop is None and policy.breaker is not None and policy.breaker.trips(verdict, in_loops):
            stop = index
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


def _clip(text: str, width: int) -> str:
    printable = text.encode("utf-8", "replace").decode("utf-8")
    return printable if len(printable) <= width else printable[: width - 1] + "…"


def run(
    log: str, policy_file: str | None, as_json: bool, out: TextIO, fmt: str | None = None
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
    fmt = fmt or detect(log)
    if fmt == SESSION_LOG:
        records = read_records(log)
    else:
        host = hosts.get(fmt) if fmt in hosts.NAMES else None
        steps = (adapt_event(e, host=host).step for e in read_transcript(log, fmt).events)
        records = [Record(step) for step in steps if step is not None]
    (print_json if as_json else print_table)(records, policy, out)
