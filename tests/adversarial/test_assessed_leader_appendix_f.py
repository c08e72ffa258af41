"""The assessed leader tries to single out one participant's Appendix F answer.

The leader may look at the results card as often as they like, before and after each answer.
Nothing they see may change because of one answer: while the assessment is open they learn only
which side of the minimum it is; at its close the results appear once and never change; below
the minimum nothing is ever shown, not even the count. Everything runs through the real app on
a hand-moved clock (the assessment stays open 7 days after the conclusion by default).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from testing.cardcheck import CardLog
from testing.clock import Clock
from testing.connector import CREATE_CONVERSATION, FakeConnector, adaptive_cards
from testing.flows import ADMIN, FOCAL, GOOD_F, name_focal_points, rows, run_to_conclusion
from testing.teams import BotUnderTest, Chat, User, card_text

OPEN_DAYS = 7
SAVED = "your assessment is stored anonymously"
CLOSED = "The assessment of this session is closed"
# Any count of answers, in the wording the results card used to show them.
A_COUNT = re.compile(r"(?<!at least )\b\d+ participants? answered")


def after_days(clock: Clock, days: float) -> None:
    """Let days pass on the app's clock."""
    clock.advance(days * 24 * 60)


async def answer(bot: BotUnderTest, person: User, chat: Chat, card_id: str, keys: dict, **f: str):
    """One participant submits Appendix F; the text of the card they get back."""
    _, card = await bot.execute(person, chat, card_id, "assess.submit", {**keys, **GOOD_F, **f})
    return card_text(card)


async def look(bot: BotUnderTest, leader: User, chat: Chat, card_id: str, keys: dict) -> Any:
    """The leader opens their Appendix F results: the whole card Teams would show them."""
    _, card = await bot.execute(leader, chat, card_id, "assess.results", keys)
    assert card is not None
    return card


@pytest.fixture
async def focal_bot(
    make_settings, connector: FakeConnector, card_log: CardLog, clock: Clock, request
) -> AsyncIterator[BotUnderTest]:
    """The real app on the hand-moved clock, with an Ethics Office admin to name focal points."""
    connector.reset()
    harness = BotUnderTest(make_settings(ETHICS_ADMIN_IDS=ADMIN.aad_id), connector.url, clock=clock)
    await harness.start()
    yield harness
    await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


async def test_while_open_the_leader_learns_only_which_side_of_the_minimum(
    timed_bot, connector, clock, people
):
    bot, chat, leader, room = timed_bot, Chat(), people[0], people[1:7]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)

    none_yet = await look(bot, leader, chat, agenda_id, keys)
    assert "Fewer than 3 participants have answered so far" in card_text(none_yet)
    assert "open until November 27, 2026" in card_text(none_yet)
    looks = [none_yet]
    for person in room[:2]:
        assert SAVED in await answer(bot, person, chat, agenda_id, keys)
        looks.append(await look(bot, leader, chat, agenda_id, keys))
    # One answer, then two: the card is the very same as before any answer.
    assert looks[0] == looks[1] == looks[2]

    assert SAVED in await answer(bot, room[2], chat, agenda_id, keys, f7="Keep the timing")
    reached = await look(bot, leader, chat, agenda_id, keys)
    assert "3 or more participants have answered so far" in card_text(reached)
    for person in room[3:]:
        clock.advance(60)
        assert SAVED in await answer(bot, person, chat, agenda_id, keys, f1="1")
        # Each later answer, however different, leaves the leader's card exactly as it was.
        assert await look(bot, leader, chat, agenda_id, keys) == reached

    for card in [*looks, reached]:
        text = card_text(card)
        assert not A_COUNT.search(text), text
        assert (
            "Average" not in text and "Well prepared" not in text and "Keep the timing" not in text
        )

    # A day before the close it is still open; the personal list leads to the same card.
    after_days(clock, OPEN_DAYS - 1)
    assert await look(bot, leader, chat, agenda_id, keys) == reached


async def test_after_the_close_the_results_appear_once_and_stay_fixed(
    timed_bot, connector, clock, people
):
    bot, chat, leader, room = timed_bot, Chat(), people[0], people[1:7]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    for person in room[:3]:
        await answer(bot, person, chat, agenda_id, keys, f7="More time for scenario 2")
    assert SAVED in await answer(bot, room[3], chat, agenda_id, keys, f1="1")

    after_days(clock, OPEN_DAYS)  # the assessment's time has come: the first look closes it
    released = await look(bot, leader, chat, agenda_id, keys)
    text = card_text(released)
    assert "4 participants answered" in text
    assert "The assessment closed on November 27, 2026: these results are final" in text
    assert "Average 4 out of 5" in text  # f1: 5, 5, 5, 1
    assert text.count("“Well prepared”") == 4 and text.count("“More time for scenario 2”") == 3

    # Too late to answer: the participant is told, and the results do not move.
    late = await answer(bot, room[4], chat, agenda_id, keys, f1="1", f7="Late")
    assert CLOSED in late and SAVED not in late
    _, form = await bot.execute(room[5], chat, agenda_id, "assess.open", keys)
    assert CLOSED in card_text(form)
    assert not [a for a in form.get("actions", []) if a.get("verb") == "assess.submit"]
    _, answered = await bot.execute(room[0], chat, agenda_id, "assess.open", keys)
    assert CLOSED in card_text(answered)
    after_days(clock, 30)
    assert await look(bot, leader, chat, agenda_id, keys) == released

    # Reminders after the close send nothing, and the leader is told why.
    before = len(connector.calls(CREATE_CONVERSATION))
    _, card = await bot.execute(leader, chat, agenda_id, "assess.remind", keys)
    assert "closed: no reminders were sent" in card_text(card)
    assert await bot.say(leader, chat, "remind") == 201
    assert "closed: no reminders were sent" in connector.activities(chat.id)[-1]["text"]
    await bot.flush()
    assert len(connector.calls(CREATE_CONVERSATION)) == before


async def test_closed_below_the_minimum_nothing_is_shown_not_even_the_count(
    timed_bot, connector, clock, people
):
    bot, chat, leader, room = timed_bot, Chat(), people[0], people[1:7]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    for person in room[:2]:
        assert SAVED in await answer(bot, person, chat, agenda_id, keys, f7="Only two of us")
    open_look = await look(bot, leader, chat, agenda_id, keys)

    after_days(clock, OPEN_DAYS + 1)
    closed = await look(bot, leader, chat, agenda_id, keys)
    text = card_text(closed)
    assert "too few answers to show results (fewer than 3)" in text
    assert not A_COUNT.search(text) and "2 participants" not in text
    assert "Average" not in text and "Well prepared" not in text and "Only two" not in text
    assert closed != open_look
    # Nothing of what they wrote is kept to be shown later: only that the assessment closed.
    (aggregate,) = await rows(bot, "assessments")
    assert json.loads(aggregate["Ratings"]) == {}
    assert "Only two" not in json.dumps(aggregate, default=str, ensure_ascii=False)
    late = await answer(bot, room[2], chat, agenda_id, keys)
    assert CLOSED in late
    assert await look(bot, leader, chat, agenda_id, keys) == closed


async def test_a_focal_points_reminder_skips_closed_assessments(
    focal_bot, connector, clock, people
):
    bot = focal_bot
    await name_focal_points(bot, connector)
    chat, leader, room = Chat(), people[0], people[1:5]
    await run_to_conclusion(bot, connector, chat, leader, room)
    await bot.flush()
    after_days(clock, OPEN_DAYS + 1)
    before = len(connector.calls(CREATE_CONVERSATION))
    personal = Chat(kind="personal", id="a:focal-chat-f")
    await bot.say(FOCAL, personal, "progress", mention=False)
    _, card = await bot.execute(FOCAL, personal, "1", "focal.remind", {"entity": "DESA"})
    assert "all closed: no reminders were sent" in card_text(card)
    await bot.flush()
    assert len(connector.calls(CREATE_CONVERSATION)) == before
    # The card offered the verb the focal point clicked.
    progress = [c for a in connector.activities(personal.id) for c in adaptive_cards(a)]
    assert "focal.remind" in json.dumps(progress)
