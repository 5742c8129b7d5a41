"""Every transcript format streamd reads, by name: the hosts' (each in its host module)
and the benchmark agents' (``_agents``). ``detect`` tells a file's format from its name
and first bytes; ``read`` turns it into the hook events the live hook would have
received, in order, so a replay gives the verdicts the hook would have given."""

from __future__ import annotations

import os
from collections.abc import Callable

from . import _agents, hosts
from ._transcript import Transcript, UnknownFormat, open_transcript

_AGENTS: dict[str, Callable[[str], Transcript]] = {
    "swe-agent": _agents.swe_agent,
    "mini-swe-agent": _agents.mini_swe_agent,
    "openhands": _agents.openhands,
}
HOST_FORMATS = tuple(h.name for h in hosts.every() if h.read_transcript is not None)
SESSION_LOG = "session-log"
FORMATS = (*HOST_FORMATS, *_AGENTS, SESSION_LOG)
RECORDED_STEP = "streamd_recorded_step"
"""The key under which a session log's event carries the step it recorded: its digests
are all there is, so they are used as they are."""


def read_session_log(path: str) -> Transcript:
    """A streamd or dos-kernel session log: its records, as steps, with their times."""
    from ._log import read_records

    name = os.path.basename(path)
    t = Transcript(path, SESSION_LOG, name[: -len(".jsonl")] if name.endswith(".jsonl") else name)
    streams = os.path.dirname(os.path.abspath(path))
    if streams.endswith(os.path.join(".dos", "streams")):
        t.project = os.path.dirname(os.path.dirname(streams))
    for record in read_records(path):
        t.saw(record.ts)
        t.events.append(
            {
                RECORDED_STEP: record.step,
                "tool_name": record.step.tool_name,
                "tool_use_id": record.tool_use_id,
                "timestamp": record.ts,
            }
        )
    return t


def reader(fmt: str) -> Callable[[str], Transcript]:
    if fmt == SESSION_LOG:
        return read_session_log
    if fmt in _AGENTS:
        return _AGENTS[fmt]
    read = hosts.get(fmt).read_transcript if fmt in hosts.NAMES else None
    if read is None:
        raise UnknownFormat(f"no transcript reader for {fmt!r}")
    return read


def detect(path: str) -> str:
    """The format of ``path``, from its name and first bytes; ``session-log`` for a
    streamd or dos-kernel session log."""
    name = os.path.basename(path)
    if name.endswith(".traj.json"):
        return "mini-swe-agent"
    if name.endswith(".traj"):
        return "swe-agent"
    with open_transcript(path) as f:
        head = f.read(4096).lstrip()
    if name.endswith(".jsonl"):
        first = head.split(b"\n", 1)[0]
        if (b'"schema"' in first and b"tool-stream" in first) or b'"args_digest"' in first:
            return SESSION_LOG
        if b'"payload"' in first and (b'"session_meta"' in first or b'"response_item"' in first):
            return "codex"
        if name.startswith("rollout-") or b'"instructions"' in first or b'"record_type"' in first:
            return "codex"  # a rollout of 2025, before the envelope
        if b'"projectHash"' in first:
            return "gemini"  # Gemini CLI's records (0.61 on)
        return "claude"
    if head.startswith(b"[") or b'"history"' in head:
        return "openhands"
    if b'"projectHash"' in head or (b'"sessionId"' in head and b'"messages"' in head):
        return "gemini"
    if b'"trajectory"' in head:
        return "swe-agent"
    if b'"messages"' in head:
        return "mini-swe-agent"
    raise UnknownFormat(f"{path}: not a transcript streamd reads ({', '.join(FORMATS)})")


def read_transcript(path: str, fmt: str | None = None) -> Transcript:
    fmt = fmt or detect(path)
    if fmt not in FORMATS:
        raise UnknownFormat(f"{path}: no reader for {fmt!r}")
    return reader(fmt)(path)


def default_folders(home: str) -> list[str]:
    """The hosts' transcript folders under ``home`` that exist."""
    found = []
    for name in HOST_FORMATS:
        for folder in hosts.get(name).transcript_folders:
            path = os.path.join(home, folder)
            if os.path.isdir(path):
                found.append(path)
    return found
