"""An Ethics Office administrator tries to read one session's (one leader's) Appendix F, or a
participant's name, out of the office's Appendix C and F reads.

The office reads Appendix F only by entity, from five sessions with released results, and the
figures grow five sessions at a time: looking before and after one more session is released
shows the same card and the same file. Suggestions come masked; the facilitator's own comments
never reach the office; whatever the card's data says, the figures are the entity's. Everything
runs through the real app on a hand-moved clock (assessments close 7 days after the conclusion).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import pytest

from testing.cardcheck import CardLog
from testing.clock import Clock
from testing.connector import FakeConnector
from testing.flows import ADMIN, GOOD_F, run_to_conclusion, urls
from testing.teams import BotUnderTest, Chat, User, card_text

DAY = 24 * 60
ADMIN_CHAT = Chat(kind="personal", id="a:admin-f")


@pytest.fixture
async def office_bot(
    make_settings, connector: FakeConnector, card_log: CardLog, clock: Clock, request
) -> AsyncIterator[BotUnderTest]:
    """The real app on the hand-moved clock, with an Ethics Office admin."""
    connector.reset()
    harness = BotUnderTest(make_settings(ETHICS_ADMIN_IDS=ADMIN.aad_id), connector.url, clock=clock)
    await harness.start()
    yield harness
    await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


async def assessed_session(bot, connector, clock, people: list[User], n: int) -> None:
    """A DESA session whose three participants assess it (one names a colleague); a day later."""
    chat, leader, room = Chat(), people[0], people[1 + 3 * (n % 3) : 4 + 3 * (n % 3)]
    _, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    for m, person in enumerate(room):
        mark = str(1 + (n + m) % 5)
        answers = {**GOOD_F, "f1": mark, "f8": f"Session {n}: {room[0].name} wants more video"}
        _, card = await bot.execute(person, chat, agenda_id, "assess.submit", {**keys, **answers})
        assert "your assessment is stored anonymously" in card_text(card)
    clock.advance(DAY)


async def release(clock: Clock) -> None:
    """Let every assessment so far reach its close."""
    clock.advance(8 * DAY)


async def look(bot: BotUnderTest, data: dict | None = None) -> dict:
    """The admin opens Appendix F by entity."""
    _, card = await bot.execute(ADMIN, ADMIN_CHAT, "1", "admin.assessments", data or {})
    assert card is not None
    return card


async def files(bot: BotUnderTest, card: dict) -> list[bytes]:
    """The CSV and Excel files the card links to."""
    out = []
    async with aiohttp.ClientSession() as http:
        for url in urls(card):
            async with http.get(bot.url + urlsplit(url).path) as response:
                assert response.status == 200
                out.append(await response.read())
    return out


def figures(card: dict) -> str:
    """What the card shows of the entities (not its links, which are fresh on every look)."""
    return card_text(card)


async def test_fewer_than_five_released_sessions_show_nothing(office_bot, connector, clock, people):
    bot = office_bot
    for n in range(4):
        await assessed_session(bot, connector, clock, people, n)
    await release(clock)
    # A fifth session, still open: no result yet.
    await assessed_session(bot, connector, clock, people, 4)
    card = await look(bot)
    text = card_text(card)
    assert "Department of Economic and Social Affairs: fewer than 5 sessions with results" in text
    assert "average" not in text and "wants more video" not in text
    csv_body, _ = await files(bot, card)
    decoded = csv_body.decode("utf-8-sig")
    assert "fewer than 5 sessions with results" in decoded and "wants more video" not in decoded
    # Forged data asking for one session or a smaller minimum changes nothing.
    for forged in ({"sid": "x", "entity": "DESA"}, {"minimum": 1}, {"kind": "session"}):
        assert figures(await look(bot, forged)) == figures(card)


async def test_one_more_session_released_changes_nothing_the_admin_sees(
    office_bot, connector, clock, people
):
    bot = office_bot
    for n in range(5):
        await assessed_session(bot, connector, clock, people, n)
    await release(clock)
    five = await look(bot)
    text = card_text(five)
    assert "Department of Economic and Social Affairs: 5 sessions with results, 15 answers" in text
    assert "1. The facilitator was well prepared" in text and "average" in text
    assert "8. What suggestions do you have" in text
    # The suggestions, masked; the facilitator's own comments (GOOD_F's f6) are not the office's.
    assert "wants more video" in text and "Well prepared”" not in text
    assert not any(p.name in text for p in people)
    five_files = await files(bot, five)

    # A sixth session is released: its marks alone would be the difference. Nothing moves.
    await assessed_session(bot, connector, clock, people, 5)
    await release(clock)
    six = await look(bot)
    assert figures(six) == figures(five)
    assert await files(bot, six) == five_files

    # Four more make ten: the figures move by five sessions at once.
    for n in range(6, 10):
        await assessed_session(bot, connector, clock, people, n)
    await release(clock)
    ten = card_text(await look(bot))
    assert "10 sessions with results, 30 answers" in ten
    assert not any(p.name in ten for p in people)
    assert "\\[name\\] wants more video" in ten
