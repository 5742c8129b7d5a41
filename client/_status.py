"""Rendering ``streamd status``."""

from __future__ import annotations

import time
from typing import TextIO

import msgspec

from . import protocol as proto


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def render_status(reply: proto.StatusReply, *, as_json: bool, out: TextIO) -> None:
    if as_json:
        fields = {name: getattr(reply, name) for name in reply.__struct_fields__}
        out.write(msgspec.json.encode(fields).decode() + "\n")
        return
    now = time.time()
    lat = reply.latency_ms
    out.write(f"streamd {reply.version}, pid {reply.pid}, up {_ago(now - reply.started)[:-4]}\n")
    out.write(f"socket    {reply.socket}\n")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(reply.requests.items())) or "none"
    broken = sorted(
        {*reply.policy_errors, *(s.policy_error for s in reply.sessions if s.policy_error)}
    )
    out.write(f"requests  {counts}; errors {reply.errors}; dos.toml errors {len(broken)}\n")
    if lat:
        out.write(
            f"latency   step p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f} ms, "
            f"p99 {lat['p99']:.2f} ms, max {lat['max']:.2f} ms\n"
        )
    _policy_errors(broken, out)
    if reply.export_on:
        out.write(f"export    OTLP on; {reply.export_dropped} findings dropped\n")
    out.write(f"sessions  {len(reply.sessions)} live\n")
    if not reply.sessions:
        return
    header = ("workspace", "session", "host", "steps", "state", "run", "last tool", "fired", "seen")
    rows = [
        (
            s.workspace,
            s.session[:18],
            s.host,
            str(s.steps),
            ("STOPPED " if s.stopped else "") + (f"{s.state} ({s.rule})" if s.rule else s.state),
            str(s.run),
            s.last_tool[:20],
            str(s.firings),
            _ago(now - s.last_seen),
        )
        for s in reply.sessions
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def _policy_errors(broken: list[str], out: TextIO) -> None:
    if broken:
        count = len(broken)
        out.write(f"policy    {count} dos.toml file{'s' if count != 1 else ''} not in force "
                  "(the defaults are, until fixed):\n")  # fmt: skip
        for error in broken:
            out.write(f"  {error}\n")
