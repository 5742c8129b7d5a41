"""``streamd demo``: a daemon on a temporary socket, a looping session played through
the real hook shim, and the answers the agent would have seen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any, TextIO

from ._api import DaemonClient
from ._install import shim_path
from ._spawn import start_daemon, stop_daemon
from ._status import render_status

SESSION = [
    ("Read", {"file_path": "src/app.py"}, "def total(xs):\n    return sum(xs) + 1\n", None),
    *[("Bash", {"command": "pytest -q"}, None, "FAILED test_app.py::test_total - assert 7 == 6")]
    * 5,
    ("Edit", {"file_path": "src/app.py", "old": "+ 1", "new": ""}, "ok", None),
    ("Bash", {"command": "pytest -q"}, "1 passed in 0.01s", None),
]


def event(
    workspace: str, n: int, tool: str, args: dict[str, Any], result: str | None, error: str | None
) -> bytes:
    body: dict[str, Any] = {
        "session_id": "demo-session",
        "cwd": workspace,
        "hook_event_name": "PostToolUseFailure" if error else "PostToolUse",
        "tool_name": tool,
        "tool_input": args,
        "tool_use_id": f"toolu_demo_{n}",
    }
    if error:
        body["error"] = error
    else:
        body["tool_response"] = result
    return json.dumps(body).encode()


def run_demo(out: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="streamd-demo-") as tmp:
        socket_path = os.path.join(tmp, "streamd.sock")
        workspace = os.path.join(tmp, "project")
        os.mkdir(workspace)
        daemon = start_daemon(socket_path)
        try:
            shim = [sys.executable, "-S", "-I", shim_path(), "--socket", socket_path]
            out.write(f"A daemon listens on {socket_path}; each call runs the real hook:\n")
            out.write(f"  {' '.join(shim)}\n\n")
            for n, (tool, args, result, error) in enumerate(SESSION, 1):
                started = time.perf_counter()
                answer = subprocess.run(
                    shim, input=event(workspace, n, tool, args, result, error), capture_output=True
                ).stdout
                elapsed = (time.perf_counter() - started) * 1e3
                outcome = "failed" if error else "ok"
                line = f"call {n}  {tool} {json.dumps(args)} -> {outcome}  ({elapsed:.0f} ms)"
                out.write(line + "\n")
                if answer:
                    context = json.loads(answer)["hookSpecificOutput"]["additionalContext"]
                    for para in context.split("\n"):
                        wrapped = textwrap.fill(para, 88) if para else ""
                        out.write(textwrap.indent(wrapped, "    | ", lambda _: True) + "\n")
            out.write("\n")
            reply = DaemonClient(socket_path).status()
            render_status(reply, as_json=False, out=out)
            log = os.path.join(workspace, ".dos", "streams", "demo-session.jsonl")
            with open(log, encoding="utf-8") as f:
                records = sum(1 for _ in f)
            out.write(f"\nThe session log holds {records} records, one per call: {log}\n")
        finally:
            stop_daemon(daemon, socket_path)
    return 0
