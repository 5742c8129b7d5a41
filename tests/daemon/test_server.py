"""The daemon as a real process on a temporary socket, with the real shim as client."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from streamd.client import protocol as proto
from streamd.shared import HookRequest, handle_offline

from ..harness import (
    DaemonProcess,
    raw_records,
    read_event,
    records,
    run_shim,
    state_of,
)

pytestmark = pytest.mark.process

LOOP = [None, None, "REPEATING", "REPEATING", "STALLED"]


def raw_exchange(path: Path, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes, return everything the daemon sends back before closing."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def decode_reply_frame(data: bytes) -> proto.Reply:
    assert int.from_bytes(data[:4], "big") == len(data) - 4
    return proto.decode_reply(data[4:])


class TestCrashAndRecovery:
    def test_sigkill_mid_session_continues_the_run(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        states = [
            state_of(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout) for n in range(2)
        ]
        daemon.kill()
        assert daemon.socket_path.exists()  # SIGKILL leaves a stale socket behind
        daemon.start()
        states += [
            state_of(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout)
            for n in range(2, 5)
        ]
        assert states == LOOP
        assert [r.step_index for r in records(tmp_path)] == [0, 1, 2, 3, 4]
        assert len({r.tool_use_id for r in records(tmp_path)}) == 5

    def test_steps_written_by_the_fallback_count_after_restart(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        states = [
            state_of(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout) for n in range(2)
        ]
        assert daemon.terminate() == 0
        states += [
            state_of(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout) for n in (2, 3)
        ]
        daemon.start()
        states.append(state_of(run_shim(read_event(tmp_path, 4), daemon.socket_path).stdout))
        assert states == LOOP
        assert [r.step_index for r in records(tmp_path)] == [0, 1, 2, 3, 4]

    def test_log_written_behind_the_daemons_back_is_recovered(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        for n in range(2):
            run_shim(read_event(tmp_path, n), daemon.socket_path)
        # The shim's fallback writes while the daemon is alive but was too slow.
        for n in (2, 3):
            raw = json.dumps(read_event(tmp_path, n)).encode()
            handle_offline(HookRequest(raw, cwd=str(tmp_path)))
        done = run_shim(read_event(tmp_path, 4), daemon.socket_path)
        assert state_of(done.stdout) == "STALLED"
        assert daemon.status().sessions[0].steps == 5

    def test_a_call_the_fallback_already_recorded_is_not_duplicated(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        for n in range(2):
            run_shim(read_event(tmp_path, n), daemon.socket_path)
        raw = json.dumps(read_event(tmp_path, 2)).encode()
        fallback_answer = handle_offline(HookRequest(raw, cwd=str(tmp_path)))
        done = run_shim(read_event(tmp_path, 2), daemon.socket_path)
        assert done.stdout == fallback_answer and state_of(done.stdout) == "REPEATING"
        assert len(records(tmp_path)) == 3

    def test_idle_sessions_are_evicted_and_recovered(self, sockdir: Path, tmp_path: Path) -> None:
        daemon = DaemonProcess(sockdir / "idle.sock", "--idle-timeout", "0.2").start()
        try:
            for n in range(3):
                run_shim(read_event(tmp_path, n), daemon.socket_path)
            assert daemon.status().steps_answered == 3
            # Evicted within 0.2 s of idleness; given 30 s, for a loaded machine.
            deadline = time.monotonic() + 30
            while daemon.status().sessions and time.monotonic() < deadline:
                time.sleep(0.05)
            assert daemon.status().sessions == []
            out = [
                state_of(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout)
                for n in (3, 4)
            ]
            assert out == ["REPEATING", "STALLED"]
        finally:
            daemon.kill()

    def test_policy_is_reread_when_dos_toml_changes(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        assert state_of(run_shim(read_event(tmp_path, 0), daemon.socket_path).stdout) is None
        (tmp_path / "dos.toml").write_text("[tool_stream]\nrepeat_n = 2\nstall_n = 3\n")
        states = [
            state_of(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout) for n in (1, 2)
        ]
        assert states == ["REPEATING", "STALLED"]
        (tmp_path / "dos.toml").write_text("[tool_stream]\nrepeat_n = 'three'\n")
        assert state_of(run_shim(read_event(tmp_path, 3), daemon.socket_path).stdout) == "REPEATING"
        assert "repeat_n must be an integer" in daemon.log()

    def test_concurrent_calls_on_one_session_are_serialized(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        results: list[bytes] = []

        def call(n: int) -> None:
            results.append(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout)

        threads = [threading.Thread(target=call, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.step_index for r in records(tmp_path)] == list(range(12))
        assert (
            sorted(state_of(r) or "-" for r in results)
            == ["-"] * 2 + ["REPEATING"] * 2 + ["STALLED"] * 8
        )

    def test_one_lane_serves_many_sessions_in_order(self, sockdir: Path, tmp_path: Path) -> None:
        daemon = DaemonProcess(sockdir / "one.sock", "--lanes", "1").start()
        try:
            threads = [
                threading.Thread(
                    target=run_shim,
                    args=(read_event(tmp_path, n, session=f"s{n % 3}"), daemon.socket_path),
                )
                for n in range(12)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for s in range(3):
                assert [r.step_index for r in records(tmp_path, f"s{s}")] == [0, 1, 2, 3]
        finally:
            daemon.kill()


class TestBadInput:
    @pytest.mark.parametrize(
        "stdin",
        [
            b"",
            b"not json at all",
            b"[1, 2, 3]",
            b"\xff\xfe\x00garbage",
            b'{"tool_name": "Read"}',
            b"{}",
        ],
    )
    def test_hook_exits_zero_silently_and_daemon_keeps_serving(
        self, daemon: DaemonProcess, tmp_path: Path, stdin: bytes
    ) -> None:
        done = run_shim(stdin, daemon.socket_path, cwd=tmp_path)
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
        assert daemon.alive() and not (tmp_path / ".dos").exists()

    @pytest.mark.parametrize(
        "fields",
        [
            {"tool_name": ...},
            {"session_id": ...},
            {"session_id": "../../"},
            {"tool_name": 42},
            {"tool_input": [1, {"deep": [[[[]]]]}]},
            {"tool_response": ...},
            {"cwd": 17},
        ],
    )
    def test_missing_or_wrong_fields(
        self, daemon: DaemonProcess, tmp_path: Path, fields: dict[str, Any]
    ) -> None:
        done = run_shim(read_event(tmp_path, 0, **fields), daemon.socket_path, cwd=tmp_path)
        assert (done.returncode, done.stderr) == (0, b"")
        assert daemon.alive()
        for path in (tmp_path / ".dos" / "streams").glob("*.jsonl"):
            assert all(json.loads(line) for line in path.read_bytes().splitlines())

    def test_traversing_session_id_stays_in_the_streams_dir(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        ws = tmp_path / "a" / "b"
        for n in range(3):
            run_shim(read_event(ws, n, session="../../etc/passwd"), daemon.socket_path)
        logs = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
        digest = hashlib.sha256(b"../../etc/passwd").hexdigest()[:16]
        assert logs == [Path(f"a/b/.dos/streams/etcpasswd-{digest}.jsonl")]

    def test_fifty_megabyte_result(self, daemon: DaemonProcess, tmp_path: Path) -> None:
        big = "x" * (50 * 1024 * 1024)
        outs = [
            run_shim(read_event(tmp_path, n, tool_response=big), daemon.socket_path)
            for n in range(3)
        ]
        assert all(o.returncode == 0 for o in outs)
        assert state_of(outs[2].stdout) == "REPEATING"
        context = json.loads(outs[2].stdout)["hookSpecificOutput"]["additionalContext"]
        assert len(context) < 2000
        assert len(records(tmp_path)) == 3 and daemon.alive()

    def test_garbage_frame_gets_an_error_reply(self, daemon: DaemonProcess) -> None:
        reply = decode_reply_frame(raw_exchange(daemon.socket_path, b"\x00\x00\x00\x05hello"))
        assert isinstance(reply, proto.Error) and reply.code == "bad-request"
        assert daemon.alive()

    def test_wrong_field_types_get_an_error_reply(self, daemon: DaemonProcess) -> None:
        import msgspec

        payload = msgspec.msgpack.encode(["step", 12, "not-bytes"])
        data = len(payload).to_bytes(4, "big") + payload
        reply = decode_reply_frame(raw_exchange(daemon.socket_path, data))
        assert isinstance(reply, proto.Error) and reply.code == "bad-request"

    def test_oversized_frame_gets_an_error_reply(self, daemon: DaemonProcess) -> None:
        header = (proto.MAX_FRAME + 1).to_bytes(4, "big")
        reply = decode_reply_frame(raw_exchange(daemon.socket_path, header))
        assert isinstance(reply, proto.Error) and reply.code == "frame-too-large"
        assert daemon.alive()

    def test_silent_and_half_frame_clients_do_not_stall_others(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.connect(str(daemon.socket_path))
        half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        half.connect(str(daemon.socket_path))
        half.sendall(b"\x00\x00\x10\x00partial")
        try:
            states = [
                state_of(run_shim(read_event(tmp_path, n), daemon.socket_path).stdout)
                for n in range(3)
            ]
            assert states == [None, None, "REPEATING"]
            # Answered by the daemon, each within the hook's second, while the two
            # connections held on: none was left to the fallback.
            assert daemon.status().steps_answered == 3
            # The promise: a connection that sends nothing, or half a frame, is closed
            # after 10 s. Given 30 s here, room for a loaded machine.
            for conn in (silent, half):
                conn.settimeout(30)
                assert conn.recv(1) == b""
        finally:
            silent.close()
            half.close()
        assert daemon.alive()

    @pytest.mark.skipif(
        os.geteuid() != 0 or not os.access("/usr/bin/python3", os.X_OK),
        reason="needs root to switch user, and a Python the other user can run",
    )
    def test_another_user_is_refused(self, daemon: DaemonProcess) -> None:
        os.chmod(daemon.socket_path.parent, 0o755)
        os.chmod(daemon.socket_path, 0o666)
        # The daemon refuses before reading anything, so this client only listens.
        code = (
            "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
            "print(s.recv(4096).hex())"
        )
        done = subprocess.run(
            ["/usr/bin/python3", "-c", code, str(daemon.socket_path)],
            capture_output=True,
            text=True,
            user=65534,
        )
        assert done.returncode == 0, done.stderr
        reply = decode_reply_frame(bytes.fromhex(done.stdout.strip()))
        assert isinstance(reply, proto.Error) and reply.code == "forbidden"
        assert daemon.alive()


class TestLifecycle:
    def test_socket_is_private(self, daemon: DaemonProcess) -> None:
        assert stat.S_IMODE(daemon.socket_path.stat().st_mode) == 0o600

    def test_socket_directory_is_created_private(self, sockdir: Path) -> None:
        daemon = DaemonProcess(sockdir / "new" / "d.sock", log_path=sockdir / "d.log").start()
        try:
            assert stat.S_IMODE((sockdir / "new").stat().st_mode) == 0o700
        finally:
            daemon.kill()

    def test_sigterm_removes_the_socket_and_exits_zero(self, daemon: DaemonProcess) -> None:
        assert daemon.terminate() == 0
        assert not daemon.socket_path.exists()
        assert "stopped" in daemon.log()

    def test_second_daemon_on_a_live_socket_exits_nonzero(self, daemon: DaemonProcess) -> None:
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "streamd.client",
                "serve",
                "--socket",
                str(daemon.socket_path),
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert second.returncode != 0
        assert "already listening" in second.stderr and "streamd stop" in second.stderr
        assert daemon.alive()

    def test_stale_socket_is_replaced(self, daemon: DaemonProcess) -> None:
        daemon.kill()
        daemon.start()
        assert daemon.alive()

    def test_path_that_is_not_a_socket_is_refused(self, sockdir: Path) -> None:
        (sockdir / "file.sock").write_text("x")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "streamd.client",
                "serve",
                "--socket",
                str(sockdir / "file.sock"),
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert done.returncode != 0 and "not a socket" in done.stderr

    def test_stop_request(self, daemon: DaemonProcess) -> None:
        reply = daemon.ask(proto.Stop())
        assert isinstance(reply, proto.Stopping)
        assert daemon.proc is not None and daemon.proc.wait(15) == 0
        assert not daemon.socket_path.exists()

    def test_open_file_limit_is_raised(self, sockdir: Path) -> None:
        import resource

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        sock = str(sockdir / "lim.sock")
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamd.daemon", "serve", "--socket", sock],
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 15
            while not Path(sock).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            limits = Path(f"/proc/{proc.pid}/limits").read_text().splitlines()
            soft = next(x for x in limits if x.startswith("Max open files")).split()[3]
            assert int(soft) == min(hard, 65536) > 256
        finally:
            proc.terminate()
            proc.wait(15)

    def test_status_reports_sessions(self, daemon: DaemonProcess, tmp_path: Path) -> None:
        for n in range(4):
            run_shim(read_event(tmp_path, n), daemon.socket_path)
        status = daemon.status()
        assert status.pid == daemon.proc.pid  # type: ignore[union-attr]
        assert status.requests["Step"] == 4 and set(status.latency_ms) == {
            "p50",
            "p90",
            "p99",
            "max",
        }
        [session] = status.sessions
        assert (session.workspace, session.session, session.host) == (
            str(tmp_path),
            "sess-1",
            "claude",
        )
        assert (session.steps, session.state, session.run, session.last_tool, session.firings) == (
            4,
            "REPEATING",
            4,
            "Read",
            2,
        )
        assert raw_records(tmp_path)[3]["verdict_state"] == "REPEATING"
