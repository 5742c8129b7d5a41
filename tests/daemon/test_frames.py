"""Reading frames off a connection, in chunks, within the read budget."""

from __future__ import annotations

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from streamd.client import protocol as proto
from streamd.daemon._frames import ByteBudget, FrameReader


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


class TestBudget:
    @pytest.mark.anyio
    async def test_a_frame_reads_no_more_than_a_small_first_read_before_its_budget(
        self,
    ) -> None:
        """With the budget spent elsewhere, a reader of a 250 KiB frame has taken at most
        its first small read off the socket: the rest stays with the sender, not in the
        daemon's memory."""
        budget = ByteBudget(1024 * 1024)
        await budget.acquire(1024 * 1024)  # held by frames in flight elsewhere
        frame = (250 * 1024).to_bytes(4, "big") + b"x" * (250 * 1024)
        taken: list[int] = []

        async def receive(max_bytes: int) -> bytes:
            chunk = frame[sum(taken) : sum(taken) + max_bytes]
            taken.append(len(chunk))
            return chunk

        reader = FrameReader(receive, budget)
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader.next_payload)
            await wait_all_tasks_blocked()
            assert sum(taken) <= FrameReader.FIRST
            await budget.release(1024 * 1024)
        assert sum(taken) == len(frame) and reader.held == 250 * 1024 + 4
