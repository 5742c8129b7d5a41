"""What every transcript reader shares: the ``Transcript`` it fills, its tolerant line
and file readers, and ``UnknownFormat``. The readers themselves are the hosts'
(``hosts/<host>.py``) and the benchmark agents' (``_agents``)."""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ._errors import StreamdError
from ._files import open_regular

LINE_LIMIT = 64 * 1024 * 1024
"""Bytes of one line read at most; a longer line is skipped and counted."""
FILE_LIMIT = 1024 * 1024 * 1024
"""Bytes of a transcript read whole (the JSON formats) at most."""
PROMPT_LIMIT = 500
"""Characters of the first prompt kept to name a session."""


class UnknownFormat(StreamdError, ValueError):
    """Raised when a file is in none of the transcript formats streamd reads."""


def open_transcript(path: str) -> BinaryIO:
    """``path`` opened for reading, without blocking, if it is a regular file; raises
    ``UnreadableFile`` otherwise."""
    return os.fdopen(open_regular(path), "rb")


@dataclass
class Transcript:
    """One session read from a file: its events, and what was skipped and why."""

    path: str
    format: str
    session: str
    events: list[dict[str, Any]] = field(default_factory=list)
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    started: str | None = None
    """The first timestamp the file gives, as written."""
    ended: str | None = None
    """The last timestamp it gives."""
    project: str | None = None
    """The folder the agent worked in, where the file says."""
    prompt: str | None = None
    """The user's first prompt, where the file holds it."""

    def saw(self, stamp: object) -> None:
        """Note a timestamp the file gives (ISO 8601 text)."""
        if isinstance(stamp, str) and stamp:
            self.started = self.started or stamp
            self.ended = stamp

    def asked(self, text: object) -> None:
        """Note a user prompt; the first one names the session. Text that opens with a
        tag is the host's own context (``<environment_context>``...), not a prompt."""
        if self.prompt is None and isinstance(text, str) and text.strip():
            if text.lstrip().startswith("<"):
                return
            self.prompt = " ".join(text.split())[:PROMPT_LIMIT]


def session_of(path: str) -> str:
    name = os.path.basename(path)
    for suffix in (".traj.json", ".traj", ".jsonl", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _decoder() -> Callable[[bytes], Any]:
    """``json.loads``'s value, decoded by msgspec where it is installed and can (several
    times faster); where msgspec refuses (``1e400``, a lone surrogate escape) ``json``
    decides."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - the operator CLI installs it
        return json.loads
    fast = msgspec.json.Decoder().decode
    error = msgspec.DecodeError

    def decode(raw: bytes) -> Any:
        try:
            return fast(raw)
        except error:
            return json.loads(raw)

    return decode


_decode: Callable[[bytes], Any] | None = None


def decode_json(raw: bytes) -> Any:
    global _decode
    if _decode is None:
        _decode = _decoder()
    return _decode(raw)


def lines(path: str, t: Transcript) -> Iterator[dict[str, Any]]:
    """Each JSON object line of ``path``; others (torn, not JSON, over ``LINE_LIMIT``,
    nested too deeply) are skipped and counted."""
    with open_transcript(path) as f:
        while raw := f.readline(LINE_LIMIT + 1):
            if len(raw) > LINE_LIMIT and not raw.endswith(b"\n"):
                while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                t.skipped[f"line over {LINE_LIMIT >> 20} MB"] += 1
                continue
            if not raw.strip():
                continue
            try:
                entry = decode_json(raw)
            except (ValueError, RecursionError):
                t.skipped["unreadable line"] += 1
                continue
            if isinstance(entry, dict):
                yield entry
            else:
                t.skipped["line that is not an object"] += 1


def load_json(path: str, t: Transcript) -> Any:
    """The whole file's JSON value; None (counted) when it is not JSON, or too large."""
    with open_transcript(path) as f:
        if os.fstat(f.fileno()).st_size > FILE_LIMIT:
            t.skipped[f"file over {FILE_LIMIT >> 20} MB"] += 1
            return None
        try:
            return decode_json(f.read(FILE_LIMIT + 1))
        except (ValueError, RecursionError):
            t.skipped["unreadable file"] += 1
            return None


def json_list(path: str, t: Transcript, key: str | None, missing: str) -> tuple[Any, list[Any]]:
    """A JSON file's value and the list under ``key`` in it (the value itself for
    None); an empty list, counted as ``missing``, when there is none."""
    data = load_json(path, t)
    found = data if key is None else data.get(key) if isinstance(data, dict) else None
    if isinstance(found, list):
        return data, found
    t.skipped[missing] += 1
    return data, []


def text_of(content: object) -> str:
    """A message content's text: its text blocks joined, or the string itself."""
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return content if isinstance(content, str) else json.dumps(content)
