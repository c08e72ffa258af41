"""A participant presses every card verb the bot registers, with keys lifted from their own cards.

The verbs come from the running app's handler, so a verb added later is walked too. Whatever the
bot answers, the reply holds nothing of the session the participant may not see: no other
participant's name or details, none of the leader's Appendix C, no prefill, no logged question.
"""

from __future__ import annotations

import json
from typing import Any

from bot.app import BOT
from testing.flows import GOOD_F, find_posted, first_scenario, start_session
from testing.teams import BotUnderTest, Chat, User, card_sid, card_text, data_of, inputs

LEADER = User.make("Leaderia Zed", 900)
OTHERS = [User.make(f"Marker {n}", 901 + i) for i, n in enumerate(("Alpha", "Bravo", "Charlie"))]
PROBE = User.make("Pat Probe", 910)
ADMIN = User.make("Adminia Office", 911)
PHONE = "Marker Delta Phone"
AGENCY = "AGENCYMARK-UNHCR"
SECRET_C = "SECRETC-7c1f Appendix C free text"
QUESTION = "QMARK-0815 may we like a post of our chief?"
PROBE_QUESTION = "Probe's own question for the Ethics Office"
LEADERS_C = {"c7": "4", "c9": "5", "c10": SECRET_C, "c15": SECRET_C}

# Never in a participant's card, whatever they press.
FORBIDDEN = (*(p.name for p in OTHERS), PHONE, AGENCY, "SECRETC-", "QMARK-")
# Where a participant legitimately sees the sheet's facts (the leader's name among them): the
# shared sign-in card and the Appendix F form. Everywhere else the leader's name is not shown.
SHOWS_SESSION_FACTS = {"signin.view", "signin", "signin.undo", "assess.open", "assess.submit"}


def registered_verbs(bot: BotUnderTest) -> list[str]:
    """Every card verb the running app answers."""
    assert bot._runner is not None
    return list(bot._runner.app[BOT].verbs)


def leaks(card: dict[str, Any] | None, verb: str) -> list[str]:
    """What of the session the card shows that a participant may not see."""
    raw = json.dumps(card, ensure_ascii=False)
    found = [marker for marker in FORBIDDEN if marker in raw]
    if verb not in SHOWS_SESSION_FACTS and LEADER.name in raw:
        found.append(LEADER.name)
    prefilled = [v for v in inputs(card).values() if isinstance(v, str) and LEADER.name in v]
    if prefilled:
        found.append("a prefilled input holds the leader's name")
    if {f"c{n}" for n in range(1, 16)} & set(inputs(card)):
        found.append("the Appendix C form")
    return found


async def walk(
    bot: BotUnderTest, chat: Chat, card_ids: dict[str, str], data: dict[str, Any]
) -> dict[str, str]:
    """The participant presses every verb; the text of each reply, checked for leaks."""
    texts = {}
    for verb in registered_verbs(bot):
        card_id = card_ids.get(verb, card_ids["default"])
        status, card = await bot.execute(PROBE, chat, card_id, verb, dict(data))
        assert status == 200 and isinstance(card, dict), (verb, status, card)
        assert not leaks(card, verb), (verb, leaks(card, verb))
        texts[verb] = card_text(card)
    return texts


async def test_a_participant_pressing_every_verb_sees_nothing_they_may_not(start_bot, connector):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    chat = Chat()
    connector.set_members(chat.id, [p.member() for p in (LEADER, *OTHERS, PROBE)])
    setup_id, view = await start_session(bot, connector, chat, LEADER)
    sid = card_sid(view)
    alpha, bravo = OTHERS[0], OTHERS[1]
    for person in OTHERS:
        agency = {"my_agency": AGENCY, "my_category": "non_staff"} if person is bravo else {}
        await bot.execute(person, chat, setup_id, "signin", {"sid": sid, **agency})
    await bot.execute(LEADER, chat, setup_id, "attendance.add", {"sid": sid, "add_name": PHONE})
    agenda_id, _ = find_posted(connector, chat, "question.log")
    await bot.execute(
        alpha, chat, agenda_id, "question.log", {"sid": sid, "question_text": QUESTION}
    )

    # The participant's own, legitimate use: sign in, and nobody else's name comes back.
    _, card = await bot.execute(PROBE, chat, setup_id, "signin", {"sid": sid})
    assert "You are signed in" in card_text(card) and not leaks(card, "signin")

    # To the scenarios, with a quick poll open.
    scenario_id = await first_scenario(bot, connector, chat, LEADER, sid)
    await bot.execute(
        LEADER,
        chat,
        scenario_id,
        "poll.open_pack",
        {"sid": sid, "scenario": "s1", "pack_poll": "s1-p1"},
    )
    poll_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    for person in OTHERS:
        await bot.execute(
            person, chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "0"}
        )
    _, card = await bot.execute(
        PROBE, chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "1"}
    )
    assert "vote" in card_text(card) and not leaks(card, "poll.vote")

    # Everything the participant could lift from cards they received, and guesses besides.
    alpha_key = "u" + alpha.aad_id
    lifted = {
        "sid": sid,
        "cycle": "2026",
        "entity": "DESA",
        "poll": poll,
        "scenario": "s1",
        "stage": "scenarios",
        "vote": "0",
        "scenarios": "s2,s1",
        "pack_poll": "s1-p2",
        "question_text": PROBE_QUESTION,
        "add_name": "Ghost Person",
        "remove_key": alpha_key,
        "monitor_key": alpha_key,
        "new_leader_key": "u" + PROBE.aad_id,
        "field": "reply_0",
        "reply_0": "a reply",
        "key": sid,
        # Appendix C answers of the participant's own (they do not know the leader's).
        "c7": "1",
        "c9": "1",
        "c10": "Probe's own text",
        **GOOD_F,
    }
    card_ids = {"default": agenda_id, "setup.submit": setup_id}
    during = await walk(bot, chat, card_ids, lifted)
    assert "Only the session's discussion leader" in during["agenda.next"]
    assert "Only the person who typed" in during["setup.submit"]
    # The walk pressed "Undo" too: back on the sheet, to assess the facilitator afterwards.
    await bot.execute(PROBE, chat, setup_id, "signin", {"sid": sid})

    # After the Dialogue: the leader's Appendix C is stored, with free text only they may read.
    await bot.execute(LEADER, chat, scenario_id, "poll.close", {"sid": sid, "poll": poll})
    await bot.execute(LEADER, chat, scenario_id, "scenario.wrap", {"sid": sid, "scenario": "s1"})
    await bot.execute(LEADER, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    await bot.execute(LEADER, chat, scenario_id, "scenario.wrap", {"sid": sid, "scenario": "s2"})
    _, card = await bot.execute(LEADER, chat, agenda_id, "agenda.view", {"sid": sid})
    await bot.execute(LEADER, chat, agenda_id, "agenda.next", data_of(card, "agenda.next"))
    _, card = await bot.execute(LEADER, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    keys = data_of(card, "feedback.open")
    _, form = await bot.execute(LEADER, chat, agenda_id, "feedback.open", keys)
    answers = {k: str(v) for k, v in inputs(form).items() if v is not None}
    _, stored = await bot.execute(
        LEADER, chat, agenda_id, "feedback.submit", {**keys, **answers, **LEADERS_C}
    )
    assert "Appendix C is stored" in card_text(stored)

    # The keys come from the Appendix F reminder every participant receives.
    reminder_id, reminder = find_posted(connector, chat, "assess.open")
    reminder_keys = data_of(reminder, "assess.open")
    assert reminder_keys == keys
    _, card = await bot.execute(PROBE, chat, reminder_id, "assess.open", reminder_keys)
    assert "facilitator" in card_text(card) and not leaks(card, "assess.open")
    _, card = await bot.execute(
        PROBE, chat, reminder_id, "assess.submit", {**reminder_keys, **GOOD_F}
    )
    assert "stored anonymously" in card_text(card) and not leaks(card, "assess.submit")

    after = await walk(bot, chat, {**card_ids, "default": reminder_id}, {**lifted, **keys})
    for verb in ("feedback.submit", "feedback.open", "assess.results", "questions.forward"):
        assert "Only the session's discussion leader" in after[verb], verb
    assert "Only Ethics Office administrators" in after["queue.answer"]
    assert "Only the entity's focal point" in after["focal.sheet"]
