"""The wire: the hook's hand codec pinned to the msgspec messages by golden bytes, the
change rule tested both ways, and one socket path rule for every side."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from streamd.client import protocol as proto
from streamd.shared import _wire

# What the 0.1.0 hook sent, byte for byte: a daemon must keep reading it.
GOLDEN_STEP = bytes.fromhex(
    "97a473746570c6000000087b2261223a20317dc6000000042f637764c6000000032f7773db0000000572"
    "756e2d31db00000006636c61756465db000000026b31"
)
GOLDEN_BARE_STEP = bytes.fromhex("97a473746570c600000000c6000000012fc0c0db00000006636c61756465c0")
GOLDEN_ANSWER = bytes.fromhex("92a6616e73776572c4037b7d0a")


class OldStep(msgspec.Struct, tag="step", array_like=True, frozen=True):
    """The 0.1.0 daemon's view of a step."""

    event: bytes
    cwd: bytes
    workspace: bytes | None = None
    run_id: str | None = None
    host: str = "claude"
    key: str | None = None


class NewerAnswer(msgspec.Struct, tag="answer", array_like=True, frozen=True):
    """An ``Answer`` that gained a field, as the change rule allows."""

    output: bytes
    extra: int = 0


class TestHandCodec:
    def test_step_is_the_golden_bytes_and_the_structs(self) -> None:
        payload = _wire.encode_step(b'{"a": 1}', b"/cwd", b"/ws", "run-1", "claude", "k1")
        assert payload == GOLDEN_STEP
        assert proto.decode_request(payload) == proto.StepRequest(
            b'{"a": 1}', b"/cwd", b"/ws", "run-1", "claude", "k1"
        )
        bare = _wire.encode_step(b"", b"/", None, None, "claude")
        assert bare == GOLDEN_BARE_STEP
        assert proto.decode_request(bare) == proto.StepRequest(b"", b"/")

    def test_answer_is_the_golden_bytes(self) -> None:
        assert proto.encode(proto.Answer(b"{}\n")) == GOLDEN_ANSWER
        assert _wire.decode_answer(GOLDEN_ANSWER) == b"{}\n"

    @pytest.mark.parametrize("size", [0, 200, 70_000])
    def test_decode_answer_reads_every_bin_width(self, size: int) -> None:
        output = b"x" * size
        assert _wire.decode_answer(proto.encode(proto.Answer(output))) == output

    def test_decode_answer_rejects_other_replies(self) -> None:
        assert _wire.decode_answer(proto.encode(proto.Error("io-error", "disk"))) is None
        assert _wire.decode_answer(b"\x92\xa6answer\xc4\x05abc") is None
        assert _wire.decode_answer(b"\x92\xa6answer\xc4\x01ab") is None
        assert _wire.decode_answer(b"") is None

    def test_tags_are_the_structs_tags(self) -> None:
        for struct in (proto.StepRequest, proto.Answer, proto.Error, proto.StatusReply):
            assert struct.__struct_config__.tag in vars(_wire).values()


class TestChangeRule:
    """Fields are appended with defaults; each side reads what it knows and skips the rest."""

    def test_a_new_shim_speaks_to_an_old_daemon(self) -> None:
        payload = _wire.encode_step(b"{}", b"/", None, None, "codex", "k")
        old = msgspec.msgpack.decode(payload, type=OldStep)
        assert (old.event, old.host, old.key) == (b"{}", "codex", "k")

    def test_an_old_shim_speaks_to_a_new_daemon(self) -> None:
        assert proto.decode_request(GOLDEN_STEP) == proto.StepRequest(
            b'{"a": 1}', b"/cwd", b"/ws", "run-1", "claude", "k1"
        )

    def test_a_shim_reads_an_answer_that_gained_a_field(self) -> None:
        newer = msgspec.msgpack.encode(NewerAnswer(b"hello", 7))
        assert newer[0] == 0x93
        assert _wire.decode_answer(newer) == b"hello"

    def test_a_daemon_reads_a_request_with_a_field_it_does_not_know(self) -> None:
        longer = b"\x98" + GOLDEN_STEP[1:] + b"\xc3"
        assert proto.decode_request(longer) == proto.decode_request(GOLDEN_STEP)


class TestFrames:
    def test_frame_length_is_bounded(self) -> None:
        assert _wire.frame_length(_wire.MAX_FRAME.to_bytes(4, "big")) == _wire.MAX_FRAME
        with pytest.raises(_wire.FrameTooLarge, match="exceeds"):
            _wire.frame_length((_wire.MAX_FRAME + 1).to_bytes(4, "big"))

    def test_a_frame_is_its_length_then_its_payload(self) -> None:
        framed = proto.frame(proto.Ping())
        assert _wire.frame_length(framed[:4]) == len(framed) - 4


class TestSocketPath:
    @pytest.mark.process
    @pytest.mark.parametrize("runtime", ["private", "unset", "world-readable"])
    def test_the_rule_is_platformdirs_runtime_dir(self, runtime: str, tmp_path: Path) -> None:
        env = {
            k: v for k, v in os.environ.items() if k not in ("STREAMD_SOCKET", "XDG_RUNTIME_DIR")
        }
        env["TMPDIR"] = str(tmp_path)
        if runtime != "unset":
            xdg = tmp_path / "xdg"
            xdg.mkdir()
            xdg.chmod(0o700 if runtime == "private" else 0o755)
            env["XDG_RUNTIME_DIR"] = str(xdg)
        shared_dir = os.path.dirname(_wire.__file__)
        hook_side = (
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "import _wire; print(_wire.default_socket())"
        )
        reference = (
            "import os, warnings, platformdirs; warnings.simplefilter('ignore');"
            "print(os.path.join(platformdirs.user_runtime_dir('streamd'), 'streamd.sock'))"
        )
        outs = [
            subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
            for argv in (
                [sys.executable, "-S", "-I", "-c", hook_side, shared_dir],
                [sys.executable, "-c", reference],
            )
        ]
        assert outs[0] == outs[1] and outs[0].endswith("/streamd/streamd.sock\n")

    def test_explicit_then_environment_then_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("STREAMD_SOCKET", "/env/s.sock")
        assert _wire.socket_path("/given/s.sock") == "/given/s.sock"
        assert _wire.socket_path() == "/env/s.sock"
        monkeypatch.delenv("STREAMD_SOCKET")
        assert _wire.socket_path() == _wire.default_socket()


class TestPrivateDir:
    def test_only_a_directory_of_ours_no_one_else_can_write(self, tmp_path: Path) -> None:
        d = tmp_path / "d"
        d.mkdir()
        d.chmod(0o700)
        assert _wire.is_private_dir(os.lstat(d), exact=True)
        d.chmod(0o750)
        assert _wire.is_private_dir(os.lstat(d)) and not _wire.is_private_dir(
            os.lstat(d), exact=True
        )
        d.chmod(0o770)
        assert not _wire.is_private_dir(os.lstat(d))
        link = tmp_path / "link"
        link.symlink_to(d)
        assert not _wire.is_private_dir(os.lstat(link))
