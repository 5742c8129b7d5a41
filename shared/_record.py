"""The session-log record: dos-kernel's ``tool-stream`` family, version 1, one JSON
object per line at ``<workspace>/.dos/streams/<sid>.jsonl``.

streamd adds optional fields: ``tool_use_id`` (its idempotency key), ``shape_digest``
(only where noise made it differ from ``result_digest``), ``failure_digest`` (a failed
call's error gist), ``streamd_verdict`` (the rule that fired, its state, count and
period), ``streamd_loops`` (the session's calls inside advised loops so far, once not
0), ``streamd_stop`` (the circuit breaker stopped the agent here), ``streamd_artifact``
(a call the host cancelled, the user refused or interrupted: recorded with no result,
and skipped by every streamd rule), ``call_digest`` (the call with its arguments in
canonical form, where that differs) and ``streamd_writes`` (the call may change files).
``verdict_state`` keeps dos-kernel's meaning: the exact rule's verdict.
Readers skip what they cannot use: blank and torn lines, other families, newer
versions, records without a string ``tool_name``/``args_digest``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

from ._verdict import Step

# str.splitlines also ends a line at these, and json.dumps leaves them raw: escaped, a
# record that holds one stays on its line (dos-kernel's writer loses such a record).
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})

SCHEMA_FAMILY = "tool-stream"
SCHEMA_VERSION = 1
STREAMS_DIR = os.path.join(".dos", "streams")


@dataclass(frozen=True, slots=True)
class Record:
    """One readable record of a session log."""

    step: Step
    step_index: int | None = None
    verdict_state: str | None = None
    tool_use_id: str | None = None
    rule: str | None = None
    """The streamd rule that fired at this step, if any."""
    rule_state: str | None = None
    in_loops: int | None = None
    """The session's calls inside advised loops so far (``streamd_loops``)."""
    stop: tuple[str, int] | None = None
    """The breaker stopped the agent at this step: its rule and the loop's count."""
    ts: str | None = field(default=None, compare=False)
    """When the step was recorded (UTC, to the second); not part of what it records."""


def log_path(workspace: str, session_name: str) -> str:
    return os.path.join(workspace, STREAMS_DIR, session_name + ".jsonl")


_last_stamp: tuple[int, str] = (-1, "")


def utc_stamp() -> str:
    """The record timestamp, to the second; formatted once per second."""
    global _last_stamp
    second = int(time.time())
    if _last_stamp[0] != second:
        _last_stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _last_stamp[1]


def encode_id(tool_use_id: str) -> bytes:
    """A ``tool_use_id`` as a record holds it, quotes included: how to search for it."""
    return json.dumps(tool_use_id, ensure_ascii=False).translate(_LINE_BREAKS).encode("utf-8")


def encode_record(
    step: Step,
    *,
    step_index: int,
    verdict_state: str | None = None,
    run_id: str | None = None,
    tool_use_id: str | None = None,
    ts: str | None = None,
    streamd_verdict: dict[str, object] | None = None,
    in_loops: int = 0,
    stop: dict[str, object] | None = None,
) -> bytes:
    """The line for one step. Raises ``UnicodeEncodeError`` on unencodable text, as
    dos-kernel's writer does (such a step is not recorded)."""
    record: dict[str, object] = {
        "schema": {"family": SCHEMA_FAMILY, "version": SCHEMA_VERSION},
        "op": "STEP",
        "tool_name": step.tool_name,
        "args_digest": step.args_digest,
        "result_digest": step.result_digest,
        "step_index": step_index,
        "ts": ts or utc_stamp(),
    }
    if verdict_state:
        record["verdict_state"] = verdict_state
        if run_id:
            record["run_id"] = run_id
    if tool_use_id:
        record["tool_use_id"] = tool_use_id
    if step.shape_digest is not None and step.shape_digest != step.result_digest:
        record["shape_digest"] = step.shape_digest
    if step.failure_digest is not None:
        record["failure_digest"] = step.failure_digest
    if step.artifact is not None:
        record["streamd_artifact"] = step.artifact
    if step.call_digest is not None and step.call_digest != step.args_digest:
        record["call_digest"] = step.call_digest
    if step.writes:
        record["streamd_writes"] = True
    if streamd_verdict:
        record["streamd_verdict"] = streamd_verdict
    if in_loops:
        record["streamd_loops"] = in_loops
    if stop:
        record["streamd_stop"] = stop
    line = json.dumps(record, sort_keys=True, ensure_ascii=False).translate(_LINE_BREAKS)
    return (line + "\n").encode("utf-8")


def _schema_readable(tag: object) -> bool:
    """dos-kernel's schema gate: untagged and malformed read as version 1."""
    if isinstance(tag, bool):
        return True
    if isinstance(tag, int):
        return tag <= SCHEMA_VERSION
    if isinstance(tag, dict):
        family = tag.get("family")
        version = tag.get("version")
        if not isinstance(family, str) or isinstance(version, bool) or not isinstance(version, int):
            return True
        if version < 1:
            return True
        if family and family != SCHEMA_FAMILY:
            return False
        return version <= SCHEMA_VERSION
    return True


def parse_record(obj: object) -> Record | None:
    """The record a decoded JSON value holds, or None when a reader must skip it."""
    if not isinstance(obj, dict) or not _schema_readable(obj.get("schema")):
        return None
    tool_name = obj.get("tool_name")
    args_digest = obj.get("args_digest")
    if not isinstance(tool_name, str) or not isinstance(args_digest, str):
        return None
    result_digest = _str(obj.get("result_digest"))
    step_index = obj.get("step_index")
    fired = obj.get("streamd_verdict")
    if not isinstance(fired, dict):
        fired = {}
    shape = _str(obj.get("shape_digest")) if result_digest is not None else None
    return Record(
        Step(
            tool_name,
            args_digest,
            result_digest,
            shape,
            _str(obj.get("failure_digest")),
            _str(obj.get("streamd_artifact")),
            _str(obj.get("call_digest")),
            obj.get("streamd_writes") is True,
        ),
        step_index if isinstance(step_index, int) and not isinstance(step_index, bool) else None,
        _str(obj.get("verdict_state")),
        _str(obj.get("tool_use_id")),
        _str(fired.get("rule")),
        _str(fired.get("state")),
        _count(obj.get("streamd_loops")),
        _stop(obj.get("streamd_stop")),
        _str(obj.get("ts")),
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _stop(value: object) -> tuple[str, int] | None:
    if not isinstance(value, dict):
        return None
    rule, count = value.get("rule"), _count(value.get("count"))
    return (rule, count) if isinstance(rule, str) and count is not None else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_line(line: bytes) -> list[Record]:
    """The records in one ``\\n``-terminated line, split as ``str.splitlines`` would."""
    out: list[Record] = []
    for piece in line.decode("utf-8", "replace").splitlines():
        text = piece.strip()
        if not text:
            continue
        try:
            record = parse_record(json.loads(text))
        except (ValueError, RecursionError):
            continue
        if record is not None:
            out.append(record)
    return out
