"""The OpenTelemetry export, to a real OTLP receiver (oteltap) on loopback: what a
collector gets, and that a dead or silent one costs the hook nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from ..harness import DaemonProcess, read_event, records, run_shim, state_of
from ..transcripts import claude_session

pytestmark = [pytest.mark.process, pytest.mark.anyio]

oteltap = pytest.importorskip("oteltap")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def otel_env(endpoint: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_METRIC_EXPORT_INTERVAL="300", **more)
    return env


def attributes(record: Any) -> dict[str, Any]:
    out = {}
    for kv in record.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


@pytest.fixture
def receiver_port() -> int:
    return free_port()


class TestExport:
    async def test_a_loop_reaches_the_collector_joined_by_session_and_call(
        self, sockdir: Path, tmp_path: Path, receiver_port: int
    ) -> None:
        settings = oteltap.OtelTapHttpProtobufReceiverSettings(
            http_port=receiver_port, listen_on_all_interfaces=False
        )
        async with oteltap.OtelTapHttpProtobufReceiver(settings) as receiver:
            env = otel_env(f"http://127.0.0.1:{receiver_port}")
            daemon = DaemonProcess(sockdir / "d.sock", env=env).start()
            awaited = asyncio.ensure_future(  # before the loop: matches what arrives later
                receiver.await_log(lambda r: r.event_name == "streamd.loop_detected", timeout=30)
            )
            try:
                outs = [run_shim(read_event(tmp_path, n), daemon.socket_path) for n in range(3)]
                assert [state_of(o.stdout) for o in outs] == [None, None, "REPEATING"]
                found = await awaited
                calls = await receiver.await_metric(
                    lambda m: m.name == "streamd.tool_calls", timeout=30
                )
            finally:
                daemon.terminate()
        got = attributes(found)
        assert got["gen_ai.conversation.id"] == "sess-1"
        assert (
            got["gen_ai.tool.name"] == "Read" and got["gen_ai.tool.call.id"] == "toolu_sess-1_0002"
        )
        assert (got["streamd.rule"], got["streamd.state"], got["streamd.count"]) == (
            "exact", "REPEATING", 3,
        )  # fmt: skip
        assert got["streamd.audience"] == "model" and got["streamd.host"] == "claude"
        assert str(tmp_path) not in got["streamd.workspace"]  # a digest, not the path
        assert "streamd.content" not in got  # no tool output unless opted in
        assert calls.name == "streamd.tool_calls"

    def test_a_dead_collector_costs_the_hook_nothing(self, sockdir: Path, tmp_path: Path) -> None:
        closed = free_port()  # nothing listens there
        silent = socket.socket()  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        try:
            for endpoint in (
                f"http://127.0.0.1:{closed}",
                f"http://127.0.0.1:{silent.getsockname()[1]}",
            ):
                workspace = tmp_path / endpoint.rsplit(":", 1)[1]
                daemon = DaemonProcess(sockdir / "d.sock", env=otel_env(endpoint)).start()
                outs = [run_shim(read_event(workspace, n), daemon.socket_path) for n in range(5)]
                assert [state_of(o.stdout) for o in outs][2:] == [
                    "REPEATING",
                    "REPEATING",
                    "STALLED",
                ]
                assert daemon.status().steps_answered == 5  # the daemon's own answers
                assert len(records(workspace)) == 5
                if endpoint.endswith(f":{closed}"):  # refused at once: every finding counted
                    for _ in range(300):
                        if daemon.status().export_dropped == 3:
                            break
                        time.sleep(0.1)
                    assert daemon.status().export_dropped == 3
                started = time.monotonic()
                assert daemon.terminate() == 0
                stopping = time.monotonic() - started
                print(f"stopped in {stopping:.2f} s with {endpoint}")
                assert stopping < 10  # promised 2 s; a busy CI host gets 10
        finally:
            silent.close()

    def test_without_the_sdk_it_says_what_to_install_and_serves(
        self, sockdir: Path, tmp_path: Path
    ) -> None:
        hidden = tmp_path / "hide"
        (hidden / "opentelemetry").mkdir(parents=True)
        (hidden / "opentelemetry" / "__init__.py").write_text("raise ImportError('hidden')\n")
        env = otel_env("http://127.0.0.1:9", PYTHONPATH=str(hidden))
        daemon = DaemonProcess(sockdir / "d.sock", env=env).start()
        try:
            outs = [run_shim(read_event(tmp_path, n), daemon.socket_path) for n in range(3)]
            assert state_of(outs[2].stdout) == "REPEATING"
        finally:
            daemon.terminate()
        assert "pip install 'streamd[otel]'" in daemon.log()


class TestBacktest:
    async def test_report_sends_its_findings_with_the_transcripts_times(
        self, tmp_path: Path, receiver_port: int
    ) -> None:
        transcript = tmp_path / "s-1.jsonl"
        claude_session(transcript, calls=3)
        settings = oteltap.OtelTapHttpProtobufReceiverSettings(
            http_port=receiver_port, listen_on_all_interfaces=False
        )
        async with oteltap.OtelTapHttpProtobufReceiver(settings) as receiver:
            env = otel_env(f"http://127.0.0.1:{receiver_port}")
            # Awaited from before the report runs: the receiver matches what arrives later.
            awaited = asyncio.ensure_future(
                receiver.await_log(lambda r: r.event_name == "streamd.loop_detected", timeout=30)
            )
            done = await anyio.run_process(
                [sys.executable, "-m", "streamd.client", "report", str(transcript), "--otlp"],
                env=env,
                check=False,
            )
            found = await awaited
        assert done.returncode == 0, done.stderr
        assert b"sent 1 findings over OTLP" in done.stdout
        when = dt.datetime(2026, 11, 20, 10, 0, 3, tzinfo=dt.UTC)  # the third call's result
        assert found.time_unix_nano == int(when.timestamp()) * 1_000_000_000
        assert attributes(found)["gen_ai.tool.call.id"] == "toolu_2"

    def test_without_an_endpoint_it_says_what_to_set(self, tmp_path: Path) -> None:
        transcript = tmp_path / "s-1.jsonl"
        claude_session(transcript, calls=3)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "report", str(transcript), "--otlp"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1 and "OTEL_EXPORTER_OTLP_ENDPOINT" in done.stderr
