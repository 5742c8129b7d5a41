"""OpenTelemetry export of the daemon's findings (``pip install 'streamd[otel]'``), off
unless an OTLP endpoint is configured the standard way (``OTEL_EXPORTER_OTLP_ENDPOINT``
and its kin, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_SERVICE_NAME``). Never at the hook's expense: the answer path only puts an item
in a bounded queue (what does not fit is dropped and counted); a thread of its own
exports in batches with a short timeout, and ``close`` waits for it at most a second."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamd.shared import Verdict

log = logging.getLogger("streamd.daemon")

QUEUE_LIMIT = 4096
BATCH = 256
EXPORT_TIMEOUT = 2.0
"""Seconds one export may take; the SDK's default is 10."""
CLOSE_WAIT = 1.0
CONTENT_ENV = "STREAMD_OTEL_LOG_CONTENT"
PATHS_ENV = "STREAMD_OTEL_WORKSPACE_PATH"
CONTENT_LIMIT = 1000
_ENDPOINTS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


class TelemetryUnavailable(Exception):
    """Raised when an endpoint is configured but the OpenTelemetry SDK is not installed."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One step the daemon decided, as the exporter needs it."""

    session: str
    workspace: str
    host: str
    tool: str
    tool_use_id: str | None
    verdict: Verdict
    latency: float
    content: str | None = None
    stopped: bool = False
    new_loop: bool = False
    """The first finding of a loop (the session's step before found nothing)."""
    timestamp_ns: int | None = None
    """When it was found; None: now (a backtest gives the transcript's own time)."""


def configured(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in _ENDPOINTS)


def workspace_id(path: str, environ: Mapping[str, str] | None = None) -> str:
    """The workspace as the export names it: a digest, unless the user opted in to paths."""
    env = os.environ if environ is None else environ
    if env.get(PATHS_ENV) == "1":
        return path
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


class Telemetry:
    """The exporter: ``record`` from the answer path, ``close`` at shutdown."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        try:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.resources import Resource
        except ImportError:
            raise TelemetryUnavailable(
                "an OTLP endpoint is configured, but the OpenTelemetry SDK is not installed: "
                "pip install 'streamd[otel]' (in the daemon's environment); serving without "
                "export"
            ) from None
        self.content = env.get(CONTENT_ENV) == "1"
        self.environ = env
        self.dropped = 0
        self.exported = 0
        self._queue: queue.Queue[Finding | None] = queue.Queue(QUEUE_LIMIT)
        attributes = {"service.name": env.get("OTEL_SERVICE_NAME") or "streamd"}
        resource = Resource.create(attributes)
        self._exporter = OTLPLogExporter(timeout=EXPORT_TIMEOUT)
        collected: list[Any] = []

        class Collect(LogRecordProcessor):
            """Hands each record back to the worker, which exports them in batches."""

            def on_emit(self, log_record: Any) -> None:
                collected.append(log_record)

            def shutdown(self) -> None:
                pass

            def force_flush(self, timeout_millis: int = 0) -> bool:
                return True

        self._collected = collected
        self._logs = LoggerProvider(resource=resource)
        self._logs.add_log_record_processor(Collect())
        self._logger = self._logs.get_logger("streamd")
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(timeout=EXPORT_TIMEOUT),
            # OTEL_METRIC_EXPORT_INTERVAL, the standard variable, else the SDK's 60 s
            export_timeout_millis=int(EXPORT_TIMEOUT * 1000),
        )
        self._metrics = MeterProvider(resource=resource, metric_readers=[reader])
        meter = self._metrics.get_meter("streamd")
        self._calls = meter.create_counter("streamd.tool_calls", "{call}", "tool calls seen")
        self._loops = meter.create_counter("streamd.loops", "{loop}", "loops found")
        self._in_loops = meter.create_counter(
            "streamd.calls_in_loops", "{call}", "calls inside loops"
        )
        self._latency = meter.create_histogram(
            "streamd.hook.duration", "ms", "hook answer latency in the daemon"
        )
        meter.create_observable_counter(
            "streamd.export.dropped",
            [self._observe_dropped],
            "{record}",
            "findings dropped because the export queue was full or an export failed",
        )
        self._thread = threading.Thread(target=self._run, name="streamd-otel", daemon=True)
        self._thread.start()

    def _observe_dropped(self, options: Any) -> Any:
        from opentelemetry.metrics import Observation

        return [Observation(self.dropped)]

    def record(self, finding: Finding) -> None:
        """From the answer path: counted at once, exported later; never blocks."""
        attributes = {"streamd.host": finding.host, "gen_ai.tool.name": finding.tool}
        self._calls.add(1, attributes)
        self._latency.record(finding.latency * 1000, {"streamd.host": finding.host})
        verdict = finding.verdict
        if not verdict.fired and not finding.stopped:
            return
        if verdict.fired:
            loop = {
                **attributes,
                "streamd.rule": verdict.rule,
                "streamd.audience": verdict.audience,
            }
            self._in_loops.add(verdict.repeat_run if finding.new_loop else 1, loop)
            if finding.new_loop:
                self._loops.add(1, loop)
        try:
            self._queue.put_nowait(finding)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            done = any(f is None for f in batch)
            findings = [f for f in batch if f is not None]
            if findings:
                self._export(findings)
            if done:
                return

    def _export(self, findings: list[Finding]) -> None:
        self._collected.clear()
        for finding in findings:
            self._emit(finding)
        records = list(self._collected)
        self._collected.clear()
        try:
            from opentelemetry.sdk._logs.export import LogRecordExportResult

            result = self._exporter.export(records)
            ok = result == LogRecordExportResult.SUCCESS
        except Exception as exc:  # the exporter's own failure: counted, never raised
            log.warning("exporting %d findings failed: %s", len(records), exc)
            ok = False
        if ok:
            self.exported += len(records)
        else:
            self.dropped += len(records)

    def _emit(self, finding: Finding) -> None:
        verdict = finding.verdict
        attributes: dict[str, Any] = {
            "gen_ai.conversation.id": finding.session,
            "gen_ai.tool.name": finding.tool,
            "streamd.rule": verdict.rule,
            "streamd.state": verdict.state.value,
            "streamd.count": verdict.repeat_run,
            "streamd.period": verdict.period,
            "streamd.audience": verdict.audience,
            "streamd.host": finding.host,
            "streamd.workspace": workspace_id(finding.workspace, self.environ),
        }
        if finding.tool_use_id:
            attributes["gen_ai.tool.call.id"] = finding.tool_use_id
        if self.content and finding.content is not None:
            attributes["streamd.content"] = finding.content[:CONTENT_LIMIT]
        name = "streamd.breaker_stopped" if finding.stopped else "streamd.loop_detected"
        self._logger.emit(
            timestamp=finding.timestamp_ns or time.time_ns(),
            body=f"{verdict.state.value}: {verdict.reason}",
            attributes=attributes,
            event_name=name,
        )

    def send_now(self, findings: list[Finding]) -> None:
        """Export in the caller's thread (a backtest: nothing waits on it)."""
        for start in range(0, len(findings), BATCH):
            self._export(findings[start : start + BATCH])

    def close(self) -> None:
        """Flush what is queued, waiting at most ``CLOSE_WAIT`` seconds in all: a dead
        collector delays no shutdown."""
        deadline = time.monotonic() + CLOSE_WAIT
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        closer = threading.Thread(target=self._shutdown, daemon=True)
        closer.start()
        closer.join(max(0.05, deadline - time.monotonic()))

    def _shutdown(self) -> None:
        try:
            self._metrics.shutdown(timeout_millis=int(CLOSE_WAIT * 1000))
            self._exporter.shutdown()  # type: ignore[no-untyped-call]
        except Exception as exc:
            log.debug("closing the exporters: %s", exc)


def start(environ: Mapping[str, str] | None = None) -> Telemetry | None:
    """The exporter when an endpoint is configured; None otherwise, or when the SDK is
    missing (said once, in the daemon's log)."""
    if not configured(environ):
        return None
    try:
        return Telemetry(environ)
    except TelemetryUnavailable as exc:
        log.error("%s", exc)
        return None
