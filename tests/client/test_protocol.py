"""The msgspec messages: round trips, and any bytes decode or raise ``DecodeError``."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamd.client import protocol as proto

VALID = [
    proto.StepRequest(b'{"a": 1}', b"/w", b"/ws", "run", "claude"),
    proto.Status(),
    proto.Ping(),
    proto.Stop(),
]


class TestMessages:
    def test_invalid_utf8_in_a_string_field_is_a_decode_error(self) -> None:
        payload = bytearray(proto.frame(proto.StepRequest(b"{}", b"/w", None, "ab", "claude"))[4:])
        payload[payload.index(b"ab")] = 0x80
        with pytest.raises(msgspec.DecodeError, match="UTF-8"):
            proto.decode_request(bytes(payload))

    @pytest.mark.parametrize("message", VALID)
    def test_round_trip(self, message: proto.Request) -> None:
        framed = proto.frame(message)
        assert proto.frame_length(framed[:4]) == len(framed) - 4
        assert proto.decode_request(framed[4:]) == message

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
        assert isinstance(decoded, proto.StepRequest | proto.Status | proto.Ping | proto.Stop)

    @given(
        st.lists(
            st.one_of(st.integers(-(2**63), 2**64 - 1), st.text(), st.binary(), st.none()),
            max_size=7,
        )
    )
    def test_wrong_types_in_every_field(self, fields: list[object]) -> None:
        with contextlib.suppress(msgspec.DecodeError):
            proto.decode_request(msgspec.msgpack.encode(["step", *fields]))
