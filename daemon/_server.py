"""The daemon: accepts connections, reads frames, dispatches requests, answers.

Each connection is its own task, so a client that sends nothing or half a frame only
holds its own connection (closed after ``FRAME_TIMEOUT``). Large events are parsed and
hashed in a worker thread; session logs are written on the writer lanes (``_lanes``),
never on the event loop. SIGTERM, SIGINT and a Stop request stop accepting, let
in-flight requests finish, remove the socket and return.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING

import anyio
import msgspec
from anyio.abc import SocketListener, SocketStream

from streamd.client import protocol as proto
from streamd.client._options import DEFAULT_IDLE_TIMEOUT, DEFAULT_LANES, DEFAULT_READ_BUDGET
from streamd.shared import VERSION, Decision, HookRequest, Verdict, _wire, excerpt, hosts, resolve
from streamd.shared._adapter import use_openssl
from streamd.shared._decide import Target, TooDeep

from ._activation import Notifier
from ._frames import ByteBudget, FrameReader
from ._lanes import Lanes
from ._paths import remove_quietly
from ._sessions import Job, SessionTable, Wanted
from ._telemetry import Finding

if TYPE_CHECKING:
    from ._telemetry import Telemetry

log = logging.getLogger("streamd")

FRAME_TIMEOUT = 10.0
"""Seconds a connection may take to send the next frame before it is closed."""
DRAIN_TIMEOUT = 10.0
INLINE_EVENT_LIMIT = 64 * 1024
"""Events up to this size are parsed on the event loop; larger ones in a thread."""


class Daemon:
    def __init__(
        self,
        socket_path: str,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        lanes: int = DEFAULT_LANES,
        notifier: Notifier | None = None,
        read_budget: int = DEFAULT_READ_BUDGET,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.telemetry = telemetry
        self.idle_timeout = idle_timeout
        # Descriptors: a quarter for kept-open logs, the rest for connections, less a
        # reserve; past the cap, connections wait in the listen backlog.
        limit = _open_file_limit()
        logs_per_lane = max(4, min(128, limit // (4 * lanes)))
        self.max_connections = max(8, limit - lanes * logs_per_lane - 64)
        self.connections = 0
        self.read_budget = ByteBudget(read_budget)
        self.table = SessionTable(lanes, logs_per_lane)
        self.lanes: Lanes[Job, Decision | None] = Lanes(self.table.apply, lanes)
        self.started = time.time()
        self.requests: collections.Counter[str] = collections.Counter()
        self.errors = 0
        self.abandoned = 0
        self.answered = 0
        self.unknown_hosts: set[str] = set()
        self.latencies: collections.deque[float] = collections.deque(maxlen=8192)
        self.notifier = notifier or Notifier({})
        self._stop = anyio.Event()
        self._inflight = 0

    # -- lifecycle -----------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    async def serve(self, listener: SocketListener, *, owns_socket_file: bool = True) -> None:
        """Serve until stopped; then drain, remove the socket file and return."""
        try:
            async with self.lanes, anyio.create_task_group() as tg:
                tg.start_soon(self._watch_signals)
                tg.start_soon(self._evict_idle)
                if self.notifier.watchdog_interval is not None:
                    tg.start_soon(self._feed_watchdog, self.notifier.watchdog_interval)
                accept_scope = anyio.CancelScope()
                tg.start_soon(self._accept, listener, tg, accept_scope)
                log.info("serving on %s (pid %d)", self.socket_path, os.getpid())
                self.notifier.ready()
                await self._stop.wait()
                self.notifier.stopping()
                log.info("stopping: finishing %d in-flight request(s)", self._inflight)
                accept_scope.cancel()
                with anyio.move_on_after(DRAIN_TIMEOUT):
                    while self._inflight:
                        await anyio.sleep(0.005)
                tg.cancel_scope.cancel()
        finally:
            if owns_socket_file:
                remove_quietly(self.socket_path)
            for open_logs in self.table.open_logs:
                open_logs.close_all()
            if self.telemetry is not None:
                self.telemetry.close()
            log.info("stopped")

    async def _accept(
        self, listener: SocketListener, tg: anyio.abc.TaskGroup, scope: anyio.CancelScope
    ) -> None:
        with scope:
            async with listener:
                while True:
                    while self.connections >= self.max_connections:
                        await anyio.sleep(0.01)  # the rest wait in the listen backlog
                    try:
                        stream = await listener.accept()
                    except (OSError, anyio.BrokenResourceError) as exc:
                        # EMFILE and friends (anyio wraps them): back off, keep serving.
                        log.error("accept failed: %s; retrying", exc.__cause__ or exc)
                        await anyio.sleep(0.1)
                        continue
                    self.connections += 1
                    tg.start_soon(self._connection, stream)

    async def _watch_signals(self) -> None:
        if sys.platform == "win32":  # pragma: no cover
            return
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("received %s", signal.Signals(signum).name)
                self.request_stop()
                return

    async def _evict_idle(self) -> None:
        interval = max(0.05, min(60.0, self.idle_timeout / 4))
        while True:
            await anyio.sleep(interval)
            evicted = self.table.evict_idle(self.idle_timeout)
            if evicted:
                log.info("evicted %d idle session(s)", evicted)

    async def _feed_watchdog(self, interval: float) -> None:
        """Tells systemd the event loop is alive: a stuck loop misses its beat."""
        while True:
            self.notifier.watchdog()
            await anyio.sleep(interval)

    # -- transport -----------------------------------------------------------------

    async def _connection(self, stream: SocketStream) -> None:
        try:
            await self._serve_connection(stream)
        except Exception:  # one connection's failure must not stop the daemon
            self.errors += 1
            log.exception("a connection failed; closing it")
        finally:
            self.connections -= 1

    async def _serve_connection(self, stream: SocketStream) -> None:
        async with stream:
            raw: socket.socket = stream.extra(anyio.abc.SocketAttribute.raw_socket)
            if not _wire.peer_is_us(raw):
                self.errors += 1
                log.warning("refused a connection from another user")
                await self._send(stream, proto.Error("forbidden", "peer is another user"))
                return
            reader = FrameReader(stream.receive, self.read_budget)
            # One scope for the connection's life: armed while a frame is awaited.
            patience = anyio.CancelScope()
            try:
                with patience:
                    await self._serve_frames(stream, reader, patience)
            finally:
                with anyio.CancelScope(shield=True):
                    await reader.release()
            if patience.cancelled_caught:
                log.debug("closed a connection that sent no frame in %ss", FRAME_TIMEOUT)

    async def _serve_frames(
        self, stream: SocketStream, reader: FrameReader, patience: anyio.CancelScope
    ) -> None:
        while not self._stop.is_set():
            patience.deadline = anyio.current_time() + FRAME_TIMEOUT
            payload = await self._read_frame(stream, reader)
            patience.deadline = math.inf
            if payload is None:
                return
            try:
                request = proto.decode_request(payload)
            except msgspec.DecodeError as exc:
                self.errors += 1
                log.warning("undecodable request (%d bytes): %s", len(payload), exc)
                await self._send(stream, proto.Error("bad-request", str(exc)))
                return
            self._inflight += 1
            try:
                reply = await self._dispatch(request, stream)
                if reply is None or not await self._send(stream, reply):
                    return
                if isinstance(reply, proto.Answer):
                    self.answered += 1  # sent whole: this client does not fall back
            finally:
                self._inflight -= 1
                await reader.release()

    async def _read_frame(self, stream: SocketStream, reader: FrameReader) -> bytes | None:
        """The next frame's payload; None when the connection is done with."""
        try:
            return await reader.next_payload()
        except _wire.FrameTooLarge as exc:
            self.errors += 1
            log.warning("%s", exc)
            await self._send(stream, proto.Error("frame-too-large", str(exc)))
        except (
            anyio.EndOfStream,
            anyio.IncompleteRead,
            anyio.BrokenResourceError,
            anyio.ClosedResourceError,
        ):
            pass
        return None

    async def _send(self, stream: SocketStream, reply: proto.Reply) -> bool:
        try:
            data = proto.frame(reply)
        except Exception as exc:  # the client is owed an answer all the same
            self.errors += 1
            log.error("cannot encode a %s reply: %s", type(reply).__name__, exc)
            data = proto.frame(proto.Error("internal", f"the reply could not be encoded: {exc}"))
        try:
            await stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return False
        return True

    # -- dispatch ------------------------------------------------------------------

    async def _dispatch(self, request: proto.Request, stream: SocketStream) -> proto.Reply | None:
        """The reply; None when the client has gone and gets none."""
        # The status counts keep the names 0.1.0 showed ("Step", not "StepRequest").
        kind = type(request).__name__.removesuffix("Request")
        self.requests[kind] += 1
        try:
            match request:
                case proto.StepRequest():
                    return await self._step(request, _waiting(stream))
                case proto.Ping():
                    return proto.Pong(os.getpid(), VERSION)
                case proto.Stop():
                    log.info("stop requested over the socket")
                    self.request_stop()
                    return proto.Stopping(os.getpid())
                case proto.Status():
                    return self._status()
        except Exception as exc:
            self.errors += 1
            log.exception("failed to handle a %s request", kind)
            return proto.Error("internal", f"{type(exc).__name__}: {exc}")

    async def _step(self, request: proto.StepRequest, wanted: Wanted) -> proto.Reply | None:
        started = time.perf_counter()
        if request.host not in hosts.NAMES:
            if request.host not in self.unknown_hosts:
                self.unknown_hosts.add(request.host)
                log.warning(
                    "unknown host %r in a hook command (streamd speaks %s); its calls are "
                    "not watched: reinstall the hook with `streamd hook install --host NAME`",
                    request.host,
                    ", ".join(hosts.NAMES),
                )
            return proto.Error("unknown-host", f"streamd speaks no host {request.host!r}")
        hook_request = HookRequest(
            request.event,
            cwd=os.fsdecode(request.cwd),
            workspace=None if request.workspace is None else os.fsdecode(request.workspace),
            run_id=request.run_id,
            host=request.host,
            key=request.key,
        )
        try:
            if len(request.event) <= INLINE_EVENT_LIMIT:
                target = resolve(hook_request)
            else:
                target = await anyio.to_thread.run_sync(resolve, hook_request)
        except TooDeep as exc:
            self.errors += 1
            log.warning("%s (a %d-byte event)", exc, len(request.event))
            return proto.Answer(b"")
        if target is None:
            return proto.Answer(b"")
        if target.event.is_session_end:
            self.table.drop(target.workspace, target.session)
            return proto.Answer(b"")
        session = self.table.session_for(target, request.host)
        before = session.last_verdict
        session.inflight += 1
        try:
            lane = self.lanes.lane_for(target.log_path)
            decision = await self.lanes.submit(lane, (session, target, request.run_id, wanted))
        except OSError as exc:
            self.errors += 1
            log.error("cannot record a step in %s: %s", target.log_path, exc)
            return proto.Error("io-error", str(exc))
        finally:
            session.inflight -= 1
        if decision is None:
            self.abandoned += 1
            log.info("a client gave up on a step before it was applied; it decides it itself")
            return None
        latency = time.perf_counter() - started
        self.latencies.append(latency)
        if self.telemetry is not None and decision.verdict is not None:
            self._export(target, request.host, decision, before, latency)
        return proto.Answer(decision.answer)

    def _export(
        self,
        target: Target,
        host: str,
        decision: Decision,
        before: Verdict | None,
        latency: float,
    ) -> None:
        assert self.telemetry is not None and decision.verdict is not None
        event = target.event
        verdict = decision.verdict
        content = None
        if self.telemetry.content and verdict.fired:
            seen = event.failure if event.failure is not None else event.result
            content = excerpt(seen) if event.has_result else None
        self.telemetry.record(
            Finding(
                session=target.session,
                workspace=target.workspace,
                host=host,
                tool=event.step.tool_name if event.step else "",
                tool_use_id=event.tool_use_id,
                verdict=verdict,
                latency=latency,
                content=content,
                stopped=decision.after is not None and decision.after.stopped is not None,
                new_loop=verdict.fired and not (before is not None and before.fired),
            )
        )

    def _status(self) -> proto.StatusReply:
        sessions = []
        for s in self.table.sessions.values():
            detector = s.detector
            verdict = s.last_verdict
            sessions.append(
                proto.SessionInfo(
                    workspace=_shown(s.workspace),
                    session=_shown(s.session),
                    host=s.host,
                    steps=detector.steps if detector else 0,
                    state=verdict.state.value if verdict else "UNKNOWN",
                    run=verdict.repeat_run if verdict else 0,
                    last_tool=_shown(s.last_tool),
                    firings=s.firings,
                    last_seen=s.last_seen,
                    rule=verdict.rule if verdict is not None and verdict.fired else "",
                    policy_error=_shown(self.table.policies.error(s.workspace) or ""),
                    stopped=detector is not None and detector.stopped is not None,
                )
            )
        return proto.StatusReply(
            pid=os.getpid(),
            version=VERSION,
            started=self.started,
            socket=_shown(self.socket_path),
            requests=dict(self.requests),
            errors=self.errors,
            latency_ms=_percentiles(self.latencies),
            read_peak_bytes=self.read_budget.peak,
            steps_answered=self.answered,
            steps_abandoned=self.abandoned,
            policy_errors=[_shown(e) for e in self.table.policies.errors()],
            export_dropped=self.telemetry.dropped if self.telemetry is not None else 0,
            export_on=self.telemetry is not None,
            sessions=sorted(sessions, key=lambda i: -i.last_seen),
        )


def _open_file_limit() -> int:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return 1024
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return 65536 if soft == resource.RLIM_INFINITY else soft


def _raise_open_file_limit() -> None:
    """Open logs and connections are file descriptors; a soft limit of 1024 is low."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _shown(text: str) -> str:
    """A path or name as UTF-8 can carry it: bytes that are not UTF-8 become U+FFFD."""
    try:
        data = text.encode("utf-8", "surrogateescape")  # the bytes the OS gave
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape
        data = text.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


def _percentiles(samples: collections.deque[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3, 3)

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "max": pick(1.0)}


def _waiting(stream: SocketStream) -> Wanted:
    """Whether the client at the other end has not hung up: a shim that gave up on
    the daemon closes its end and decides the call itself."""
    raw: socket.socket = stream.extra(anyio.abc.SocketAttribute.raw_socket)

    def wanted() -> bool:
        try:
            return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    return wanted


def run(
    socket_path: str,
    *,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    lanes: int = DEFAULT_LANES,
    read_budget: int = DEFAULT_READ_BUDGET,
) -> None:
    """Serve in the foreground until stopped: on the socket a service manager passed,
    else on ``socket_path``, bound here. Raises ``DaemonAlreadyRunning``,
    ``SocketPathError`` or ``ActivationError`` before serving."""
    from ._activation import launchd_socket, systemd_socket
    from ._paths import bind_unix_socket

    _raise_open_file_limit()
    use_openssl()
    inherited = systemd_socket() or launchd_socket()
    sock = inherited or bind_unix_socket(socket_path)
    if inherited is not None:
        name = inherited.getsockname()
        socket_path = os.fsdecode(name) if name else socket_path
        log.info("serving the socket the service manager passed")
    sock.setblocking(False)

    from ._telemetry import start as start_telemetry

    telemetry = start_telemetry()
    if telemetry is not None:
        log.info("exporting findings over OTLP (OpenTelemetry)")

    async def main() -> None:
        listener = await SocketListener.from_socket(sock)
        daemon = Daemon(
            socket_path,
            idle_timeout=idle_timeout,
            lanes=lanes,
            notifier=Notifier(),
            read_budget=read_budget,
            telemetry=telemetry,
        )
        await daemon.serve(listener, owns_socket_file=inherited is None)

    anyio.run(main)
