"""The bot's own messages stay under Teams' 7-per-second limit in each conversation."""

from __future__ import annotations

import asyncio
import time
import uuid

from bot.app import utc_now
from bot.teams.pacing import ChatPacer, Fleet
from storage.tables import TableStore
from testing.connector import WRITE_KINDS
from testing.flows import start_session
from testing.teams import Chat, card_sid


def busiest(times: list[float], window: float) -> int:
    """Most of these instants that fall within any `window`-second span."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)))


async def test_pacer_spaces_one_conversation_without_delaying_another():
    pacer = ChatPacer(per_window=3, window=0.3)
    granted: dict[str, list[float]] = {"busy": [], "quiet": []}

    async def send(conversation: str) -> None:
        await pacer.slot(conversation)
        granted[conversation].append(time.monotonic())

    began = time.monotonic()
    await asyncio.gather(*(send("busy") for _ in range(10)), *(send("quiet") for _ in range(2)))
    # Ten messages at three per 0.3 s: never more than three in a window, all sent in ~0.9 s.
    assert len(granted["busy"]) == 10
    assert busiest(granted["busy"], 0.29) <= 3
    assert max(granted["busy"]) - began >= 0.85
    # Another chat's messages are not queued behind the busy one.
    assert max(granted["quiet"]) - began < 0.1


async def test_pacer_keeps_the_whole_app_under_its_own_limit_across_conversations():
    pacer = ChatPacer(per_window=3, window=0.3, app_per_window=5, app_window=0.3)
    granted: list[float] = []

    async def send(conversation: str) -> None:
        await pacer.slot(conversation)
        granted.append(time.monotonic())

    began = time.monotonic()
    # Four chats, three messages each: each chat is within its own limit, the app is not.
    await asyncio.gather(*(send(f"chat-{n % 4}") for n in range(12)))
    assert len(granted) == 12
    assert busiest(granted, 0.29) <= 5
    assert max(granted) - began >= 0.55


async def test_a_burst_of_clicks_and_leader_steps_never_exceeds_seven_writes_a_second(
    bot, connector, people
):
    chat = Chat()
    leader, participants = people[0], people[1:26]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    # 25 people sign in at the same instant while the leader (impatient, on a slow line)
    # re-posts the sheet and the plan several times: new cards and updates in the same second.
    clicks = [bot.execute(p, chat, card_id, "signin", {"sid": sid}) for p in participants]
    steps = [bot.say(leader, chat, word) for word in ("sheet", "agenda") * 5]
    results = await asyncio.gather(*clicks, *steps)
    assert all(status == 200 for status, _ in results[: len(clicks)])
    await bot.flush()
    await asyncio.sleep(1.2)
    await bot.flush()
    writes = [
        op.at
        for op in connector.operations
        if op.conversation_id == chat.id and op.kind in WRITE_KINDS
    ]
    assert len(writes) >= 4, "the sheet and plan were re-posted and updated"
    assert busiest(writes, 1.0) <= 7


async def test_replies_and_updates_reuse_their_connections_to_the_connector(bot, connector, people):
    chat = Chat()
    leader = people[0]
    await start_session(bot, connector, chat, leader)
    for word in ("sheet", "agenda") * 6:
        assert await bot.say(leader, chat, word) == 201
    await bot.flush()
    writes = [op for op in connector.operations if op.conversation_id == chat.id]
    assert len(writes) >= 13, "each command re-posted its card"
    # One kept client per destination: a handful of pooled connections, not one per turn.
    assert len({op.peer for op in writes}) <= 4, {op.peer for op in writes}


async def test_instances_on_one_storage_split_the_app_pace_and_outlive_one_that_dies(azurite):
    # Teams counts the per-app and per-chat limits for the app, whatever instance sends: two
    # instances each take half, and when one dies the other takes the whole pace back.
    store = TableStore(azurite.connection_string, "p" + uuid.uuid4().hex[:10])
    await store.open()
    try:
        first = Fleet(store.instances, utc_now, beat=0.1, lease=0.5)
        await first.join()
        assert first.shares() == 1 and first.ready_at == 0.0
        second = Fleet(store.instances, utc_now, beat=0.1, lease=0.5)
        await second.join()
        # The newcomer counts both and waits until the first has counted it too.
        assert second.shares() == 2 and second.ready_at > time.monotonic()
        await first.beat()
        assert first.shares() == 2

        pacers = [ChatPacer(per_window=4, window=0.3, fleet=f) for f in (first, second)]
        await asyncio.sleep(max(0.0, second.ready_at - time.monotonic()))
        granted: list[float] = []

        async def send(pacer: ChatPacer) -> None:
            await pacer.slot("one chat")
            granted.append(time.monotonic())

        await asyncio.gather(*(send(p) for p in pacers for _ in range(8)))
        # Sixteen messages to one chat from two instances: 4 per 0.3 s between them, never 8.
        assert len(granted) == 16
        assert busiest(granted, 0.29) <= 4

        # The second dies mid-burst (no clean leave): its lease runs out, the first takes it all.
        await asyncio.sleep(0.6)
        await first.beat()
        assert first.shares() == 1
        # A clean stop gives the share back at once.
        await second.join()
        await first.beat()
        assert first.shares() == 2
        await second.leave()
        await first.beat()
        assert first.shares() == 1
    finally:
        await store.close()
