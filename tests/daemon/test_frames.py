"""Reading frames off a connection, in chunks, within the read budget."""

from __future__ import annotations

import anyio
import pytest

from streamd.client import protocol as proto
from streamd.daemon._frames import FrameReader


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
        with pytest.raises(proto.FrameTooLarge):
            await reader.next_payload()

    @pytest.mark.anyio
    async def test_eof_inside_a_frame_is_an_incomplete_read(self) -> None:
        reader = self.reader_over([proto.frame(proto.Ping())[:-1]])
        with pytest.raises(anyio.IncompleteRead):
            await reader.next_payload()
