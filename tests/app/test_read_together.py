"""Reads shared by the clicks that arrive together: never older than the caller, never lost."""

from __future__ import annotations

import asyncio

import pytest

from storage.batches import ReadTogether


class Stored:
    """A stored value whose reads are counted and may be held in flight."""

    def __init__(self) -> None:
        self.value = "open"
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def load(self) -> str:
        self.reads += 1
        value = self.value  # what the read sees is fixed when it begins
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("storage down")
        return value


async def test_callers_arriving_together_share_a_read_and_those_during_it_the_next():
    stored, reads = Stored(), ReadTogether()
    stored.gate.clear()
    first = [asyncio.create_task(reads.read("sheet", stored.load)) for _ in range(5)]
    await started(stored, 1)
    # Twenty more arrive while that read is in flight: they wait for one read of their own.
    later = [asyncio.create_task(reads.read("sheet", stored.load)) for _ in range(20)]
    await asyncio.sleep(0)
    stored.gate.set()
    assert await asyncio.gather(*first, *later) == ["open"] * 25
    assert stored.reads == 2


async def started(stored: Stored, reads: int) -> None:
    """Wait until that many reads have begun."""
    for _ in range(100):
        if stored.reads >= reads:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{stored.reads} reads began, not {reads}")


async def test_a_caller_arriving_after_a_change_never_gets_a_read_begun_before_it():
    stored, reads = Stored(), ReadTogether()
    stored.gate.clear()
    early = asyncio.create_task(reads.read("session", stored.load))
    await started(stored, 1)  # in flight, it has seen "open"
    stored.value = "closed"  # the leader's close is stored
    late = asyncio.create_task(reads.read("session", stored.load))
    also_late = asyncio.create_task(reads.read("session", stored.load))
    await asyncio.sleep(0)
    stored.gate.set()
    assert await early == "open"
    assert await late == "closed" and await also_late == "closed"
    assert stored.reads == 2


async def test_different_keys_are_read_apart():
    stored, reads = Stored(), ReadTogether()
    other = Stored()
    other.value = "other"
    first, second = await asyncio.gather(reads.read("a", stored.load), reads.read("b", other.load))
    assert (first, second) == ("open", "other") and stored.reads == other.reads == 1


async def test_a_failed_read_reaches_each_of_its_callers_and_the_next_read_is_fresh():
    stored, reads = Stored(), ReadTogether()
    stored.fail = True
    outcomes = await asyncio.gather(
        *(reads.read("sheet", stored.load) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    stored.fail = False
    assert await reads.read("sheet", stored.load) == "open"


async def test_a_caller_that_goes_away_does_not_cancel_the_others():
    stored, reads = Stored(), ReadTogether()
    stored.gate.clear()
    first = asyncio.create_task(reads.read("sheet", stored.load))
    await started(stored, 1)
    waiting = [asyncio.create_task(reads.read("sheet", stored.load)) for _ in range(3)]
    await asyncio.sleep(0)
    waiting[0].cancel()
    first.cancel()
    stored.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await waiting[1] == "open" and await waiting[2] == "open"


async def test_a_stuck_read_holds_the_next_callers_back_only_for_the_overlap():
    stuck, reads = Stored(), ReadTogether(overlap=0.05)
    stuck.gate.clear()  # storage stops answering the first read
    first = asyncio.create_task(reads.read("sheet", stuck.load))
    await started(stuck, 1)
    fresh = Stored()
    fresh.value = "closed"
    # Those asking meanwhile get a read of their own once the overlap has passed.
    later = await asyncio.wait_for(
        asyncio.gather(*(reads.read("sheet", fresh.load) for _ in range(3))), timeout=2
    )
    assert later == ["closed"] * 3 and fresh.reads == 1
    assert not first.done()
    stuck.gate.set()
    assert await first == "open"
