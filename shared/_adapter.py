"""From a host's hook event to a step: digests computed exactly as dos-kernel does.

``args_digest`` hashes ``{"tool": name, "input": tool_input}`` and ``result_digest`` the
environment-authored result, both over ``canonical_bytes``. A failed call (Claude
Code's ``PostToolUseFailure``) has no result, so its ``error`` text stands in for it.
streamd adds ``shape_digest`` (the result without its noise) and, for a failed call,
``failure_digest`` (the gist of its error).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._calls import canonical_input, writes
from ._shape import failure_gist, normalize
from ._verdict import Step

if TYPE_CHECKING:
    from .hosts import Host

RESULT_KEYS = ("tool_response", "tool_output")
EXIT_KEYS = ("exit_code", "exitCode", "returncode", "return_code", "exit_status")


FAILURE_EVENTS = frozenset({"PostToolUseFailure"})
SESSION_END_EVENTS = frozenset({"SessionEnd"})
BATCH_EVENTS = frozenset({"PostToolBatch"})
"""Claude Code's event after each batch of calls: no step of its own, but its answer can
stop the agent when a failing call's cannot."""
DEFAULT_EVENT_NAME = "PostToolUse"


def canonical_bytes(value: object) -> bytes:
    """A string is its own UTF-8; anything else is its sorted-key ``json.dumps``."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text.encode("utf-8", "replace")


Encode = Callable[[object], bytes]
"""A canonical encoding: equal bytes exactly for the values ``canonical_bytes`` gives
equal bytes for. The hook and the daemon use ``canonical_bytes`` itself (their digests
are dos-kernel's, in the session logs); the report, which writes no log, may use any."""


def _builtin_sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256: loading OpenSSL costs the short-lived hook 2 ms, more
    than it would ever hash."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - an interpreter without it
        from hashlib import sha256
    return sha256  # type: ignore[no-any-return]


_sha256 = _builtin_sha256()


def use_openssl() -> None:
    """Hash with OpenSSL from now on (several times faster on large results): for the
    daemon and the report, which live long enough to repay loading it. The digests are
    the same."""
    global _sha256
    from hashlib import sha256

    _sha256 = sha256


def digest(data: bytes) -> str:
    return str(_sha256(data).hexdigest()[:16])


def parse_event(raw: bytes) -> dict[str, object] | None:
    """The event object a hook read from stdin, or None when it is not one. Raises
    ``RecursionError`` for one nested deeper than the caller has room for."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip():
        return None
    try:
        event = json.loads(text, parse_int=_int_or_text)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _int_or_text(text: str) -> int | str:
    """An integer, or its digits as text past Python's limit on converting them (4,300):
    a call holding one is recorded, not dropped."""
    try:
        return int(text)
    except ValueError:
        return text


ABSENT = object()
"""An event's result when it has none (``HookEvent.has_result`` is then False)."""


def _result_of(event: Mapping[str, object], event_name: str) -> object:
    for key in RESULT_KEYS:
        value = event.get(key)
        if value is not None:
            return value
    if event_name in FAILURE_EVENTS:
        error = event.get("error")
        if error is not None:
            return error
    return ABSENT


@dataclass(frozen=True, slots=True)
class HookEvent:
    """What streamd needs from one hook event."""

    event_name: str
    session_id: str | None
    cwd: str | None
    tool_use_id: str | None
    step: Step | None
    result: object
    failure: str | None = None
    """A failed call's error text (or its output, when that is all the host sends)."""

    @property
    def is_session_end(self) -> bool:
        return self.event_name in SESSION_END_EVENTS

    @property
    def is_batch(self) -> bool:
        return self.event_name in BATCH_EVENTS

    @property
    def has_result(self) -> bool:
        return self.result is not ABSENT


def step_from_event(event: Mapping[str, object]) -> Step | None:
    """The step an event records, or None when it names no tool."""
    return adapt_event(event).step


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _encodable_or_none(value: object) -> str | None:
    text = _str_or_none(value)
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def as_text(value: object) -> str:
    return canonical_bytes(value).decode("utf-8")


# A plain-text result that opens like this is an error report (Codex sends a failed
# shell call's output as an ordinary result, with no exit status).
_ERROR_OPENING = re.compile(
    r"""\s*+(?:
        (?:ERROR|Error|error|FATAL|Fatal|fatal)\b\s*+[:\[]
      | Traceback\ \(most\ recent\ call\ last\):
      | [\w.]*(?:Error|Exception):
      | [^\n]*:\ (?:[Nn]o\ such\ file\ or\ directory|command\ not\ found|[Pp]ermission\ denied)$
    )""",
    re.VERBOSE | re.MULTILINE,
)


_EXIT_LINE = re.compile(r"^[^\w\n]*+Exit [Cc]ode:? *+(-?\d++)", re.MULTILINE)


def exit_line(text: str) -> bool:
    """Whether a tool's text reports a non-zero exit code on a line of its own."""
    found = _EXIT_LINE.search(text[:4096])
    return found is not None and found.group(1) != "0"


def failure_of(event_name: str, result: object) -> str | None:
    """The error text of a failed call, in the forms every host shares: a failure
    event's error, a structured result's ``error``, ``is_error`` or non-zero exit code
    (with its output), a plain-text result that opens as an error report; None for a
    success. A host's own forms are its module's ``failure``."""
    if result is ABSENT:
        return None
    if event_name in FAILURE_EVENTS:
        return as_text(result)
    if isinstance(result, str):
        return result if _ERROR_OPENING.match(result) or exit_line(result) else None
    if not isinstance(result, Mapping):
        return None
    error = result.get("error")
    if error:
        message = error.get("message") if isinstance(error, Mapping) else None
        return as_text(message if message is not None else error)
    if result.get("is_error") is True:
        return as_text(result)
    for key in EXIT_KEYS:
        code = result.get(key)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            parts = [result.get(k) for k in ("stderr", "stdout", "output")]
            text = "\n".join(p for p in parts if isinstance(p, str) and p)
            return text or f"exit code {code}"
    return None


ARTIFACT_KEY = "streamd_artifact"
"""What a transcript reader sets on an event the host answered itself, from the
transcript's own marks (Claude Code's ``toolDenialKind``): no hook event carries it."""

# What hosts answer in place of a call they did not run (or stopped), in every dialect
# seen: Claude Code's cancelled parallel siblings and refusals, Codex's declined command.
_ARTIFACT_TEXT = (
    ("cancelled", re.compile(r"(?:<tool_use_error>)?Sibling tool call errored")),
    (
        "refused",
        re.compile(
            r"(?:Error: )?(?:The user doesn't want to (?:proceed with|take) this "
            r"(?:tool use|action)|User rejected tool use|Permission to use \S+ has been denied"
            r"|exec command rejected by user)"
        ),
    ),
    ("interrupted", re.compile(r"\[Request interrupted by user")),
)
_REFUSED_RESULTS = frozenset({"rejected", "denied"})


def artifact_of(event: Mapping[str, object], result: object, failure: str | None) -> str | None:
    """What the host did instead of the call, when it did not run it: ``cancelled``
    (a parallel sibling failed), ``refused`` (the user or a rule said no) or
    ``interrupted``; None for a call that ran."""
    marked = event.get(ARTIFACT_KEY)
    if isinstance(marked, str) and marked:
        return marked
    if event.get("is_interrupt") is True:
        return "interrupted"
    if isinstance(result, Mapping) and result.get("resultType") in _REFUSED_RESULTS:
        return "refused"  # Copilot CLI's toolResult
    text = failure if failure is not None else result if isinstance(result, str) else None
    if text is None:
        return None
    head = text[:300].lstrip()
    for kind, pattern in _ARTIFACT_TEXT:
        if pattern.match(head):  # at the start only: a file may quote these words
            return kind
    return None


def _shape_digest(raw: bytes) -> str | None:
    """The digest of the result without its noise; None when it had none."""
    text = raw.decode("utf-8")
    shape = normalize(text)
    return None if shape == text else digest(shape.encode("utf-8"))


def call_digests(
    event: Mapping[str, object], encode: Encode = canonical_bytes
) -> tuple[str, str | None] | None:
    """The digests an event's step will have: its ``args_digest`` (dos-kernel's) and its
    ``call_digest`` (the arguments in canonical form; None when that changes nothing).
    None when it names no tool."""
    tool_name = event.get("tool_name")
    if not isinstance(tool_name, str) or not tool_name:
        return None
    tool_input = event.get("tool_input")
    if tool_input is None:
        tool_input = {}
    args = digest(encode({"tool": tool_name, "input": tool_input}))
    cwd = _str_or_none(event.get("cwd"))
    canonical = canonical_input(tool_name.casefold(), tool_input, cwd)
    if canonical is tool_input:
        return args, None
    return args, digest(encode({"tool": tool_name, "input": canonical}))


def call_digest(event: Mapping[str, object]) -> str | None:
    """The ``args_digest`` an event's step will have; None when it names no tool."""
    found = call_digests(event)
    return None if found is None else found[0]


def adapt_event(
    event: Mapping[str, object],
    *,
    host: Host | None = None,
    shape: bool = True,
    digests: tuple[str, str | None] | None = None,
    encode: Encode = canonical_bytes,
) -> HookEvent:
    """The (Claude-shaped) event's step and what else streamd needs of it; ``host``
    reads the failures in its own form. ``shape=False`` leaves the result's shape out,
    for a caller that knows no call within a rule's reach has the same arguments (no
    rule would ever compare it). ``digests``, when given, are the event's
    ``call_digests``, already computed; ``encode``, the canonical encoding digests are
    taken over (a result's shape is always read from ``canonical_bytes``)."""
    name = event.get("hook_event_name")
    event_name = name if isinstance(name, str) and name else DEFAULT_EVENT_NAME
    tool_name = event.get("tool_name")
    step: Step | None = None
    result = ABSENT
    failure: str | None = None
    if isinstance(tool_name, str) and tool_name:
        tool_input = event.get("tool_input")
        if tool_input is None:
            tool_input = {}
        if digests is None:
            digests = call_digests(event, encode)
            assert digests is not None  # it names a tool
        args_digest, call = digests
        result = _result_of(event, event_name)
        folded = tool_name.casefold()
        effect = writes(folded, tool_input)
        if result is ABSENT:
            step = Step(tool_name, args_digest, call_digest=call, writes=effect)
        else:
            raw = encode(result)
            result_digest = digest(raw)
            own = host.failure if host is not None else None
            failure = None
            if own is not None and event_name not in FAILURE_EVENTS:
                failure = own(result)
            if failure is None:
                failure = failure_of(event_name, result)
            artifact = artifact_of(event, result, failure)
            if artifact is not None:
                step = Step(tool_name, args_digest, artifact=artifact, call_digest=call)
                result, failure = ABSENT, None
            else:
                gist = failure_gist(failure) if failure is not None else ""
                step = Step(
                    tool_name,
                    args_digest,
                    result_digest,
                    _shape_digest(raw if encode is canonical_bytes else canonical_bytes(result))
                    if shape
                    else None,
                    digest(gist.encode("utf-8")) if gist else None,
                    call_digest=call,
                    writes=effect,
                )
    session_id = event.get("session_id")
    return HookEvent(
        event_name=event_name,
        session_id=session_id if isinstance(session_id, str) and session_id.strip() else None,
        cwd=_str_or_none(event.get("cwd")),
        tool_use_id=_encodable_or_none(event.get("tool_use_id")),
        step=step,
        result=result,
        failure=failure,
    )


SESSION_NAME_LIMIT = 200
"""Bytes of a log's file name before ``.jsonl``; file systems allow 255."""


def safe_session_name(session_id: str) -> str | None:
    """The session id as a file name: alphanumerics, ``-`` and ``_`` only. An id that
    is already such a name keeps it, as dos-kernel names it. One that had to be changed
    (``a/b`` and ``ab`` would share ``ab``) or is too long gets its kept characters and
    a digest of the whole id. An id that keeps nothing has no log, as in dos-kernel."""
    safe = "".join(c for c in session_id if c.isalnum() or c in "-_")
    if not safe:
        return None
    if safe == session_id and len(safe.encode("utf-8")) <= SESSION_NAME_LIMIT:
        return safe
    tag = digest(session_id.encode("utf-8", "surrogatepass"))
    return f"{safe[:64]}-{tag}"
