"""What an attack-and-fault audit broke, each through the real daemon and shim: stalls,
hijacked sockets, planted links, descriptor exhaustion, large events, memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamd.client import DaemonClient
from streamd.client import protocol as proto
from streamd.client._transport import Connection, NoAnswer
from streamd.shared import HookRequest, handle_offline

from ..harness import (
    DaemonProcess,
    read_event,
    records,
    run_shim,
    short_tempdir,
    state_of,
    wait_until_it_answers,
)

pytestmark = pytest.mark.process

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
NOBODY = 65534


@pytest.fixture
def stopped(daemon: DaemonProcess) -> Iterator[DaemonProcess]:
    """A daemon that is SIGSTOPped for the test's body; resumed (and drained) after."""
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGSTOP)
    try:
        yield daemon
    finally:
        daemon.proc.send_signal(signal.SIGCONT)


def resume(daemon: DaemonProcess) -> None:
    """SIGCONT, then wait until the daemon has worked through what queued meanwhile."""
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGCONT)
    assert isinstance(daemon.ask(proto.Ping()), proto.Pong)
    daemon.status()


class TestStall:
    def test_steps_sent_to_a_stopped_daemon_are_recorded_once_in_order(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        run_shim(read_event(tmp_path, 0), daemon.socket_path)
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGSTOP)
        try:
            stalled = [run_shim(read_event(tmp_path, n), daemon.socket_path) for n in (1, 2, 3)]
        finally:
            resume(daemon)
        assert [state_of(d.stdout) for d in stalled] == [None, "REPEATING", "REPEATING"]
        ids = [r.tool_use_id for r in records(tmp_path)]
        assert ids == [f"toolu_sess-1_{n:04d}" for n in range(4)]
        after = run_shim(read_event(tmp_path, 4), daemon.socket_path)
        assert state_of(after.stdout) == "STALLED" and len(records(tmp_path)) == 5

    def test_an_event_without_an_id_is_recorded_once_across_a_stall(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        event = read_event(tmp_path, 0, tool_use_id=...)
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGSTOP)
        try:
            run_shim(event, daemon.socket_path)
        finally:
            resume(daemon)
        assert len(records(tmp_path)) == 1

    def test_the_key_makes_the_daemon_and_the_fallback_agree(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        raw = json.dumps(read_event(tmp_path, 0, tool_use_id=...)).encode()
        step = proto.StepRequest(raw, str(tmp_path).encode(), key="k1")
        answered = DaemonClient(str(daemon.socket_path)).step(step)
        again = handle_offline(HookRequest(raw, cwd=str(tmp_path), key="k1"))
        assert again == answered
        [record] = records(tmp_path)
        assert record.tool_use_id == "streamd-k1"


class TestHijack:
    @ROOT_ONLY
    def test_the_shim_and_the_cli_do_not_talk_to_another_users_socket(self, tmp_path: Path) -> None:
        with short_tempdir() as shared:
            shared.chmod(0o777)
            path = shared / "s.sock"
            listener = subprocess.Popen(
                [sys.executable, "-c", STRANGER, str(path)],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
                outs = [run_shim(read_event(tmp_path, n), path) for n in range(3)]
                cli = subprocess.run(
                    [sys.executable, "-m", "streamd.client", "status", "--socket", str(path)],
                    capture_output=True,
                    text=True,
                )
            finally:
                listener.send_signal(signal.SIGTERM)
                heard = listener.communicate(timeout=10)[0]
        assert heard.split() == ["4", "0", "0", "0", "0"]  # 4 connections, no byte on any
        assert state_of(outs[2].stdout) == "REPEATING" and len(records(tmp_path)) == 3
        assert cli.returncode == 1 and "no daemon is running" in cli.stderr

    def test_a_socket_directory_others_can_write_is_refused(self, sockdir: Path) -> None:
        shared = sockdir / "shared"
        shared.mkdir()
        shared.chmod(0o777)
        done = serve(shared / "d.sock")
        assert done.returncode == 2
        assert "mode 777" in done.stderr and "mkdir -m 700" in done.stderr
        assert not (shared / "d.sock").exists()

    @ROOT_ONLY
    def test_a_socket_directory_of_another_user_is_refused(self, sockdir: Path) -> None:
        theirs = sockdir / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, NOBODY, NOBODY)
        done = serve(theirs / "d.sock")
        assert done.returncode == 2 and f"uid {NOBODY}" in done.stderr

    @ROOT_ONLY
    @pytest.mark.skipif(
        os.path.exists(f"/run/user/{os.geteuid()}"), reason="this machine has a runtime dir"
    )
    def test_a_runtime_fallback_made_by_another_user_is_refused(self, sockdir: Path) -> None:
        """With no /run/user/<uid> the runtime dir falls back to $TMPDIR/runtime-<uid>;
        one that another user created there first must not be used."""
        tmp = sockdir / "tmp"
        tmp.mkdir()
        tmp.chmod(0o1777)
        planted = tmp / f"runtime-{os.geteuid()}"
        planted.mkdir(mode=0o700)
        os.chown(planted, NOBODY, NOBODY)
        env = {
            k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "STREAMD_SOCKET")
        }
        env["TMPDIR"] = str(tmp)
        done = subprocess.run(
            [sys.executable, "-m", "streamd.client", "status"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 1, done.stderr
        assert "runtime directory" in done.stderr and "--socket" in done.stderr
        assert not (planted / "streamd").exists()


def serve(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamd.daemon", "serve", "--socket", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


# Listens as another user and counts the bytes each client sends before it hangs up.
STRANGER = """
import os, socket, sys, signal
path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
os.setgid(65534); os.setuid(65534)
server.bind(path); server.listen(8)
heard = []
def done(*_):
    print(len(heard), *heard, flush=True); sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.settimeout(5)
    got = b""
    try:
        while chunk := conn.recv(65536):
            got += chunk
    except OSError:
        pass
    heard.append(len(got))
    conn.close()
"""


class TestPlantedLinks:
    def test_a_link_at_the_old_status_file_name_is_not_followed(
        self, sockdir: Path, tmp_path: Path
    ) -> None:
        victim = tmp_path / "victim"
        victim.write_text("keep")
        sock = sockdir / "d.sock"
        for name in (".status.json", ".status.json.tmp"):
            Path(str(sock) + name).symlink_to(victim)
        daemon = DaemonProcess(sock).start()
        try:
            run_shim(read_event(tmp_path / "ws", 0), sock)
        finally:
            daemon.terminate()
        assert victim.read_text() == "keep"

    def test_a_log_swapped_for_a_link_is_not_written_through(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        victim = tmp_path / "victim"
        victim.write_text("keep")
        run_shim(read_event(tmp_path, 0), daemon.socket_path)
        log = tmp_path / ".dos" / "streams" / "sess-1.jsonl"
        log.unlink()
        log.symlink_to(victim)
        done = run_shim(read_event(tmp_path, 1), daemon.socket_path)
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
        assert victim.read_text() == "keep" and daemon.alive()


class TestResources:
    def test_descriptor_exhaustion_does_not_stop_the_daemon(
        self, sockdir: Path, tmp_path: Path
    ) -> None:
        sock = sockdir / "d.sock"
        limited = subprocess.Popen(
            [sys.executable, "-c", LIMITED, str(sock)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_it_answers(sock, limited)
            idle = []
            for _ in range(200):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(sock))
                idle.append(s)
            for s in idle:
                s.close()
            client = DaemonClient(str(sock), timeout=30)
            assert isinstance(client.ping(), proto.Pong)
            raw = json.dumps(read_event(tmp_path, 0)).encode()
            client.step(proto.StepRequest(raw, str(tmp_path).encode()))
            assert limited.poll() is None and len(records(tmp_path)) == 1
        finally:
            limited.kill()
            limited.wait()

    def test_frames_in_flight_stay_within_the_read_budget(
        self, sockdir: Path, tmp_path: Path
    ) -> None:
        sock = sockdir / "d.sock"
        daemon = DaemonProcess(sock, "--read-budget", "4").start()
        try:
            big = "y" * (3 * 1024 * 1024)
            errors: list[BaseException] = []

            def send(n: int) -> None:
                try:
                    raw = json.dumps(read_event(tmp_path, n, tool_response=f"{n}{big}")).encode()
                    DaemonClient(str(sock), timeout=60).step(
                        proto.StepRequest(raw, str(tmp_path).encode())
                    )
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            status = daemon.status()
        finally:
            daemon.terminate()
        assert not errors and len(records(tmp_path)) == 6
        assert 3 * 1024 * 1024 < status.read_peak_bytes <= 4 * 1024 * 1024


LIMITED = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
os.execv(sys.executable, [sys.executable, "-m", "streamd.daemon", "serve", "--socket", sys.argv[1]])
"""


class TestEncodings:
    def test_a_workspace_that_is_not_utf8_leaves_status_working(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        odd = os.path.join(os.fsencode(tmp_path), b"ws-\xff")
        os.mkdir(odd)
        done = subprocess.run(
            [sys.executable, "-S", "-I", HOOK, "--socket", str(daemon.socket_path)],
            input=json.dumps({**read_event(tmp_path, 0), "cwd": None}).encode(),
            cwd=odd,
            capture_output=True,
        )
        assert done.returncode == 0
        [session] = daemon.status().sessions
        assert session.workspace.endswith("ws-\ufffd")

    def test_an_id_with_a_line_separator_is_not_recorded_twice(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        event = read_event(tmp_path, 0, tool_use_id="toolu_a\u2028b")
        first = run_shim(event, daemon.socket_path)
        daemon.kill()  # as if it died before answering: the fallback sees the same call
        again = run_shim(event, daemon.socket_path)
        assert again.stdout == first.stdout and len(records(tmp_path)) == 1


def _hook_path() -> str:
    from streamd.client import shim_path

    return shim_path()


HOOK = _hook_path()


def test_connection_reopens_after_the_daemon_restarts(sockdir: Path) -> None:
    sock = sockdir / "d.sock"
    daemon = DaemonProcess(sock).start()
    connection = Connection(str(sock), 5.0)
    try:
        assert isinstance(
            proto.decode_reply(connection.ask(proto.encode(proto.Ping()))), proto.Pong
        )
        daemon.kill()
        daemon = DaemonProcess(sock).start()
        with pytest.raises(NoAnswer):
            connection.ask(proto.encode(proto.Ping()))
        assert isinstance(
            proto.decode_reply(connection.ask(proto.encode(proto.Ping()))), proto.Pong
        )
    finally:
        connection.close()
        daemon.kill()


class TestHostileResults:
    """A tool result made of the runs a backtracking pattern re-scans from every
    position (a fetched page or a log is enough) is recorded like any other, and holds up
    no other session: every step, the hostile one included, is answered by the daemon."""

    @pytest.mark.parametrize(
        ("host", "event"),
        [
            (
                "claude",
                {"tool_name": "Bash", "tool_response": {"stdout": "1" * 1_000_000 + "a"}},
            ),
            ("claude", {"tool_name": "Bash", "tool_response": {"stdout": "1a" * 30_000 + "g"}}),
            (
                "codex",
                {"hook_event_name": "PostToolUse", "tool_name": "shell",
                 "tool_response": " " * 60_000 + "1"},
            ),
            (
                "claude",
                {"tool_name": "Bash", "tool_response": {"stdout": "|" * 60_000 + ": x"},
                 "hook_event_name": "PostToolUseFailure", "error": "|" * 60_000 + ": x"},
            ),
        ],
    )  # fmt: skip
    def test_is_recorded_and_holds_up_no_one(
        self, host: str, event: dict[str, object], daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        hostile_ws, other_ws = tmp_path / "hostile", tmp_path / "other"
        hostile = {**read_event(hostile_ws, 0, session="hostile"), **event}
        shim = subprocess.Popen(
            [sys.executable, "-S", "-I", HOOK, "--socket", str(daemon.socket_path),
             "--host", host],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        shim.communicate(json.dumps(hostile).encode(), timeout=60)
        others = [run_shim(read_event(other_ws, n, session="other"), daemon.socket_path)
                  for n in range(3)]  # fmt: skip
        assert shim.returncode == 0 and all(o.returncode == 0 for o in others)
        assert len(records(hostile_ws, "hostile")) == 1
        assert len(records(other_ws, "other")) == 3
        reply = daemon.status()
        assert reply.steps_answered == 4, reply


class TestHostilePolicy:
    """A workspace's ``dos.toml`` is the repository's: whatever it is, the steps there
    are recorded and answered with the defaults, the daemon keeps serving everyone and
    still stops on SIGTERM, and ``status`` says why the file is not in force."""

    @pytest.mark.parametrize("kind", ["dev-zero", "fifo", "deep", "huge"])
    def test_is_read_as_untrusted(self, kind: str, daemon: DaemonProcess, tmp_path: Path) -> None:
        hostile, other = tmp_path / "hostile", tmp_path / "other"
        hostile.mkdir()
        policy = hostile / "dos.toml"
        if kind == "dev-zero":
            policy.symlink_to("/dev/zero")
        elif kind == "fifo":
            os.mkfifo(policy)
        elif kind == "deep":
            policy.write_text("[tool_stream]\nx = " + "[" * 1000 + "]" * 1000 + "\n")
        else:
            policy.write_text("# " + "x" * 200_000 + "\n")
        states = [state_of(run_shim(read_event(hostile, n), daemon.socket_path).stdout)
                  for n in range(3)]  # fmt: skip
        run_shim(read_event(other, 0), daemon.socket_path)
        assert states == [None, None, "REPEATING"]  # the default policy, in force
        assert len(records(hostile)) == 3 and len(records(other)) == 1
        reply = daemon.status()
        assert reply.steps_answered == 4
        errors = {s.workspace: s.policy_error for s in reply.sessions}
        assert str(policy) in errors[str(hostile)] and errors[str(other)] == ""
        assert len(reply.policy_errors) == 1 and str(policy) in reply.policy_errors[0]
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0


class TestNoCallHidden:
    """A model cannot keep a call out of the log by how it shapes the call."""

    def test_an_integer_past_pythons_digit_limit_is_recorded(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        base = json.dumps(read_event(tmp_path, 0))
        raw = base[:-1] + ', "extra": ' + "9" * 5000 + "}"
        for sock in (daemon.socket_path, tmp_path / "absent.sock"):  # daemon, then fallback
            assert run_shim(raw.encode(), sock).returncode == 0
        assert len(records(tmp_path)) == 1  # once: the fallback found the daemon's record

    def test_a_hook_started_in_a_deleted_folder_is_recorded(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        gone = tmp_path / "gone"
        gone.mkdir()
        workspace = tmp_path / "ws"
        script = 'cd "$1" && rmdir "$1" && exec "$2" -S -I "$3" --socket "$4"'
        for n, sock in enumerate((daemon.socket_path, tmp_path / "absent.sock")):
            gone.mkdir(exist_ok=True)
            done = subprocess.run(
                ["sh", "-c", script, "sh", str(gone), sys.executable, HOOK, str(sock)],
                input=json.dumps(read_event(workspace, n)).encode(), capture_output=True,
            )  # fmt: skip
            assert done.returncode == 0
        assert [r.step_index for r in records(workspace)] == [0, 1]


class TestNesting:
    @pytest.mark.parametrize(("depth", "recorded"), [(800, 1), (880, 1), (950, 0), (5000, 0)])
    def test_the_daemon_and_the_fallback_cut_off_at_the_same_depth(
        self, depth: int, recorded: int, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        """Python's recursion limit counts the caller's frames: unbounded, the daemon
        dropped a call nested 980 deep that the fallback recorded. Both get the same
        room, and the daemon says when a call did not fit."""
        served, alone = tmp_path / "served", tmp_path / "alone"
        for workspace, sock in ((served, daemon.socket_path), (alone, tmp_path / "no.sock")):
            base = json.dumps(read_event(workspace, 0))
            raw = base[:-1] + ', "tool_input": ' + "[" * depth + "]" * depth + "}"
            assert run_shim(raw.encode(), sock).returncode == 0
        assert len(records(served)) == len(records(alone)) == recorded
        if not recorded:
            assert daemon.status().errors == 1 and "not recorded" in daemon.log()


class TestStallGuard:
    def test_a_request_whose_client_hung_up_is_not_applied_late(
        self, daemon: DaemonProcess, tmp_path: Path
    ) -> None:
        """The daemon, stopped, receives a step; its client gives up and hangs up (a
        shim then decides the call itself). Resumed, the daemon must not apply it: that
        would record the call twice, or out of its order."""
        assert daemon.proc is not None
        raw = json.dumps(read_event(tmp_path, 0)).encode()
        os.kill(daemon.proc.pid, signal.SIGSTOP)
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(str(daemon.socket_path))  # the kernel queues it while stopped
            conn.sendall(proto.frame(proto.StepRequest(raw, str(tmp_path).encode())))
            conn.close()
        finally:
            os.kill(daemon.proc.pid, signal.SIGCONT)
        for _ in range(3000):  # until the daemon has dealt with the request, either way
            reply = daemon.status()
            if reply.steps_abandoned or records(tmp_path):
                break
            threading.Event().wait(0.01)
        assert reply.steps_abandoned == 1 and records(tmp_path) == []
