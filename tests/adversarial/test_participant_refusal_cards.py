"""A refused participant gets a notice built from nothing they are not entitled to.

The Appendix F reminder every participant receives carries the session's three keys; with them a
participant can send `feedback.submit`. The refusal used to come back as the Appendix C form,
filled with the leader's answers, or with the prefill before the leader had answered.
"""

from __future__ import annotations

import json

from testing.flows import GOOD_F, find_posted, rows, run_to_conclusion
from testing.teams import Chat, User, card_text, data_of, inputs

LEADER = User.make("Leaderia Zed", 920)
PARTICIPANTS = [User.make(f"Marker {n}", 921 + i) for i, n in enumerate(("Alpha", "Bravo"))]
QUESTION = "QMARK-4242 may I repost the Secretary-General?"
SECRET_C = "SECRETC-5a5a what the leader told the Ethics Office"


def assert_plain_notice(card: dict, expected: str) -> None:
    """The reply is the reason alone: no form, no session data."""
    raw = json.dumps(card, ensure_ascii=False)
    assert expected in card_text(card), card_text(card)[:400]
    assert not inputs(card), "a form came back with the refusal"
    for marker in (LEADER.name, QUESTION, SECRET_C, "Statistics Division", "SECRETC-", "QMARK-"):
        assert marker not in raw, marker


async def test_feedback_submit_by_a_participant_shows_neither_prefill_nor_answers(bot, connector):
    chat = Chat()
    sid, agenda_id, _ = await run_to_conclusion(
        bot, connector, chat, LEADER, PARTICIPANTS, question=QUESTION
    )
    reminder_id, reminder = find_posted(connector, chat, "assess.open")
    keys = data_of(reminder, "assess.open")
    attacker = PARTICIPANTS[1]

    # Before the leader submitted: the refusal used to show the prefill (name, questions).
    for data in ({**keys, "c7": "4", "c9": "4"}, {**keys, "c7": ""}, keys):
        _, card = await bot.execute(attacker, chat, reminder_id, "feedback.submit", data)
        assert_plain_notice(card, "Only the session's discussion leader")
    assert await rows(bot, "leaderfeedback") == []

    _, form = await bot.execute(LEADER, chat, agenda_id, "feedback.open", keys)
    answers = {k: str(v) for k, v in inputs(form).items() if v is not None}
    await bot.execute(
        LEADER,
        chat,
        agenda_id,
        "feedback.submit",
        {**keys, **answers, "c7": "4", "c9": "5", "c10": SECRET_C},
    )
    assert len(await rows(bot, "leaderfeedback")) == 1

    # After: the refusal used to show the leader's latest answers, their free text included.
    _, card = await bot.execute(
        attacker, chat, reminder_id, "feedback.submit", {**keys, "c7": "1", "c9": "1"}
    )
    assert_plain_notice(card, "Only the session's discussion leader")
    _, card = await bot.execute(attacker, chat, reminder_id, "feedback.open", keys)
    assert_plain_notice(card, "Only the session's discussion leader")
    assert len(await rows(bot, "leaderfeedback")) == 1

    # The leader mistyping a rating still gets their own form back, with what they typed.
    _, card = await bot.execute(
        LEADER, chat, agenda_id, "feedback.submit", {**keys, **answers, "c7": "9", "c10": "kept"}
    )
    assert "Item 7: choose a rating from 1 to 5" in card_text(card)
    assert inputs(card)["c10"] == "kept" and inputs(card)["c2"] == LEADER.name


async def test_other_refusals_of_a_participant_are_plain_notices(bot, connector):
    chat = Chat()
    sid, agenda_id, keys = await run_to_conclusion(
        bot, connector, chat, LEADER, PARTICIPANTS, question=QUESTION
    )
    outsider = User.make("Olga Outsider", 930)
    attempts = [
        (PARTICIPANTS[0], "questions.forward", keys, "Only the session's discussion leader"),
        (PARTICIPANTS[0], "assess.results", keys, "Only the session's discussion leader"),
        (PARTICIPANTS[0], "dialogue.conclude", {"sid": sid}, "Only the session's discussion"),
        (PARTICIPANTS[0], "signin.close", {"sid": sid}, "Only the session's discussion leader"),
        (PARTICIPANTS[0], "attendance.import", {"sid": sid}, "Only the session's discussion"),
        (outsider, "assess.submit", {**keys, **GOOD_F}, "Only participants on this session"),
        # Their answer is not even read: a mistyped one is refused for who they are.
        (outsider, "assess.submit", {**keys, "f1": "9"}, "Only participants on this session"),
        (LEADER, "assess.submit", {**keys, **GOOD_F}, "the assessment is for its participants"),
    ]
    for person, verb, data, message in attempts:
        _, card = await bot.execute(person, chat, agenda_id, verb, data)
        assert_plain_notice(card, message)
