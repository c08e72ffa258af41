"""A chat member cannot take a session over by submitting the setup card someone else asked for."""

from __future__ import annotations

from testing.flows import SETUP, last_card_message, rows
from testing.teams import Chat, User, card_text, inputs, verbs

STARTER = User.make("Leaderia Zed", 940)
MEMBER = User.make("Marker Alpha", 941)


async def test_only_the_person_who_typed_start_can_submit_the_setup_card(bot, connector):
    chat = Chat()
    assert await bot.say(STARTER, chat, "start") == 201
    card_id, _ = last_card_message(connector, chat)

    # Another member of the chat submits the card, filled in: refused, and nothing is stored.
    status, card = await bot.execute(MEMBER, chat, card_id, "setup.submit", SETUP)
    assert status == 200
    assert "Only the person who typed “start” can submit this setup card" in card_text(card)
    assert not inputs(card), "the refusal showed the setup form"
    # A card id nobody asked for (a forged replyToId) is refused the same way.
    _, card = await bot.execute(MEMBER, chat, "1700000000999", "setup.submit", SETUP)
    assert "Only the person who typed “start”" in card_text(card)
    assert await rows(bot, "sessions") == []
    assert await rows(bot, "chats") == []
    assert await rows(bot, "leaders") == []

    # The starter's own submission works: they lead, and the other member is refused as leader.
    status, view = await bot.execute(STARTER, chat, card_id, "setup.submit", SETUP)
    assert status == 200 and "Sign-in is open" in card_text(view)
    sessions = await rows(bot, "sessions")
    assert [s["LeaderId"] for s in sessions] == [STARTER.aad_id]
    assert "signin.close" in verbs(view)
    # A retry of the starter's own submission is the same session, not a refusal.
    _, again = await bot.execute(STARTER, chat, card_id, "setup.submit", SETUP)
    assert "Sign-in is open" in card_text(again)
    assert len(await rows(bot, "sessions")) == 1
    # The member's late submission of the same card changes nothing.
    _, card = await bot.execute(MEMBER, chat, card_id, "setup.submit", SETUP)
    assert "Only the person who typed “start”" in card_text(card)
    assert [s["LeaderId"] for s in await rows(bot, "sessions")] == [STARTER.aad_id]
    # Nothing about who asked for a setup card is kept once the session started.
    assert await rows(bot, "setups") == []


async def test_a_setup_card_is_the_requesters_even_after_a_refused_entry(bot, connector):
    chat = Chat()
    assert await bot.say(STARTER, chat, "start") == 201
    card_id, _ = last_card_message(connector, chat)
    # The starter mistypes: the form comes back to them, with what they typed.
    _, card = await bot.execute(STARTER, chat, card_id, "setup.submit", {**SETUP, "personnel": "x"})
    assert inputs(card)["unit"] == SETUP["unit"]
    _, card = await bot.execute(MEMBER, chat, card_id, "setup.submit", SETUP)
    assert "Only the person who typed “start”" in card_text(card)
    _, view = await bot.execute(STARTER, chat, card_id, "setup.submit", SETUP)
    assert "Sign-in is open" in card_text(view)
