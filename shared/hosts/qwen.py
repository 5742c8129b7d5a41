"""Qwen Code: Claude Code's dialect and answer, its timeouts in milliseconds."""

from __future__ import annotations

from . import claude
from ._base import CLAUDE_EVENTS, HOOK_SPECIFIC, MILLISECONDS, Host, Installer, claude_probe

HOST = Host(
    "qwen",
    "Qwen Code",
    CLAUDE_EVENTS,
    HOOK_SPECIFIC,
    "PostToolUse",
    Installer(".qwen/settings.json", ".qwen/settings.json", matcher="*", entry=MILLISECONDS),
    "`PostToolUseFailure` (`error`)",
    "Qwen Code hooks guide and reference (qwenlm.github.io)",
    visible=claude.visible,
    probe=claude_probe,
)
