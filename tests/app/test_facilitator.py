"""A delegated facilitator through the real app: the leader names them from the sheet; they run
the plan and the polls with the leader's view of those cards; what the FAQ keeps with the
manager ("the manager must direct the session and cannot delegate ... responding to questions")
comes back to them as a plain notice and changes nothing."""

from __future__ import annotations

import json
from typing import Any

from testing.connector import FakeConnector
from testing.flows import GOOD_C, QUESTION, find_posted, rows, shared_card, start_session
from testing.teams import (
    BotUnderTest,
    Chat,
    User,
    card_sid,
    card_text,
    data_of,
    elements,
    inputs,
    verbs,
)


async def name_facilitator(
    bot: BotUnderTest, connector: FakeConnector, chat: Chat, people: list[User]
) -> tuple[str, str, str]:
    """A session with people[1..5] signed in, people[1] named facilitator: sid, sheet, agenda."""
    leader, facilitator = people[0], people[1]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for person in people[1:6]:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    _, view = await bot.execute(leader, chat, card_id, "signin.view", {"sid": sid})
    # One chooser on the sheet names the monitor or the facilitator, as Teams submits it.
    choices = next(n for n in elements(view) if n.get("id") == "monitor_key")["choices"]
    key = next(c["value"] for c in choices if c["title"] == facilitator.name)
    _, card = await bot.execute(
        leader, chat, card_id, "session.facilitator", {"sid": sid, "monitor_key": key}
    )
    assert f"{facilitator.name} now facilitates the session" in card_text(card)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    return sid, card_id, agenda_id


async def stored_session(bot: BotUnderTest, sid: str) -> dict[str, Any]:
    """The session row as stored in Azurite."""
    return next(r for r in await rows(bot, "sessions") if r["RowKey"] == sid)


def assert_plain_notice(card: dict[str, Any] | None, expected: str) -> None:
    """The reply is the reason alone: no form, no session's data."""
    assert card is not None
    assert expected in card_text(card), card_text(card)[:400]
    assert not inputs(card) and not verbs(card), "a card with controls came back"


async def test_the_leader_names_a_facilitator_whom_the_sheet_names_to_the_leader_only(
    bot, connector, people
):
    chat, leader, facilitator = Chat(), people[0], people[1]
    sid, card_id, agenda_id = await name_facilitator(bot, connector, chat, people)
    stored = json.loads((await stored_session(bot, sid))["Facilitator"])
    assert (stored["aad"], stored["name"]) == (facilitator.aad_id, facilitator.name)
    _, leader_view = await bot.execute(leader, chat, card_id, "signin.view", {"sid": sid})
    assert "Facilitator" in card_text(leader_view) and facilitator.name in card_text(leader_view)
    # The shared sheet does not name them; the plan card asks Teams for their own view.
    shared = await shared_card(connector, chat, card_id, "Sign-in")
    assert facilitator.name not in card_text(shared)
    agenda = await connector.wait_for(
        lambda: (
            (card := connector.latest_card(chat.id, agenda_id))
            and facilitator.mri in (card.get("refresh") or {}).get("userIds", [])
            and card
        ),
        timeout=5,
    )
    assert leader.mri in agenda["refresh"]["userIds"]
    # A participant who is not the leader cannot name one: a plain notice, nothing stored.
    _, refused = await bot.execute(
        people[2],
        chat,
        card_id,
        "session.facilitator",
        {"sid": sid, "monitor_key": f"u{people[2].aad_id}"},
    )
    assert_plain_notice(refused, "Only the session's discussion leader")
    assert json.loads((await stored_session(bot, sid))["Facilitator"])["aad"] == facilitator.aad_id


async def test_the_facilitator_moves_the_agenda_and_opens_and_closes_a_poll(bot, connector, people):
    chat, leader, facilitator = Chat(), people[0], people[1]
    sid, _, agenda_id = await name_facilitator(bot, connector, chat, people)
    _, view = await bot.execute(facilitator, chat, agenda_id, "agenda.view", {"sid": sid})
    text = card_text(view)
    assert "agenda.next" in verbs(view) and "You facilitate this session" in text
    assert "dialogue.conclude" not in verbs(view)
    for _ in range(2):
        _, view = await bot.execute(
            facilitator, chat, agenda_id, "agenda.next", data_of(view, "agenda.next")
        )
    assert (await stored_session(bot, sid))["Stage"] == "scenarios"
    _, view = await bot.execute(
        facilitator, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    assert "The scenarios are set in this order" in card_text(view)
    assert json.loads((await stored_session(bot, sid))["ScenarioOrder"]) == ["s1", "s2"]
    await bot.execute(facilitator, chat, agenda_id, "scenario.next", {"sid": sid})
    assert (await stored_session(bot, sid))["ScenarioIndex"] == 0
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    _, scenario = await bot.execute(
        facilitator, chat, scenario_id, "scenario.view", {"sid": sid, "scenario": "s1"}
    )
    assert {"poll.open_adhoc", "scenario.wrap"} <= verbs(scenario)
    await bot.execute(
        facilitator,
        chat,
        scenario_id,
        "poll.open_adhoc",
        {"sid": sid, "scenario": "s1", "poll_question": "Is this clear?", "poll_options": "Y\nN"},
    )
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    _, own = await bot.execute(
        facilitator, chat, poll_card_id, "poll.view", {"sid": sid, "poll": poll}
    )
    assert "poll.close" in verbs(own) and "poll.vote" not in verbs(own)
    # The facilitator runs the poll: their vote is refused and not stored.
    _, refused = await bot.execute(
        facilitator, chat, poll_card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "0"}
    )
    assert "you do not vote in them" in card_text(refused)
    for person in people[2:5]:
        await bot.execute(
            person, chat, poll_card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "1"}
        )
    _, closed = await bot.execute(
        facilitator, chat, poll_card_id, "poll.close", {"sid": sid, "poll": poll}
    )
    assert "N: 3 (100%)" in card_text(closed)
    (stored,) = await rows(bot, "polls")
    assert (stored["Status"], stored["Voters"]) == ("closed", 3)
    # The leader still moves the plan too.
    _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    assert "agenda.next" in verbs(view)


async def test_the_facilitator_is_refused_what_the_leader_keeps(bot, connector, people):
    chat, leader, facilitator = Chat(), people[0], people[1]
    sid, card_id, agenda_id = await name_facilitator(bot, connector, chat, people)
    _, refused = await bot.execute(facilitator, chat, card_id, "signin.close", {"sid": sid})
    assert_plain_notice(refused, "Only the session's discussion leader can do that")
    assert (await stored_session(bot, sid))["Status"] == "signin"
    await bot.execute(
        people[2], chat, agenda_id, "question.log", {"sid": sid, "question_text": QUESTION}
    )
    # The facilitator moves the session to its conclusion, which the leader alone concludes.
    for _ in range(3):
        _, view = await bot.execute(facilitator, chat, agenda_id, "agenda.view", {"sid": sid})
        if "agenda.next" in verbs(view):
            await bot.execute(
                facilitator, chat, agenda_id, "agenda.next", data_of(view, "agenda.next")
            )
        if (await stored_session(bot, sid))["Stage"] == "scenarios":
            await bot.execute(
                facilitator,
                chat,
                agenda_id,
                "scenarios.choose",
                {"sid": sid, "scenarios": "s1,s2"},
            )
    assert (await stored_session(bot, sid))["Stage"] == "conclusion"
    _, view = await bot.execute(facilitator, chat, agenda_id, "agenda.view", {"sid": sid})
    assert QUESTION not in card_text(view)  # answering questions stays with the leader
    _, refused = await bot.execute(facilitator, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    assert_plain_notice(refused, "Only the session's discussion leader can do that")
    assert (await stored_session(bot, sid))["Stage"] == "conclusion"
    _, done = await bot.execute(leader, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    keys = data_of(done, "feedback.open")
    for verb, data in (
        ("questions.forward", keys),
        ("feedback.open", keys),
        ("feedback.submit", {**keys, **GOOD_C, "forward_questions": "true"}),
        ("assess.results", keys),
        ("assess.remind", keys),
    ):
        _, refused = await bot.execute(facilitator, chat, agenda_id, verb, data)
        assert_plain_notice(refused, "Only the session's discussion leader can do that")
    assert await rows(bot, "ethicsqueue") == [] and await rows(bot, "leaderfeedback") == []
    # After the conclusion the facilitator is a participant again: they may assess.
    _, view = await bot.execute(facilitator, chat, agenda_id, "agenda.view", {"sid": sid})
    assert "assess.open" in verbs(view) and "feedback.open" not in verbs(view)


async def test_appendix_c_item_2_names_the_leader_and_the_facilitator(bot, connector, people):
    chat, leader, facilitator = Chat(), people[0], people[1]
    sid, _, agenda_id = await name_facilitator(bot, connector, chat, people)
    for _ in range(3):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
        if (await stored_session(bot, sid))["Stage"] == "scenarios":
            await bot.execute(
                leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
            )
    _, done = await bot.execute(leader, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    _, form = await bot.execute(
        leader, chat, agenda_id, "feedback.open", data_of(done, "feedback.open")
    )
    assert inputs(form)["c2"] == f"{leader.name} (facilitator: {facilitator.name})"
