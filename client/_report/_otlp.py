"""``report --otlp``: a backtest's findings sent to the team's collector as the daemon
sends live ones (``streamd.loop_detected`` records), with the transcripts' own times, so
a dashboard shows the history from day one."""

from __future__ import annotations

import datetime as dt

from streamd.shared import StreamdError

from ._model import Loop


class ExportUnavailable(StreamdError):
    """Raised when ``--otlp`` is asked for without an endpoint or without the SDK."""


class Backtest:
    def __init__(self) -> None:
        from streamd.daemon import _telemetry

        if not _telemetry.configured():
            raise ExportUnavailable(
                "--otlp needs a collector: set OTEL_EXPORTER_OTLP_ENDPOINT (for example "
                "http://127.0.0.1:4318)"
            )
        try:
            self._telemetry = _telemetry.Telemetry()
        except _telemetry.TelemetryUnavailable:
            raise ExportUnavailable(
                "--otlp needs the OpenTelemetry SDK: pip install 'streamd[otel]'"
            ) from None
        self._finding = _telemetry.Finding

    def send(self, loops: list[Loop]) -> None:
        findings = [
            self._finding(
                session=loop.session,
                workspace="",
                host=loop.host,
                tool=loop.tool,
                tool_use_id=loop.tool_use_id,
                verdict=loop.verdict,
                latency=0.0,
                new_loop=True,
                timestamp_ns=_nanoseconds(loop.timestamp),
            )
            for loop in loops
            if loop.verdict is not None
        ]
        self._telemetry.send_now(findings)

    def close(self) -> tuple[int, int]:
        """(sent, failed), once everything went out."""
        self._telemetry.close()
        return self._telemetry.exported, self._telemetry.dropped


def _nanoseconds(stamp: str | None) -> int | None:
    if not stamp:
        return None
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1_000_000_000)
