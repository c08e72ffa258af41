"""The Ethics Office's answer goes back to the team (FAQ: "After your consultation, you can go
back to your staff and share helpful information"): the leader's personal card offers "Share
with the team"; one click posts the question, names masked as queued, and the answer in the
session's meeting chat, once; only the session's leader may."""

from __future__ import annotations

import json

from testing.connector import CREATE_CONVERSATION, REPLY, SEND, adaptive_cards
from testing.flows import ADMIN, rows, run_to_conclusion
from testing.teams import Chat, card_text, data_of, inputs, verbs

ANSWER = "Yes, if your comment stays impartial; see the 2019 guidelines."


def shared_cards(connector, chat: Chat) -> list[dict]:
    """The shared answers the bot posted in the meeting chat."""
    return [
        card
        for op in connector.calls((SEND, REPLY), chat.id)
        for card in adaptive_cards(op.body)
        if ANSWER in json.dumps(card, ensure_ascii=False)
    ]


async def answered(bot, connector, people, chat: Chat) -> tuple[dict, str]:
    """A session whose question (naming a participant) the Ethics Office answered: the
    reply card the leader received, and the leader's personal chat id."""
    leader = people[0]
    question = f"As {people[1].name} asked: may I share a UN job advert with my own comment?"
    _, agenda_id, keys = await run_to_conclusion(
        bot, connector, chat, leader, people[1:4], question=question
    )
    await bot.execute(leader, chat, agenda_id, "questions.forward", keys)
    (queued,) = await rows(bot, "ethicsqueue")
    admin_chat = Chat(kind="personal", id="a:admin-share")
    _, card = await bot.execute(
        ADMIN,
        admin_chat,
        "1",
        "queue.answer",
        {"key": queued["RowKey"], "cycle": 2026, "field": "reply_0", "reply_0": ANSWER},
    )
    assert f"sent to {leader.name}" in card_text(card)
    created = connector.calls(CREATE_CONVERSATION)[-1]
    assert created.body["members"][0]["id"] == leader.mri
    op, reply = next(
        (op, c)
        for op in connector.calls((SEND, REPLY))
        for c in adaptive_cards(op.body)
        if ANSWER in json.dumps(c, ensure_ascii=False)
    )
    assert op.conversation_id != chat.id
    return reply, op.conversation_id or ""


async def test_the_leader_shares_the_answer_with_the_meeting_chat_once(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    chat, leader = Chat(), people[0]
    reply, personal = await answered(bot, connector, people, chat)
    assert "queue.share" in verbs(reply) and "Share with the team" in card_text(reply)
    leader_chat = Chat(kind="personal", id=personal)
    share = data_of(reply, "queue.share")

    _, card = await bot.execute(leader, leader_chat, "reply-1", "queue.share", share)
    assert "The question and the answer are posted in the meeting chat" in card_text(card)
    assert "queue.share" not in verbs(card) and "Shared with your team" in card_text(card)
    (posted,) = shared_cards(connector, chat)
    text = card_text(posted)
    assert "The Ethics Office answered a question from our session" in text
    assert ANSWER in text and "may I share a UN job advert" in text
    # The name is masked as the queue holds it ("[name]", Markdown-escaped on the card).
    assert "As [name] asked" in text.replace("\\", "")
    assert people[1].name not in json.dumps(posted, ensure_ascii=False)
    (stored,) = await rows(bot, "ethicsqueue")
    assert stored["SharedAt"] is not None

    # A second click (or Teams' retry) shares nothing more.
    _, card = await bot.execute(leader, leader_chat, "reply-1", "queue.share", share)
    assert "already shared" in card_text(card) and "queue.share" not in verbs(card)
    assert len(shared_cards(connector, chat)) == 1


async def test_only_the_sessions_leader_may_share_and_a_refusal_says_only_that(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    chat = Chat()
    reply, _ = await answered(bot, connector, people, chat)
    share = data_of(reply, "queue.share")
    for who in (people[1], ADMIN, people[9]):
        _, card = await bot.execute(who, Chat(kind="personal"), "1", "queue.share", share)
        assert "Only the session's discussion leader can do that" in card_text(card)
        raw = json.dumps(card, ensure_ascii=False)
        assert ANSWER not in raw and "job advert" not in raw and not inputs(card)
    for forged in ({**share, "key": share["key"] + "x"}, {**share, "cycle": "2025"}, {}):
        _, card = await bot.execute(people[0], Chat(kind="personal"), "1", "queue.share", forged)
        assert "queue.share" not in verbs(card) and ANSWER not in json.dumps(card)
    assert shared_cards(connector, chat) == []
    (stored,) = await rows(bot, "ethicsqueue")
    assert stored.get("SharedAt") is None


async def test_a_post_teams_refuses_shares_nothing_and_the_leader_can_try_again(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    chat, leader = Chat(), people[0]
    reply, personal = await answered(bot, connector, people, chat)
    share = data_of(reply, "queue.share")
    leader_chat = Chat(kind="personal", id=personal)
    await bot.flush()
    connector.fail_next(REPLY, 403, conversation_id=chat.id)
    _, card = await bot.execute(leader, leader_chat, "reply-1", "queue.share", share)
    assert [f.conversation_id for f in connector.failures] == [chat.id], connector.failures
    assert "nothing was shared" in card_text(card) and "queue.share" in verbs(card)
    (stored,) = await rows(bot, "ethicsqueue")
    assert stored.get("SharedAt") is None
    assert shared_cards(connector, chat) == []
    _, card = await bot.execute(leader, leader_chat, "reply-1", "queue.share", share)
    assert "posted in the meeting chat" in card_text(card)
    assert len(shared_cards(connector, chat)) == 1
