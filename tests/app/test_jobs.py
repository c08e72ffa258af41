"""Jobs through the real app: the leader's reminder with the pre-reading reaches the meeting chat
once, even with two instances and after a restart; the scenario choice asked in advance; the
focal points' deadline reminders at 30, 14, 7 and 1 days, once each, none after certifying."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

from testing.clock import Clock
from testing.connector import FakeConnector, adaptive_cards
from testing.flows import (
    ADMIN,
    FOCAL,
    OTHER_FOCAL,
    find_posted,
    name_focal_points,
    rows,
    run_to_conclusion,
    start_session,
    vote,
)
from testing.teams import TENANT, BotUnderTest, Chat, card_sid, card_text, data_of, verbs

PREREADING_TITLE = "Participant's pre-reading (Appendix D)"
WANTED = {"reminder_date": "2026-11-23", "reminder_time": "09:00"}


def reminders_posted(connector: FakeConnector, chat: Chat) -> list[dict]:
    """Every message in the chat that carries the pre-reading card."""
    return [
        activity
        for activity in connector.activities(chat.id)
        if any(PREREADING_TITLE in card_text(card) for card in adaptive_cards(activity))
    ]


def told(connector: FakeConnector, user) -> list[str]:
    """The texts of every card the bot sent to this person's personal chat."""
    personal = connector.personal_conversation_id(user.mri, TENANT)
    return [card_text(c) for a in connector.activities(personal) for c in adaptive_cards(a)]


async def _leader_view(bot, leader, chat, agenda_id, sid) -> dict:
    _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    return view


async def test_the_reminder_is_posted_once_with_two_instances_after_a_restart(
    make_settings, connector, people
):
    connector.reset()
    clock = Clock()  # 20 November 2026, 14:00 UTC
    settings = make_settings(JOB_SWEEP_SECONDS="1")
    chat, leader = Chat(), people[0]
    first = await BotUnderTest(settings, connector.url, clock=clock).start()
    try:
        card_id, view = await start_session(first, connector, chat, leader, date="2026-11-25")
        sid = card_sid(view)
        agenda_id, _ = find_posted(connector, chat, "question.log")
        view = await _leader_view(first, leader, chat, agenda_id, sid)
        assert "reminder.schedule" in verbs(view) and "Not scheduled" in card_text(view)
        # A participant can neither schedule nor cancel it, and does not see the controls.
        _, card = await first.execute(
            people[1], chat, agenda_id, "reminder.schedule", {"sid": sid, **WANTED}
        )
        assert "Only the session's discussion leader" in card_text(card)
        assert "reminder.schedule" not in verbs(card)
        _, card = await first.execute(
            leader,
            chat,
            agenda_id,
            "reminder.schedule",
            {"sid": sid, **WANTED, "reminder_date": "2026-11-19"},
        )
        assert "Choose a time in the future" in card_text(card)
        _, card = await first.execute(
            leader,
            chat,
            agenda_id,
            "reminder.schedule",
            {"sid": sid, **WANTED, "reminder_date": "2026-11-26"},
        )
        assert "on or before the day of the session" in card_text(card)
        _, card = await first.execute(
            leader, chat, agenda_id, "reminder.schedule", {"sid": sid, **WANTED}
        )
        assert "Reminder scheduled for November 23, 2026, 09:00 (UTC+00:00)" in card_text(card)
        assert "reminder.cancel" in verbs(card)
        [job] = await rows(first, "jobs")
        assert job["Status"] == "due" and job["CreatedBy"] == leader.aad_id
        # Ids only: no name, no unit, nothing typed.
        assert json.loads(job["Payload"]) == {
            "cycle": 2026,
            "entity": "DESA",
            "session": sid,
            "offset": 0,
        }
        assert leader.name not in json.dumps(job, default=str)
        await asyncio.sleep(1.5)
        assert reminders_posted(connector, chat) == []
    finally:
        await first.stop()
    # Both instances start after the reminder's time; each sweeps every second.
    clock.now = datetime(2026, 11, 23, 9, 1, tzinfo=UTC)
    second = await BotUnderTest(settings, connector.url, clock=clock).start()
    third = await BotUnderTest(settings, connector.url, clock=clock).start()
    try:
        await connector.wait_for(lambda: reminders_posted(connector, chat), timeout=5)
        await asyncio.sleep(2.5)  # several more sweeps on both
        [posted] = reminders_posted(connector, chat)
        assert "our Leadership Dialogue session is on November 25, 2026" in posted["text"]
        card = adaptive_cards(posted)[0]
        assert "Staff Regulation 1.2 (f)" in card_text(card)
        assert "ST/SGB/2019/5, Institutional use of social media" in card_text(card)
        [job] = await rows(second, "jobs")
        assert (job["Status"], job["Attempts"]) == ("done", 1)
        view = await _leader_view(second, leader, chat, agenda_id, sid)
        assert "Posted in this chat" in card_text(view) and "reminder.schedule" not in verbs(view)
        _, card = await third.execute(
            leader,
            chat,
            agenda_id,
            "reminder.schedule",
            {"sid": sid, **WANTED, "reminder_date": "2026-11-24"},
        )
        assert "it goes only once" in card_text(card)
    finally:
        await second.stop()
        await third.stop()


async def test_a_cancelled_reminder_is_never_posted(make_settings, connector, people):
    connector.reset()
    clock = Clock()
    bot = await BotUnderTest(
        make_settings(JOB_SWEEP_SECONDS="1"), connector.url, clock=clock
    ).start()
    chat, leader = Chat(), people[0]
    try:
        _, view = await start_session(bot, connector, chat, leader, date="2026-11-25")
        sid = card_sid(view)
        agenda_id, _ = find_posted(connector, chat, "question.log")
        await bot.execute(leader, chat, agenda_id, "reminder.schedule", {"sid": sid, **WANTED})
        _, card = await bot.execute(people[2], chat, agenda_id, "reminder.cancel", {"sid": sid})
        assert "Only the session's discussion leader" in card_text(card)
        _, card = await bot.execute(leader, chat, agenda_id, "reminder.cancel", {"sid": sid})
        assert "The reminder is cancelled" in card_text(card)
        assert "Not scheduled" in card_text(card)
        assert (await rows(bot, "jobs"))[0]["Status"] == "cancelled"
        clock.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
        await asyncio.sleep(2.5)
        assert reminders_posted(connector, chat) == []
    finally:
        await bot.stop()


async def test_the_group_is_asked_in_advance_and_the_order_comes_from_it(
    timed_bot, connector, clock: Clock, people
):
    bot, chat, leader = timed_bot, Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader, date="2026-11-25")
    sid = card_sid(view)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    # During sign-in, days ahead: a participant may not open it; the leader may.
    _, card = await bot.execute(people[1], chat, agenda_id, "scenarios.poll", {"sid": sid})
    assert "Only the session's discussion leader" in card_text(card)
    view = await _leader_view(bot, leader, chat, agenda_id, sid)
    assert "scenarios.poll" in verbs(view)
    _, card = await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
    assert "The poll is open for everyone in the chat" in card_text(card)
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    # Participants answer over the following days, long past the in-session timeout.
    await vote(bot, people[1], chat, poll_card_id, sid, poll, "2")
    clock.advance(60 * 24)
    await vote(bot, people[2], chat, poll_card_id, sid, poll, "2,0")
    clock.advance(60 * 24)
    await vote(bot, people[3], chat, poll_card_id, sid, poll, "2,1")
    assert (await rows(bot, "polls"))[0]["Status"] == "open"
    # On the day: the leader closes it and takes the group's order.
    clock.advance(60 * 20)
    _, closed = await bot.execute(
        leader, chat, poll_card_id, "poll.close", {"sid": sid, "poll": poll}
    )
    assert "scenarios.from_poll" in verbs(closed)
    _, card = await bot.execute(
        leader, chat, poll_card_id, "scenarios.from_poll", {"sid": sid, "poll": poll}
    )
    stored = next(r for r in await rows(bot, "sessions") if r["RowKey"] == sid)
    assert json.loads(stored["ScenarioOrder"])[0] == "s3"
    for _ in range(2):
        view = await _leader_view(bot, leader, chat, agenda_id, sid)
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    # Once a scenario started, the choice is made: refused to the leader too.
    _, card = await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
    assert "The scenarios have started" in card_text(card)
    assert "scenarios.poll" not in verbs(await _leader_view(bot, leader, chat, agenda_id, sid))


async def test_deadline_reminders_once_at_each_threshold_none_after_certifying(
    make_settings, connector, people
):
    connector.reset()
    clock = Clock()  # 20 November 2026: 41 days to 31 December
    settings = make_settings(JOB_SWEEP_SECONDS="1", ETHICS_ADMIN_IDS=ADMIN.aad_id)
    first = await BotUnderTest(settings, connector.url, clock=clock).start()
    second = await BotUnderTest(settings, connector.url, clock=clock).start()
    try:
        await name_focal_points(first, connector)
        await run_to_conclusion(first, connector, Chat(), people[0], people[1:4])

        async def reach(day: datetime, expected: int) -> None:
            clock.now = day
            await connector.wait_for(lambda: len(told(connector, OTHER_FOCAL)) >= expected)
            await asyncio.sleep(2.2)  # more sweeps on both instances

        await reach(datetime(2026, 12, 1, 8, 5, tzinfo=UTC), 1)
        assert [t for t in told(connector, FOCAL) if "days to the deadline" in t] != []
        # DESA certifies: its focal point hears nothing more; DPO's keeps being reminded.
        personal = Chat(kind="personal", id="a:focal-desa")
        _, certified = await first.execute(
            FOCAL, personal, "1", "focal.certify", {"entity": "DESA"}
        )
        assert "Certified" in card_text(certified)
        await reach(datetime(2026, 12, 17, 9, 0, tzinfo=UTC), 2)
        await reach(datetime(2026, 12, 24, 8, 0, tzinfo=UTC), 3)
        await reach(datetime(2026, 12, 30, 20, 0, tzinfo=UTC), 4)
        clock.now = datetime(2027, 1, 5, tzinfo=UTC)
        await asyncio.sleep(2.2)
        dpo = [t for t in told(connector, OTHER_FOCAL) if "to the deadline" in t]
        assert [re.search(r"(\d+ days?) to the deadline", t).group(1) for t in dpo] == [
            "30 days",
            "14 days",
            "7 days",
            "1 day",
        ]
        assert all("Department of Peace Operations" in t and "December 31, 2026" in t for t in dpo)
        desa = [t for t in told(connector, FOCAL) if "to the deadline" in t]
        assert len(desa) == 1 and "30 days" in desa[0]
        stored = await rows(first, "jobs")
        planned = sorted(
            (p["entity"], p["days"]) for p in (json.loads(r["Payload"]) for r in stored)
        )
        # DESA certified after its first; OICT (no focal point yet) planned, nobody to tell.
        assert planned == [("DESA", 30)] + [
            (code, days) for code in ("DPO", "OICT") for days in (1, 7, 14, 30)
        ]
        assert {r["Status"] for r in stored} == {"done"}
    finally:
        await first.stop()
        await second.stop()
