"""A live daemon fed random and broken frames: it answers or closes, never dies, and
writes no log line the reader rejects."""

from __future__ import annotations

import socket
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamd.client import protocol as proto
from streamd.shared import parse_line

from ..harness import DaemonProcess, short_tempdir
from ..strategies import hostile_stdin

pytestmark = pytest.mark.process


def exchange(path: Path, data: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may close first on a bad frame


frames = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=64).map(lambda p: len(p).to_bytes(4, "big") + p),
    st.integers(0, 2**32 - 1).map(lambda n: n.to_bytes(4, "big")),
    st.lists(
        st.one_of(
            st.integers(-(2**63), 2**64 - 1), st.text(max_size=5), st.binary(max_size=5), st.none()
        ),
        max_size=7,
    ).map(lambda fields: _framed(msgspec.msgpack.encode(["step", *fields]))),
)


def _framed(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


class TestDaemonFuzz:
    def test_random_frames_never_kill_it(self, tmp_path: Path) -> None:
        with short_tempdir() as sockdir:
            daemon = DaemonProcess(sockdir / "f.sock").start()
            try:

                @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
                @given(frames)
                def run(data: bytes) -> None:
                    exchange(daemon.socket_path, data)

                run()
                assert daemon.alive()
            finally:
                daemon.kill()

    def test_hostile_events_in_valid_frames_leave_logs_readable(self, tmp_path: Path) -> None:
        with short_tempdir() as sockdir:
            daemon = DaemonProcess(sockdir / "f.sock").start()
            try:

                @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
                @given(hostile_stdin(str(tmp_path)))
                def run(raw: bytes) -> None:
                    exchange(
                        daemon.socket_path,
                        proto.frame(proto.StepRequest(raw, str(tmp_path).encode())),
                    )

                run()
                assert daemon.alive()
            finally:
                daemon.kill()
        for log in tmp_path.rglob("*.jsonl"):
            for line in log.read_bytes().split(b"\n"):
                assert not line.strip() or parse_line(line), line
