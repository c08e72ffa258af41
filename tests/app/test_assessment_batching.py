"""Appendix F under load: a room submitting at once, through the real app and real storage.

The app reaches Azurite through the fault proxy (testing/faultproxy.py), so the tests can
count the storage requests a burst costs and fail the aggregate's writes; what is stored is read
straight from Azurite.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from azure.data.tables.aio import TableServiceClient

from testing.azurite import Azurite
from testing.faultproxy import FORWARDED_THEN_FAILED, INJECTED, on
from testing.flows import GOOD_F, run_to_conclusion
from testing.teams import BotUnderTest, Chat, StartBot, User, card_text

SAVED = "your assessment is stored anonymously"
ALREADY = "You have already assessed this session"
NOT_SAVED = "Sorry, that was not saved: storage is not answering"


@pytest.fixture
async def bot(start_proxied: StartBot) -> BotUnderTest:
    """The real app, its storage behind the proxy."""
    return await start_proxied()


def table(bot: BotUnderTest, name: str) -> str:
    """The account-level name of one of the bot's tables."""
    return bot.settings.table_prefix + name


async def aggregate_of(azurite: Azurite, bot: BotUnderTest, sid: str) -> dict[str, Any]:
    """The session's Appendix F rows, read from Azurite itself: the aggregate, and nothing else."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    async with service:
        client = service.get_table_client(table(bot, "assessments"))
        rows = [e async for e in client.query_entities(f"PartitionKey eq '{sid}'")]
    assert [r["RowKey"] for r in rows] == ["aggregate"]
    return rows[0]


def answers_in(aggregate: dict[str, Any]) -> tuple[int, int]:
    """How many people the aggregate lists as folded, and how many f1 ratings it counts."""
    folded = json.loads(aggregate["Folded0"])
    assert len(set(folded)) == len(folded)
    return len(folded), sum(json.loads(aggregate["Ratings"]).get("f1", []))


async def submit_all(
    bots: list[BotUnderTest], chat: Chat, agenda_id: str, keys: dict, people: list[User]
) -> list[str]:
    """Everyone clicks Submit at the same moment (spread over the apps); the texts they see."""
    clicks = [
        bots[n % len(bots)].execute(person, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
        for n, person in enumerate(people)
    ]
    return [card_text(card) for _, card in await asyncio.gather(*clicks)]


async def test_a_room_of_25_submitting_at_once_is_stored_exactly_and_cheaply(
    bot, proxy, azurite, connector, people
):
    chat, leader, room = Chat(), people[0], people[1:26]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    await bot.flush()
    proxy.clear_log()
    # Three people also click twice, at the same moment as everyone else.
    texts = await submit_all([bot], chat, agenda_id, keys, [*room, *room[:3]])
    assert sum(SAVED in t for t in texts) == 25, texts
    assert sum(ALREADY in t for t in texts) == 3
    for person in room[:3]:
        own = [t for t, p in zip(texts, [*room, *room[:3]], strict=True) if p == person]
        assert sorted(SAVED in t for t in own) == [False, True]
    assert answers_in(await aggregate_of(azurite, bot, sid)) == (25, 25)

    # The sign-in check reads the sheet once or twice for the whole room, not each person's
    # row; the answers share reads and writes.
    attendance = proxy.requests(on(table=table(bot, "attendance")))
    assert 1 <= len(attendance) <= 3, f"{len(attendance)} sheet reads for 28 clicks"
    assert all(e.method == "GET" and not e.is_entity for e in attendance)
    assessments = proxy.requests(on(table=table(bot, "assessments")))
    # Alone, each answer would cost at least a read and a write (56); together far fewer.
    assert len(assessments) < 42, f"{len(assessments)} requests for 28 clicks"
    assert not [e for e in assessments if e.status == 412]

    # Later, a second answer is refused and not counted; the form says so when reopened.
    _, card = await bot.execute(room[5], chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert ALREADY in card_text(card)
    _, card = await bot.execute(room[5], chat, agenda_id, "assess.open", keys)
    assert ALREADY in card_text(card)
    _, results = await bot.execute(leader, chat, agenda_id, "assess.results", keys)
    # Open for days yet: the leader learns only that the minimum is reached.
    assert "3 or more participants have answered so far" in card_text(results)
    assert answers_in(await aggregate_of(azurite, bot, sid)) == (25, 25)


async def test_a_failed_write_tells_every_submitter_and_they_can_submit_again(
    bot, proxy, azurite, connector, people
):
    chat, leader, room = Chat(), people[0], people[1:26]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    # Every write of the aggregate fails past the client's retries; reads still work.
    writes = on("PUT", table(bot, "assessments"))
    proxy.fail_next(writes, 503, count=10_000)
    texts = await submit_all([bot], chat, agenda_id, keys, room)
    assert all(NOT_SAVED in t for t in texts), [t for t in texts if NOT_SAVED not in t]
    assert {e.outcome for e in proxy.requests(writes)} == {INJECTED}
    assert answers_in(await aggregate_of(azurite, bot, sid)) == (0, 0)
    # Nobody counts as having answered: the form is open to them again.
    _, card = await bot.execute(room[0], chat, agenda_id, "assess.open", keys)
    assert ALREADY not in card_text(card)

    proxy.clear_faults()
    texts = await submit_all([bot], chat, agenda_id, keys, room)
    assert all(SAVED in t for t in texts), [t for t in texts if SAVED not in t]
    assert answers_in(await aggregate_of(azurite, bot, sid)) == (25, 25)


async def test_a_lost_answer_on_the_aggregate_write_counts_the_group_once(
    bot, proxy, azurite, connector, people
):
    chat, leader, room = Chat(), people[0], people[1:6]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    # The write lands, its answer is lost; the client's retry then meets 412 on our own write.
    writes = on("PUT", table(bot, "assessments"))
    proxy.forward_then_fail(writes, 503)
    texts = await submit_all([bot], chat, agenda_id, keys, room)
    assert FORWARDED_THEN_FAILED in {e.outcome for e in proxy.requests(writes)}
    assert all(SAVED in t for t in texts), texts
    assert answers_in(await aggregate_of(azurite, bot, sid)) == (5, 5)


async def test_two_app_instances_sharing_the_tables_count_every_answer_once(
    start_proxied, proxy, azurite, connector, people
):
    first, second = await start_proxied(), await start_proxied()
    chat, leader, room = Chat(), people[0], people[1:26]
    sid, agenda_id, keys = await run_to_conclusion(first, connector, chat, leader, room)
    # Everyone answers through either instance; the first ten also click again on the other.
    clicks = [*room, *room[:10]]
    texts = await submit_all([first, second], chat, agenda_id, keys, clicks)
    assert sum(SAVED in t for t in texts) >= 25, texts
    assert all(SAVED in t or ALREADY in t for t in texts), texts
    for person in room[10:]:
        assert SAVED in texts[clicks.index(person)]
    assert answers_in(await aggregate_of(azurite, first, sid)) == (25, 25)
    _, card = await second.execute(room[0], chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert ALREADY in card_text(card)
