"""Writer lanes, in-process: order per lane, errors carried back, every job answered."""

from __future__ import annotations

import threading

import anyio
import pytest

from streamd.daemon._lanes import Lanes


class TestLanes:
    @pytest.mark.anyio
    async def test_a_key_always_maps_to_the_same_lane(self) -> None:
        lanes: Lanes[str, str] = Lanes(lambda lane, item: item, 4)
        async with lanes:
            assert {lanes.lane_for("/w/.dos/streams/s.jsonl") for _ in range(10)} == {
                lanes.lane_for("/w/.dos/streams/s.jsonl")
            }
            assert {lanes.lane_for(f"k{i}") for i in range(200)} == {0, 1, 2, 3}

    @pytest.mark.anyio
    async def test_one_lanes_jobs_run_in_submission_order_on_its_thread(self) -> None:
        seen: list[tuple[int, int, str]] = []

        def apply(lane: int, item: int) -> int:
            seen.append((lane, item, threading.current_thread().name))
            return item * 2

        async with Lanes(apply, 2) as lanes:
            results: dict[int, int] = {}

            async def submit(i: int) -> None:
                results[i] = await lanes.submit(1, i)

            async with anyio.create_task_group() as tg:
                for i in range(50):
                    tg.start_soon(submit, i)
                    await anyio.sleep(0)
        assert results == {i: i * 2 for i in range(50)}
        assert [item for _, item, _ in seen] == list(range(50))
        assert {(lane, name) for lane, _, name in seen} == {(1, "streamd-lane-1")}

    @pytest.mark.anyio
    async def test_an_error_is_raised_in_the_submitter_and_the_lane_goes_on(self) -> None:
        def apply(lane: int, item: int) -> int:
            if item == 1:
                raise OSError("disk full")
            return item

        async with Lanes(apply, 1) as lanes:
            assert await lanes.submit(0, 0) == 0
            with pytest.raises(OSError, match="disk full"):
                await lanes.submit(0, 1)
            assert await lanes.submit(0, 2) == 2

    @pytest.mark.anyio
    async def test_jobs_queued_before_exit_still_run(self) -> None:
        ran: list[int] = []
        gate = threading.Event()

        def apply(lane: int, item: int) -> int:
            gate.wait(10)
            ran.append(item)
            return item

        lanes: Lanes[int, int] = Lanes(apply, 1)
        async with lanes, anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(lanes.submit, 0, i)
            await anyio.sleep(0)
            gate.set()
        assert ran == [0, 1, 2, 3, 4]
