"""Chat commands, languages, tenants, meeting-join hints and several bot instances."""

from __future__ import annotations

import asyncio

from testing.connector import REPLY, SEND, UPDATE, adaptive_cards
from testing.flows import SETUP, last_card_message, rows, shared_card, start_session
from testing.teams import BotUnderTest, Chat, User, card_sid, card_text, verbs


def replies(connector, chat):
    return [op.body for op in connector.calls((SEND, REPLY), chat.id)]


async def test_help_works_everywhere_and_unknown_text_gets_help(bot, connector, people):
    personal = Chat(kind="personal", id="a:personal-chat")
    assert await bot.say(people[1], personal, "help", mention=False) == 201
    card = adaptive_cards(replies(connector, personal)[-1])[0]
    assert "start" in card_text(card) and "sheet" in card_text(card)
    assert "not from this personal chat" in card_text(card)
    group = Chat()
    assert await bot.say(people[1], group, "what is this?") == 201
    card = adaptive_cards(replies(connector, group)[-1])[0]
    assert "I did not understand “what is this?”" in card_text(card)


async def test_start_in_personal_chat_points_to_the_meeting_chat(bot, connector, people):
    personal = Chat(kind="personal", id="a:personal-chat-2")
    assert await bot.say(people[0], personal, "start", mention=False) == 201
    assert "meeting chat" in replies(connector, personal)[-1]["text"]
    assert await rows(bot, "sessions") == []


async def test_commands_in_french_answer_in_french(bot, connector, people):
    chat = Chat()
    leader = User.make("Élodie Martin", 90, locale="fr-FR")
    assert await bot.say(leader, chat, "démarrer") == 201
    card_id, card = last_card_message(connector, chat)
    assert "Dialogue sur le leadership : nouvelle séance" in card_text(card)
    _, view = await bot.execute(leader, chat, card_id, "setup.submit", {**SETUP, "language": "fr"})
    assert "L'émargement est ouvert" in card_text(view)
    shared = await shared_card(connector, chat, card_id, "participant a émargé")
    assert "Émarger" in card_text(shared)


async def test_french_participant_sees_french_in_an_english_session(bot, connector, people):
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, people[0])
    french = User.make("Jean-Pierre Moreau", 91, locale="fr-CA")
    _, card = await bot.execute(french, chat, card_id, "signin", {"sid": card_sid(view)})
    assert "Vous avez émargé sous le nom Jean-Pierre Moreau" in card_text(card)
    shared = await shared_card(connector, chat, card_id, "1 participant signed in")
    assert "Sign in" in card_text(shared)


async def test_one_active_session_per_chat_until_the_leader_ends_it(bot, connector, people):
    chat = Chat()
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    await bot.execute(people[1], chat, card_id, "signin", {"sid": card_sid(view)})
    assert await bot.say(people[2], chat, "start") == 201
    assert (
        "already has an active session, led by Amina Diallo" in replies(connector, chat)[-1]["text"]
    )
    assert await bot.say(people[2], chat, "end") == 201
    assert "Only the session's discussion leader" in replies(connector, chat)[-1]["text"]
    assert await bot.say(leader, chat, "end") == 201
    assert "ended with 1 participant" in replies(connector, chat)[-1]["text"]
    # The old card stops offering sign-in, and a new session can start.
    shared = await shared_card(connector, chat, card_id, "1 participant signed in")
    assert "signin" not in verbs(shared)
    _, card = await bot.execute(people[3], chat, card_id, "signin", {"sid": card_sid(view)})
    assert "There is no active session in this chat" in card_text(card)
    second_id, second = await start_session(bot, connector, chat, people[4], unit="Second group")
    assert card_sid(second) != card_sid(view)
    _, card = await bot.execute(people[3], chat, card_id, "signin", {"sid": card_sid(view)})
    assert "belongs to a session that has ended" in card_text(card)
    sessions = await rows(bot, "sessions")
    assert sorted(s["Status"] for s in sessions) == ["ended", "signin"]
    assert len(await rows(bot, "attendance")) == 1


async def test_sheet_reposts_the_card_and_updates_follow_it(bot, connector, people):
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, people[0])
    sid = card_sid(view)
    assert await bot.say(people[1], chat, "sheet") == 201
    new_id, card = last_card_message(connector, chat)
    assert new_id != card_id and "0 participants signed in" in card_text(card)
    await bot.execute(people[2], chat, card_id, "signin", {"sid": sid})
    await shared_card(connector, chat, new_id, "1 participant signed in")


async def test_a_tenant_not_on_the_allow_list_is_refused(bot, connector, people):
    outsider = Chat(tenant="11111111-2222-3333-4444-555555555555")
    assert await bot.say(people[0], outsider, "start") == 403
    assert replies(connector, outsider) == []
    status, _ = await bot.execute(people[0], outsider, "1", "setup.submit", SETUP)
    assert status == 403
    assert await rows(bot, "sessions") == []


async def test_meeting_join_events_are_hints_the_leader_confirms(bot, connector, people):
    chat = Chat()
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.execute(people[1], chat, card_id, "signin", {"sid": sid})
    event = bot.activity(
        leader,
        chat,
        type="event",
        name="application/vnd.microsoft.meetingParticipantJoin",
        value={
            "members": [
                {"user": {"id": p.mri, "name": p.name, "aadObjectId": p.aad_id}, "meeting": {}}
                for p in people[1:4]
            ]
        },
    )
    status, _ = await bot.post(event)
    assert status in (200, 201)
    # Hints are not sign-ins: the count is unchanged; the leader sees who joined.
    _, card = await bot.execute(leader, chat, card_id, "signin.view", {"sid": sid})
    assert "1 participant signed in" in card_text(card)
    assert "2 people joined the meeting but have not signed in" in card_text(card)
    assert "Olena Kovalenko" in card_text(card)
    _, card = await bot.execute(leader, chat, card_id, "attendance.confirm_hints", {"sid": sid})
    assert "2 joiners were signed in" in card_text(card)
    assert "3 participants signed in" in card_text(card)
    sources = {
        r["AadId"]: r["Source"] for r in await rows(bot, "attendance") if r["Source"] != "hint"
    }
    assert sources == {
        people[1].aad_id: "self",
        people[2].aad_id: "joined",
        people[3].aad_id: "joined",
    }


async def test_two_bot_instances_on_one_storage_count_each_person_once(
    bot, connector, people, make_settings
):
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, people[0])
    sid = card_sid(view)
    other = BotUnderTest(bot.settings, connector.url)
    await other.start()
    try:
        clicks = [
            (bot if n % 2 else other).execute(p, chat, card_id, "signin", {"sid": sid})
            for n, p in enumerate(people[1:21] * 2)
        ]
        results = await asyncio.gather(*clicks)
        assert {status for status, _ in results} == {200}
        assert len(await rows(bot, "attendance")) == 20
        _, card = await other.execute(people[0], chat, card_id, "signin.view", {"sid": sid})
        assert "20 participants signed in" in card_text(card)
    finally:
        await other.stop()
    await shared_card(connector, chat, card_id, "20 participants signed in")
    assert connector.max_in_window(chat.id, window=1.0, kinds={UPDATE}) <= 7


async def test_agenda_reposts_the_session_plan_and_updates_follow_it(bot, connector, people):
    from testing.flows import data_of, find_posted

    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, people[0])
    sid = card_sid(view)
    old_agenda, _ = find_posted(connector, chat, "question.log")
    assert await bot.say(people[3], chat, "agenda") == 201
    new_agenda, card = find_posted(connector, chat, "question.log")
    assert new_agenda != old_agenda and "Ground rules" in card_text(card)
    _, leader_view = await bot.execute(people[0], chat, new_agenda, "agenda.view", {"sid": sid})
    await bot.execute(
        people[0], chat, new_agenda, "agenda.next", data_of(leader_view, "agenda.next")
    )
    await shared_card(connector, chat, new_agenda, "What did you learn from the experience?")


async def test_a_message_delivered_twice_is_acted_on_once(bot, connector, people):
    chat = Chat()
    activity = bot.activity(
        people[0],
        chat,
        type="message",
        text="<at>Dialogue Bot</at> start",
        entities=[
            {
                "type": "mention",
                "mentioned": {"id": "28:dialogue-bot", "name": "Dialogue Bot"},
                "text": "<at>Dialogue Bot</at>",
            }
        ],
    )
    statuses = await asyncio.gather(*(bot.post(activity) for _ in range(3)))
    assert {status for status, _ in statuses} == {201}
    await bot.post(activity)
    setups = [c for c in connector.cards(chat.id) if "setup.submit" in str(c)]
    assert len(setups) == 1


async def test_a_card_posted_into_a_throttled_chat_is_retried(bot, connector, people):
    chat = Chat()
    connector.fail_next("reply", 429, count=1, retry_after=1, conversation_id=chat.id)
    assert await bot.say(people[0], chat, "start") == 201
    assert [c for c in connector.cards(chat.id) if "setup.submit" in str(c)]
    assert len(connector.failures) == 1
