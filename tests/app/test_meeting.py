"""A Teams meeting drives the session: details, start and end events, in-meeting nudges.

Through the real app and adapter, against Azurite and the Bot Connector stand-in, which answers
the meeting APIs with Teams' payloads and errors (403 without RSC consent, 404 outside a
meeting) and takes targeted in-meeting notifications.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from testing.connector import (
    GET_MEETING,
    GET_PARTICIPANT,
    MEETING_NOTIFICATION,
    adaptive_cards,
)
from testing.flows import GOOD_F, find_posted, last_card_message, posted_cards, rows, start_session
from testing.teams import (
    TENANT,
    Chat,
    User,
    card_sid,
    card_text,
    data_of,
    elements,
    inputs,
    meeting_details,
    meeting_event,
    meeting_participant,
    verbs,
)

START = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
TITLE = "Leadership Dialogue, Budget Section"


def meeting_chat(connector, organizer: User, members: list[User]) -> Chat:
    """A scheduled meeting's chat, known to the connector with its details and roster."""
    chat = Chat.meeting()
    assert chat.meeting_id
    connector.set_meeting(
        chat.meeting_id,
        meeting_details(chat, organizer, TITLE, START, START + timedelta(minutes=90)),
    )
    connector.set_members(chat.id, [m.member() for m in members])
    for member in members:
        connector.set_meeting_participant(
            chat.meeting_id, member.aad_id, meeting_participant(chat, member)
        )
    return chat


async def setup_card(bot, connector, chat: Chat, leader: User) -> dict:
    assert await bot.say(leader, chat, "start") == 201
    return last_card_message(connector, chat)[1]


def unit_placeholder(card: dict) -> str:
    return next(n["placeholder"] for n in elements(card) if n.get("id") == "unit")


def sheet_and_plan_posts(connector, chat: Chat) -> tuple[int, int]:
    """How many sign-in sheets and session plans the bot posted in the chat."""
    cards = [card for _, card in posted_cards(connector, chat)]
    sheets = sum("signin" in verbs(c) for c in cards)
    plans = sum("question.log" in verbs(c) for c in cards)
    return sheets, plans


def leader_cards(connector, leader: User) -> list[dict]:
    """Cards the bot sent to the leader's personal chat."""
    personal = connector.personal_conversation_id(leader.mri, TENANT)
    return [c for a in connector.activities(personal) for c in adaptive_cards(a)]


# Meeting details on the setup card ------------------------------------------------------------


async def test_setup_card_is_prefilled_from_the_meeting(bot, connector, people):
    leader, organizer = people[0], people[5]
    chat = meeting_chat(connector, organizer, people[:6])
    card = await setup_card(bot, connector, chat, leader)
    text = card_text(card)
    assert inputs(card)["date"] == "2026-12-10"
    assert f"Meeting: {TITLE}" in text
    assert "14:00–15:30" in text
    # The title is a hint for the unit, never a value submitted unread.
    assert unit_placeholder(card) == TITLE and inputs(card)["unit"] is None
    # The organizer is the expected leader: a line, not a refusal.
    assert f"The meeting's organizer, {organizer.name}, is expected to lead" in text, text
    assert [op.member_id for op in connector.calls(GET_MEETING)] == [chat.meeting_id]
    asked = connector.calls(GET_PARTICIPANT)
    assert [op.member_id for op in asked] == [organizer.aad_id]
    assert asked[0].query["tenantId"] == TENANT


async def test_the_organizer_typing_start_reads_that_they_lead(bot, connector, people):
    leader = people[0]
    chat = meeting_chat(connector, leader, people[:4])
    text = card_text(await setup_card(bot, connector, chat, leader))
    assert "You organized this meeting" in text
    # Nothing more to ask Teams: the organizer is the person typing.
    assert connector.calls(GET_PARTICIPANT) == []


async def test_403_and_404_leave_todays_setup_card(bot, connector, people):
    leader = people[0]
    plain = await setup_card(bot, connector, Chat(), leader)
    assert connector.calls(GET_MEETING) == []  # a plain group chat asks nothing

    forbidden = meeting_chat(connector, people[5], people[:6])
    assert forbidden.meeting_id
    connector.forbid_meeting(forbidden.meeting_id)
    assert await setup_card(bot, connector, forbidden, leader) == plain
    assert [op.status for op in connector.failures if op.kind == GET_MEETING] == [403]

    unknown = Chat.meeting()  # Teams answers 404: no such meeting (expired, or not one)
    assert await setup_card(bot, connector, unknown, leader) == plain
    assert [op.status for op in connector.failures if op.kind == GET_MEETING] == [403, 404]
    assert connector.errors == []


# Meeting start ------------------------------------------------------------------------------


async def test_meeting_start_posts_a_preplanned_sessions_sheet_and_plan_once(
    bot, connector, people
):
    leader = people[0]
    chat = meeting_chat(connector, leader, people[:5])
    card_id, view = await start_session(bot, connector, chat, leader)
    assert sheet_and_plan_posts(connector, chat) == (0, 1)  # the setup card became the sheet
    started = datetime.now(UTC) + timedelta(seconds=1)
    event = meeting_event("start", chat, started, TITLE)
    # Teams may send the event twice (two ids): the second changes nothing.
    assert (await bot.post(bot.activity(leader, chat, **event)))[0] in (200, 201)
    assert (await bot.post(bot.activity(leader, chat, **event)))[0] in (200, 201)
    await bot.flush()
    assert sheet_and_plan_posts(connector, chat) == (1, 2)
    # Later updates go to the new cards at the bottom of the chat.
    new_sheet, _ = find_posted(connector, chat, "signin")
    session = (await rows(bot, "sessions"))[0]
    assert session["CardId"] == new_sheet != card_id
    assert session["AgendaCardId"] == find_posted(connector, chat, "question.log")[0]
    sid = card_sid(view)
    status, card = await bot.execute(people[1], chat, new_sheet, "signin", {"sid": sid})
    assert status == 200 and f"You are signed in as {people[1].name}" in card_text(card)


async def test_meeting_start_posts_nothing_without_a_preplanned_session(bot, connector, people):
    leader = people[0]
    chat = meeting_chat(connector, leader, people[:5])
    early = datetime.now(UTC) - timedelta(minutes=5)
    # No session in the chat: the event is ignored.
    await bot.post(bot.activity(leader, chat, **meeting_event("start", chat, early)))
    assert posted_cards(connector, chat) == []
    # Set up once the meeting was running: its cards are fresh, nothing is posted again.
    await start_session(bot, connector, chat, leader)
    before = sheet_and_plan_posts(connector, chat)
    await bot.post(bot.activity(leader, chat, **meeting_event("start", chat, early)))
    await bot.flush()
    assert sheet_and_plan_posts(connector, chat) == before


async def test_sign_in_nudges_reach_exactly_those_not_signed_in_batched(bot, connector, people):
    leader = people[0]
    # A large meeting: 60 colleagues besides the leader, so two batches of recipients.
    crowd = [User.make(f"Colleague {n}", 900 + n) for n in range(60)]
    chat = meeting_chat(connector, leader, [leader, *crowd])
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    signed = crowd[:3]
    for person in signed:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    event = meeting_event("start", chat, datetime.now(UTC) + timedelta(seconds=1))
    await bot.post(bot.activity(leader, chat, **event))
    await bot.post(bot.activity(leader, chat, **event))
    sent = connector.notifications(chat.meeting_id)
    assert len(sent) == 2 and all(len(op.body["value"]["recipients"]) <= 50 for op in sent)
    recipients = [r for op in sent for r in op.body["value"]["recipients"]]
    # Never the leader, never someone who signed in, nobody twice.
    assert sorted(recipients) == sorted(p.mri for p in crowd[3:])
    surface = sent[0].body["value"]["surfaces"][0]
    assert surface["surface"] == "meetingStage" and surface["contentType"] == "task"
    page = surface["content"]["value"]["url"]
    assert "/meeting/bubble/signin?" in page
    # The bubble's page opens the sheet; it names nobody.
    async with bot._session.get(bot.url + page[page.index("/meeting/") :]) as response:  # type: ignore[union-attr]
        html = await response.text()
    assert response.status == 200 and "Open the sign-in sheet" in html
    assert not any(p.name in html for p in crowd)


async def test_nudges_fall_back_to_the_chat_card_when_teams_answers_403(bot, connector, people):
    leader = people[0]
    chat = meeting_chat(connector, leader, people[:6])
    await start_session(bot, connector, chat, leader)
    assert chat.meeting_id
    connector.forbid_meeting(chat.meeting_id)
    event = meeting_event("start", chat, datetime.now(UTC) + timedelta(seconds=1))
    status, _ = await bot.post(bot.activity(leader, chat, **event))
    await bot.flush()
    assert status in (200, 201)
    assert connector.notifications() == []
    assert [op.status for op in connector.failures if op.kind == MEETING_NOTIFICATION] == [403]
    # Today's behaviour: the sheet in the meeting chat, posted at the start as planned.
    assert sheet_and_plan_posts(connector, chat) == (1, 2)


# Meeting end -------------------------------------------------------------------------------


async def test_meeting_end_asks_the_leader_once_and_closes_sign_in_from_personal_chat(
    bot, connector, people
):
    leader = people[0]
    chat = meeting_chat(connector, leader, people[:4])
    card_id, view = await start_session(bot, connector, chat, leader)
    await bot.execute(people[1], chat, card_id, "signin", {"sid": card_sid(view)})
    end = meeting_event("end", chat, datetime.now(UTC))
    await bot.post(bot.activity(leader, chat, **end))
    await bot.post(bot.activity(leader, chat, **end))
    await bot.flush()
    prompts = [c for c in leader_cards(connector, leader) if "meeting.close_signin" in verbs(c)]
    assert len(prompts) == 1
    assert "Sign-in is still open" in card_text(prompts[0])
    keys = data_of(prompts[0], "meeting.close_signin")
    personal = Chat(kind="personal", id=connector.personal_conversation_id(leader.mri, TENANT))
    # Another participant cannot use the leader's card.
    _, refused = await bot.execute(people[1], personal, "1", "meeting.close_signin", keys)
    assert "Only the session's discussion leader" in card_text(refused)
    _, card = await bot.execute(leader, personal, "1", "meeting.close_signin", keys)
    assert "Sign-in is closed" in card_text(card)
    assert (await rows(bot, "sessions"))[0]["Status"] == "signin_closed"


async def test_meeting_end_conclusion_posts_appendix_f_and_offers_appendix_c(
    bot, connector, people
):
    leader = people[0]
    chat = meeting_chat(connector, leader, people[:4])
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for _ in range(3):  # to the conclusion section
        _, card = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(card, "agenda.next"))
    await bot.post(bot.activity(leader, chat, **meeting_event("end", chat, datetime.now(UTC))))
    await bot.flush()
    prompt = next(c for c in leader_cards(connector, leader) if "meeting.conclude" in verbs(c))
    personal = Chat(kind="personal", id=connector.personal_conversation_id(leader.mri, TENANT))
    keys = data_of(prompt, "meeting.conclude")
    _, card = await bot.execute(leader, personal, "1", "meeting.conclude", keys)
    # Appendix C for the leader, as the conclusion offers it.
    assert "feedback.open" in verbs(card)
    _, again = await bot.execute(leader, personal, "1", "meeting.conclude", keys)
    await bot.flush()
    # Appendix F asked for in the meeting chat, once.
    assessments = [c for _, c in posted_cards(connector, chat) if "assess.open" in verbs(c)]
    assert len(assessments) == 1


async def test_meeting_end_nudges_only_those_who_have_not_assessed(bot, connector, people):
    from testing.flows import run_to_conclusion

    leader, participants = people[0], people[1:4]
    chat = meeting_chat(connector, leader, people[:6])
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, participants)
    await bot.execute(participants[0], chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    end = meeting_event("end", chat, datetime.now(UTC))
    await bot.post(bot.activity(leader, chat, **end))
    await bot.post(bot.activity(leader, chat, **end))
    await bot.flush()
    sent = connector.notifications(chat.meeting_id)
    recipients = [r for op in sent for r in op.body["value"]["recipients"]]
    # The sheet's people who have not answered; not people[4] and people[5], never on it.
    assert sorted(recipients) == sorted(p.mri for p in participants[1:])
    surface = sent[0].body["value"]["surfaces"][0]
    assert "/meeting/bubble/assess?" in surface["content"]["value"]["url"]
    # Concluded and closed: the leader has nothing to be asked.
    assert not [c for c in leader_cards(connector, leader) if "meeting.close_signin" in verbs(c)]
    await asyncio.sleep(0)


async def test_meeting_events_in_a_plain_group_chat_change_nothing(bot, connector, people):
    leader = people[0]
    chat = Chat()  # no meeting id: not a meeting's chat
    await start_session(bot, connector, chat, leader)
    before = len(posted_cards(connector, chat))
    for kind in ("start", "end"):
        event = meeting_event(kind, chat, datetime.now(UTC) + timedelta(seconds=1))
        await bot.post(bot.activity(leader, chat, **event))
    await bot.flush()
    assert len(posted_cards(connector, chat)) == before
    assert leader_cards(connector, leader) == []
    assert connector.notifications() == []


async def test_join_hints_confirmed_by_the_participant_api_are_marked(bot, connector, people):
    leader = people[0]
    chat = meeting_chat(connector, leader, people[:3])  # people[1], people[2] in the meeting
    assert chat.meeting_id
    connector.set_meeting_participant(
        chat.meeting_id, people[2].aad_id, meeting_participant(chat, people[2], in_meeting=False)
    )
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    joined = [people[1], people[2], people[3]]  # people[3]: the API knows nothing (404)
    event = bot.activity(
        leader,
        chat,
        type="event",
        name="application/vnd.microsoft.meetingParticipantJoin",
        value={
            "members": [
                {"user": {"id": p.mri, "name": p.name, "aadObjectId": p.aad_id}, "meeting": {}}
                for p in joined
            ]
        },
    )
    await bot.post(event)
    _, card = await bot.execute(leader, chat, card_id, "signin.view", {"sid": sid})
    text = card_text(card)
    assert f"{people[1].name} (in the meeting, says Teams)" in text
    assert f"{people[2].name} (in the meeting" not in text and people[2].name in text
    assert f"{people[3].name} (in the meeting" not in text and people[3].name in text
    hints = {r["AadId"]: r.get("InMeeting", False) for r in await rows(bot, "attendance")}
    assert hints == {people[1].aad_id: True, people[2].aad_id: False, people[3].aad_id: False}
    # Still only hints: nobody is signed in until the leader confirms.
    assert "0 participants signed in" in text
