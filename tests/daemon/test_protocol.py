from __future__ import annotations

import contextlib

import anyio
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamd.daemon import protocol as proto
from streamd.daemon._frames import FrameReader

VALID = [
    proto.Step(b'{"a": 1}', b"/w", b"/ws", "run", "claude"),
    proto.Status(),
    proto.Ping(),
    proto.Stop(),
]


class TestFrames:
    def test_invalid_utf8_in_a_string_field_is_a_decode_error(self) -> None:
        payload = bytearray(proto.frame(proto.Step(b"{}", b"/w", None, "ab", "claude"))[4:])
        payload[payload.index(b"ab")] = 0x80
        with pytest.raises(msgspec.DecodeError, match="UTF-8"):
            proto.decode_request(bytes(payload))

    @pytest.mark.parametrize("message", VALID)
    def test_round_trip(self, message: proto.Request) -> None:
        framed = proto.frame(message)
        assert proto.frame_length(framed[:4]) == len(framed) - 4
        assert proto.decode_request(framed[4:]) == message

    def test_limit(self) -> None:
        assert proto.frame_length(proto.MAX_FRAME.to_bytes(4, "big")) == proto.MAX_FRAME
        with pytest.raises(proto.FrameError, match="exceeds"):
            proto.frame_length((proto.MAX_FRAME + 1).to_bytes(4, "big"))

    @given(st.binary(max_size=200))
    def test_random_payloads_decode_or_raise_decode_error(self, payload: bytes) -> None:
        with contextlib.suppress(msgspec.DecodeError):
            proto.decode_request(payload)

    @given(st.sampled_from(VALID), st.data())
    def test_mutated_and_truncated_frames_decode_or_raise_decode_error(
        self, message: proto.Request, data: st.DataObject
    ) -> None:
        payload = bytearray(proto.frame(message)[4:])
        payload = payload[: data.draw(st.integers(0, len(payload)))]
        for _ in range(data.draw(st.integers(0, 4))):
            if payload:
                payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(
                    st.integers(0, 255)
                )
        try:
            decoded = proto.decode_request(bytes(payload))
        except msgspec.DecodeError:
            return
        assert isinstance(decoded, proto.Step | proto.Status | proto.Ping | proto.Stop)

    @given(
        st.lists(
            st.one_of(st.integers(-(2**63), 2**64 - 1), st.text(), st.binary(), st.none()),
            max_size=7,
        )
    )
    def test_wrong_types_in_every_field(self, fields: list[object]) -> None:
        with contextlib.suppress(msgspec.DecodeError):
            proto.decode_request(msgspec.msgpack.encode(["step", *fields]))


class TestFrameReader:
    @staticmethod
    def reader_over(chunks: list[bytes]) -> FrameReader:
        pending = list(chunks)

        async def receive(max_bytes: int) -> bytes:
            if not pending:
                raise anyio.EndOfStream
            chunk = pending.pop(0)
            assert len(chunk) <= max_bytes
            return chunk

        return FrameReader(receive)

    @pytest.mark.anyio
    async def test_frames_split_and_joined_across_chunks(self) -> None:
        data = proto.frame(proto.Ping()) + proto.frame(proto.Status()) + proto.frame(proto.Stop())
        for cut in range(1, len(data)):
            reader = self.reader_over([data[:cut], data[cut:]])
            got = [proto.decode_request(await reader.next_payload()) for _ in range(3)]
            assert got == [proto.Ping(), proto.Status(), proto.Stop()]
            with pytest.raises(anyio.EndOfStream):
                await reader.next_payload()

    @pytest.mark.anyio
    async def test_oversized_header_fails_before_the_body(self) -> None:
        reader = self.reader_over([(proto.MAX_FRAME + 1).to_bytes(4, "big")])
        with pytest.raises(proto.FrameError):
            await reader.next_payload()

    @pytest.mark.anyio
    async def test_eof_inside_a_frame_is_an_incomplete_read(self) -> None:
        reader = self.reader_over([proto.frame(proto.Ping())[:-1]])
        with pytest.raises(anyio.IncompleteRead):
            await reader.next_payload()
