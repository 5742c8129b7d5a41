"""The hosts streamd speaks: one module each (``claude``, ``codex``, ...), each defining
``HOST``. This registry lists them by name and imports a host's module only when it is
asked for, so the hook's fallback loads just the host it serves. The ``--host``
choices, the installers and the README's host table come from here."""

from __future__ import annotations

import sys

from .._errors import StreamdError
from ._base import HOOK_TIMEOUT_SECONDS, Host, Installer

NAMES = ("claude", "codex", "gemini", "cursor", "copilot", "qwen", "droid")
DEFAULT_HOST = "claude"


class UnknownHost(StreamdError, ValueError):
    """Raised when a host name is not one streamd speaks."""


def get(name: str) -> Host:
    """The host called ``name``; raises ``UnknownHost``."""
    if name not in NAMES:
        raise UnknownHost(f"unknown host {name!r}; streamd speaks {', '.join(NAMES)}")
    module = f"{__name__}.{name}"
    if module not in sys.modules:
        __import__(module)
    host: Host = sys.modules[module].HOST
    return host


def every() -> list[Host]:
    return [get(name) for name in NAMES]


def table() -> str:
    """The README's host table, made from the host modules."""
    rows = [
        "| host | `--host` | events installed | failures | answer | breaker stops it from "
        "| config (user; project) | checked against |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in every():
        inst = h.installer
        answer = (
            "`hookSpecificOutput.additionalContext`"
            if h.answer_key == "hookSpecificOutput"
            else f"`{h.answer_key}`"
        )
        if h.answered is not None:
            answer += " (on " + ", ".join(f"`{e}`" for e in sorted(h.answered)) + " only)"
        user = f"`~/{inst.user_file}`" if inst.user_file else "none"
        stops = ", ".join(f"`{e}`" for e in sorted(h.stops)) if h.stops else h.no_stop
        rows.append(
            f"| {h.title} | `{h.name}` | {', '.join(f'`{e}`' for e in h.events)} | "
            f"{h.failures} | {answer} | {stops} | {user}; `{inst.project_file}` | {h.checked} |"
        )
    return "\n".join(rows)


__all__ = [
    "DEFAULT_HOST",
    "HOOK_TIMEOUT_SECONDS",
    "NAMES",
    "Host",
    "Installer",
    "UnknownHost",
    "every",
    "get",
    "table",
]
