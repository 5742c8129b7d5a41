"""Hypothesis strategies shared by the tests: steps, hook events and session logs."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from streamd.shared import Step

TOOLS = ["Read", "read", "Bash", "Grep", "WebFetch"]
DIGESTS = ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc"]

steps = st.builds(
    Step,
    st.sampled_from(TOOLS),
    st.sampled_from(DIGESTS[:2]),
    st.one_of(st.none(), st.sampled_from(DIGESTS)),
)


@st.composite
def rich_steps(draw: st.DrawFn) -> Step:
    """A step with streamd's digests too: a shape apart from the exact result, and a
    failure fingerprint shared across arguments."""
    result = draw(st.one_of(st.none(), st.sampled_from(DIGESTS)))
    shape = None if result is None else draw(st.sampled_from([None, "s1", "s2"]))
    failure = None if result is None else draw(st.sampled_from([None, None, "f1", "f2"]))
    return Step(
        draw(st.sampled_from([*TOOLS, "Edit", "Write"])),
        draw(st.sampled_from(DIGESTS)),
        result,
        shape,
        failure,
        artifact=draw(st.sampled_from([None] * 7 + ["cancelled"])),
        call_digest=draw(st.sampled_from([None, None, "cccccccccccccccc"])),
        writes=draw(st.sampled_from([False, False, False, True])),
    )


# Runs, cycles and recurring failures are where verdicts change: draw from a small pool.
rich_streams = st.lists(rich_steps(), min_size=1, max_size=6).flatmap(
    lambda pool: st.lists(st.sampled_from(pool), max_size=60)
)
# Long identical runs are where the verdict changes, so lean on repetition.
step_streams = st.lists(steps, max_size=40).flatmap(
    lambda base: st.lists(st.sampled_from(base), max_size=60) if base else st.just([])
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["é", "\ud800", "日本", "\u2028", "a\x85b", "-0.0"]),
    st.just(-0.0),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def hook_events(draw: st.DrawFn, tools: list[str] | None = None) -> dict[str, Any]:
    """A PostToolUse-shaped event; repeats are likely so verdicts fire."""
    event: dict[str, Any] = {"session_id": "s-1", "hook_event_name": "PostToolUse"}
    if draw(st.integers(0, 20)) > 0:
        event["tool_name"] = draw(st.sampled_from(tools or ["Read", "Bash", "ünï", "a\u2028b"]))
    if draw(st.booleans()):
        event["tool_input"] = draw(st.sampled_from([{"p": 1}, None, {"p": [1, 2]}, "x"]))
    key = draw(st.sampled_from(["tool_response", "tool_output", "both", "none"]))
    result = draw(st.one_of(st.sampled_from(["same", {"k": "v"}, None]), json_values))
    if key in ("tool_response", "both"):
        event["tool_response"] = result
    if key in ("tool_output", "both"):
        event["tool_output"] = draw(st.sampled_from(["out", None]))
    return event


def event_sessions(
    tools: list[str] | None = None, max_size: int = 25
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A session drawn from a small pool of events, so identical calls recur."""
    return st.lists(hook_events(tools), min_size=1, max_size=4).flatmap(
        lambda pool: st.lists(st.sampled_from(pool), max_size=max_size)
    )


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.integers(1, 3000).map(_deep),
)

EVENT_FIELDS = [
    "session_id",
    "cwd",
    "hook_event_name",
    "tool_name",
    "tool_input",
    "tool_response",
    "tool_output",
    "tool_use_id",
    "error",
    "conversation_id",
    "workspace_roots",
]


@st.composite
def hostile_stdin(draw: st.DrawFn, workspace: str) -> bytes:
    """What a broken or hostile host might pipe into the hook."""
    base: dict[str, Any] = {
        "session_id": "fuzz",
        "cwd": workspace,
        "hook_event_name": "PostToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": "x"},
        "tool_response": "same",
        "tool_use_id": "toolu_1",
    }
    kind = draw(st.sampled_from(["fields", "mutated", "truncated", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    for name in draw(st.lists(st.sampled_from(EVENT_FIELDS), max_size=4)):
        base[name] = draw(wrong_types)
    try:
        raw = json.dumps(base).encode()
    except (ValueError, RecursionError):
        raw = b'{"session_id": "fuzz"}'
    if kind == "truncated":
        return raw[: draw(st.integers(0, len(raw)))]
    if kind == "mutated" and raw:
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 5))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    return raw
