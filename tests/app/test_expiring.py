"""The few-second caches (entities, the cycle): one read for many callers, never a stale keep."""

from __future__ import annotations

import asyncio

from dialogs.common import Expiring


class Source:
    """Counts reads; each read may be held until released."""

    def __init__(self) -> None:
        self.reads = 0
        self.value = "v1"
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.fail = False

    async def load(self) -> str:
        self.reads += 1
        value = self.value
        self.started.set()
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("storage down")
        return value


async def test_many_callers_at_expiry_share_one_read():
    source = Source()
    cache = Expiring(source.load, seconds=60)
    source.gate.clear()
    waiting = [asyncio.ensure_future(cache.get()) for _ in range(250)]
    await asyncio.sleep(0)
    source.gate.set()
    assert set(await asyncio.gather(*waiting)) == {"v1"}
    assert source.reads == 1
    assert await cache.get() == "v1" and source.reads == 1


async def test_a_change_during_a_read_is_not_hidden_by_the_old_value():
    source = Source()
    cache = Expiring(source.load, seconds=60)
    source.gate.clear()
    early = asyncio.ensure_future(cache.get())
    await source.started.wait()
    source.value = "v2"  # an admin renames an entity while the old list is being read
    cache.forget()
    source.gate.set()
    assert await early == "v1"
    assert await cache.get() == "v2"


async def test_a_failed_read_reaches_every_caller_and_the_next_one_tries_again():
    source = Source()
    cache = Expiring(source.load, seconds=60)
    source.fail = True
    results = await asyncio.gather(cache.get(), cache.get(), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    source.fail = False
    assert await cache.get() == "v1"
    assert source.reads == 2
