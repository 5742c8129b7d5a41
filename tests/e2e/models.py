"""Scripted model APIs on 127.0.0.1 for the real agent clients: each answers a request
with the next step of a script (a tool call, or a final answer), chosen by how many tool
results the conversation already holds, and keeps every request body it was sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Call:
    tool: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """Calls the model makes in one message (the client may run them in parallel)."""

    calls: tuple[Call, ...]


@dataclass
class Script:
    calls: Sequence[Call | Batch]
    final: str = "Done."
    requests: list[dict[str, Any]] = field(default_factory=list)

    def step(self, results_so_far: int) -> Call | Batch | None:
        """The message to answer with once the conversation holds that many results."""
        seen = 0
        for item in self.calls:
            if seen == results_so_far:
                return item
            seen += len(item.calls) if isinstance(item, Batch) else 1
        return None

    @property
    def count(self) -> int:
        """Tool calls in the script."""
        return sum(len(c.calls) if isinstance(c, Batch) else 1 for c in self.calls)


def _sse(events: list[tuple[str | None, dict[str, Any]]]) -> Iterator[bytes]:
    for name, data in events:
        if name:
            yield f"event: {name}\n".encode()
        yield f"data: {json.dumps(data)}\n\n".encode()


def usage_at(results: int) -> tuple[int, int, int]:
    """The tokens a turn reports once ``results`` tool results are in the conversation:
    fresh input, input read from the cache (the conversation so far), output. They grow
    as a real conversation's do, so a report's sums are checkable."""
    return 100, 1000 * results, 20 + results


def anthropic_reply(script: Script, body: dict[str, Any], path: str) -> Iterator[bytes]:
    """A streamed Messages API answer: the next tool call, or the final text."""
    results = sum(
        1
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    )
    call = script.step(results) if body.get("tools") else None
    fresh, cached, output = usage_at(results)
    usage = {"input_tokens": fresh, "cache_read_input_tokens": cached,
             "cache_creation_input_tokens": 50, "output_tokens": 1}  # fmt: skip
    start = {"type": "message_start", "message": {
        "id": f"msg_{results}", "type": "message", "role": "assistant",
        "model": body.get("model", "claude"), "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": usage}}  # fmt: skip
    blocks: list[tuple[dict[str, Any], dict[str, Any]]]
    if call is None:
        blocks = [({"type": "text", "text": ""}, {"type": "text_delta", "text": script.final})]
        stop = "end_turn"
    else:
        calls = call.calls if isinstance(call, Batch) else (call,)
        blocks = [
            ({"type": "tool_use", "id": f"toolu_e2e_{results + i:03d}", "name": c.tool,
              "input": {}},
             {"type": "input_json_delta", "partial_json": json.dumps(c.args)})
            for i, c in enumerate(calls)
        ]  # fmt: skip
        stop = "tool_use"
    events: list[tuple[str | None, dict[str, Any]]] = [("message_start", start)]
    for index, (block, delta) in enumerate(blocks):
        events += [
            ("content_block_start", {"type": "content_block_start", "index": index,
                                     "content_block": block}),
            ("content_block_delta", {"type": "content_block_delta", "index": index,
                                     "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]  # fmt: skip
    yield from _sse([
        *events,
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": output}}),
        ("message_stop", {"type": "message_stop"}),
    ])  # fmt: skip


class ModelServer:
    """A threaded HTTP server on 127.0.0.1 answering with ``reply(script, body)``."""

    def __init__(self, script: Script, reply: Any) -> None:
        self.script = script
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(size)
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                server.script.requests.append(
                    {"path": self.path, "body": body, "at": time.monotonic()}
                )
                streamed = "alt=sse" in self.path or "generateContent" not in self.path
                self.send_response(200)
                self.send_header(
                    "content-type", "text/event-stream" if streamed else "application/json"
                )
                self.send_header("cache-control", "no-cache")
                self.end_headers()
                for chunk in reply(server.script, body, self.path):
                    self.wfile.write(chunk)
                self.wfile.flush()

            def do_GET(self) -> None:
                server.script.requests.append({"path": self.path, "body": None})
                self.send_response(404)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _responses_tool(body: dict[str, Any], wanted: str) -> str:
    """The name of the request's tool for ``wanted`` ("shell": Codex's shell tool)."""
    names = [t.get("name") for t in body.get("tools", []) if isinstance(t, dict)]
    if wanted in names:
        return wanted
    for candidate in ("shell", "shell_command", "exec_command", "local_shell"):
        if candidate in names:
            return candidate
    return wanted


def responses_reply(script: Script, body: dict[str, Any], path: str) -> Iterator[bytes]:
    """A streamed Responses API answer (Codex): the next function call, or the final text."""
    items = body.get("input", [])
    results = sum(
        1 for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"
    )
    call = script.step(results) if body.get("tools") else None
    assert not isinstance(call, Batch), "batches are scripted for Claude Code only"
    rid = f"resp_{results}"
    if call is None:
        text = [{"type": "output_text", "text": script.final}]
        item: dict[str, Any] = {
            "type": "message", "role": "assistant", "id": f"msg_{results}", "content": text,
        }  # fmt: skip
    else:
        item = {
            "type": "function_call", "id": f"fc_{results}", "call_id": f"call_e2e_{results:03d}",
            "name": _responses_tool(body, call.tool), "arguments": json.dumps(call.args),
        }  # fmt: skip
    fresh, cached, output = usage_at(results)
    usage = {"input_tokens": fresh + cached, "input_tokens_details": {"cached_tokens": cached},
             "output_tokens": output, "output_tokens_details": None,
             "total_tokens": fresh + cached + output}  # fmt: skip
    yield from _sse([
        ("response.created", {"type": "response.created", "response": {"id": rid}}),
        ("response.output_item.done", {"type": "response.output_item.done",
                                       "output_index": 0, "item": item}),
        ("response.completed", {"type": "response.completed",
                                "response": {"id": rid, "usage": usage}}),
    ])  # fmt: skip


def gemini_reply(script: Script, body: dict[str, Any], path: str) -> Iterator[bytes]:
    """A generateContent answer (Gemini CLI): the next function call, or the final text;
    streamed where the path asks for it (``alt=sse``), else one JSON object (the CLI's
    model router asks that way)."""
    results = sum(
        1
        for content in body.get("contents", [])
        for part in content.get("parts", [])
        if isinstance(part, dict) and "functionResponse" in part
    )
    has_tools = any(
        t.get("functionDeclarations") for t in body.get("tools", []) if isinstance(t, dict)
    )
    call = script.step(results) if has_tools else None
    assert not isinstance(call, Batch), "batches are scripted for Claude Code only"
    fresh, cached, output = usage_at(results)
    if call is None:
        part: dict[str, Any] = {"text": script.final}
    else:
        part = {"functionCall": {"name": call.tool, "args": call.args}}
    if "alt=sse" not in path:
        # The CLI's model router asks for JSON (a complexity score) and retries with
        # backoff, for a minute, on anything else.
        route = {"complexity_reasoning": "a scripted session", "complexity_score": 1}
        part = {"text": json.dumps(route)}
    chunk: dict[str, Any] = {
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP",
                        "index": 0}],
        "usageMetadata": {"promptTokenCount": fresh + cached, "cachedContentTokenCount": cached,
                          "candidatesTokenCount": output, "thoughtsTokenCount": 7,
                          "totalTokenCount": fresh + cached + output + 7},
    }  # fmt: skip
    if "alt=sse" not in path:
        yield json.dumps(chunk).encode()
        return
    yield from _sse([(None, chunk)])
