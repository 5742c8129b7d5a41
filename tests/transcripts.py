"""Transcripts the tests write as the real clients do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASH_RESULT = {"stdout": "FAILED test_x\n", "stderr": "", "interrupted": False, "isImage": False}


def claude_session(path: Path, *, calls: int = 3, broken: bool = False) -> list[dict[str, Any]]:
    """A Claude Code session file with ``calls`` identical Bash calls, and the hook events
    Claude Code sends for them."""
    lines: list[dict[str, Any]] = [
        {
            "type": "user",
            "sessionId": "s-1",
            "cwd": "/w",
            "timestamp": "2026-11-20T10:00:00Z",
            "message": {"role": "user", "content": "run the tests"},
        },
    ]
    hooks = []
    for n in range(calls):
        use = {"type": "tool_use", "id": f"toolu_{n}", "name": "Bash",
               "input": {"command": "pytest -x"}}  # fmt: skip
        usage = {"input_tokens": 6, "cache_creation_input_tokens": 100,
                 "cache_read_input_tokens": 13_000, "output_tokens": 40}  # fmt: skip
        assistant = {"type": "assistant", "sessionId": "s-1", "cwd": "/w",
                     "message": {"id": f"msg_{n}", "role": "assistant", "content": [use],
                                 "usage": usage}}  # fmt: skip
        lines += [assistant, assistant]  # a streamed message repeats its blocks
        lines.append(
            {
                "type": "user",
                "sessionId": "s-1",
                "cwd": "/w",
                "message": {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": f"toolu_{n}",
                            "content": "FAILED test_x",
                        }
                    ],
                },
                "toolUseResult": BASH_RESULT,
                "timestamp": f"2026-11-20T10:00:{n + 1:02d}Z",
            }
        )
        hooks.append(
            {
                "session_id": "s-1",
                "cwd": "/w",
                "hook_event_name": "PostToolUse",
                "tool_name": "Bash",
                "tool_input": {"command": "pytest -x"},
                "tool_response": BASH_RESULT,
                "tool_use_id": f"toolu_{n}",
            }
        )
    text = "".join(json.dumps(line) + "\n" for line in lines)
    if broken:
        text += '{"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "x", '
        text += '"name": "Read", "input": {}}]}}\n{"type": "weird-new-kind"}\n'
        text += '{"type": "cost-state", "costs": {}}\n'  # holds no call: passed over silently
        text += '{"type": "future-kind", "message": {"content": [{"type": "tool_result", '
        text += '"tool_use_id": "x", "content": "?"}]}}\n{torn'
    path.write_text(text)
    return hooks
