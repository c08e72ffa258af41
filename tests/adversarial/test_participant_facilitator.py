"""A participant who is not the facilitator tries what the facilitator may do.

The leader names one participant facilitator; another participant replays the facilitator's own
clicks, with the data lifted from the facilitator's cards (the plan, the scenario, a poll). Each
comes back as a plain notice and changes nothing stored. A facilitator the leader withdraws is
such a participant again.
"""

from __future__ import annotations

import json
from typing import Any

from testing.flows import find_posted, rows, start_session
from testing.teams import (
    Chat,
    User,
    card_sid,
    card_text,
    data_of,
    elements,
    executes,
    inputs,
    verbs,
)

LEADER = User.make("Leaderia Zed", 940)
FACILITATOR = User.make("Facilia Markerly", 941)
OTHERS = [User.make(f"Marker {n}", 942 + i) for i, n in enumerate(("Alpha", "Bravo", "Charlie"))]
ATTACKER = OTHERS[0]
REFUSED = "Only the session's discussion leader or its facilitator can do that"


def choice_value(card: dict[str, Any], input_id: str, title: str) -> str:
    """The value of a choice the card offers in one of its inputs."""
    choices = next(n for n in elements(card) if n.get("id") == input_id)["choices"]
    return next(c["value"] for c in choices if c["title"] == title)


async def snapshot(bot) -> dict[str, list[dict[str, Any]]]:
    """The rows a refused click must not change (timestamps and ETags left out)."""

    def plain(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in ("Timestamp",)}

    return {t: [plain(r) for r in await rows(bot, t)] for t in ("sessions", "polls", "attendance")}


def assert_plain_refusal(card: dict[str, Any] | None, expected: str = REFUSED) -> None:
    """The reason alone: no controls, no form, no name of the facilitator or the others."""
    assert card is not None
    assert expected in card_text(card), card_text(card)[:300]
    assert not verbs(card) and not inputs(card)
    raw = json.dumps(card, ensure_ascii=False)
    for name in (FACILITATOR.name, *(p.name for p in OTHERS[1:])):
        assert name not in raw


async def test_a_participant_replaying_the_facilitators_clicks_is_refused_and_changes_nothing(
    bot, connector
):
    chat = Chat()
    sheet_id, view = await start_session(bot, connector, chat, LEADER)
    sid = card_sid(view)
    for person in (FACILITATOR, *OTHERS):
        await bot.execute(person, chat, sheet_id, "signin", {"sid": sid})
    _, view = await bot.execute(LEADER, chat, sheet_id, "signin.view", {"sid": sid})
    key = choice_value(view, "monitor_key", FACILITATOR.name)
    await bot.execute(
        LEADER, chat, sheet_id, "session.facilitator", {"sid": sid, "monitor_key": key}
    )
    agenda_id, _ = find_posted(connector, chat, "question.log")

    # The facilitator's own cards: the plan at the scenarios, a scenario, an open poll.
    _, plan = await bot.execute(FACILITATOR, chat, agenda_id, "agenda.view", {"sid": sid})
    for _ in range(2):
        _, plan = await bot.execute(
            FACILITATOR, chat, agenda_id, "agenda.next", data_of(plan, "agenda.next")
        )
    _, plan = await bot.execute(FACILITATOR, chat, agenda_id, "agenda.view", {"sid": sid})
    await bot.execute(FACILITATOR, chat, agenda_id, "scenarios.poll", {"sid": sid})
    choice_id, choice_card = find_posted(connector, chat, "poll.vote")
    choice_poll = data_of(choice_card, "poll.vote")["poll"]
    for person in OTHERS:
        await bot.execute(
            person, chat, choice_id, "poll.vote", {"sid": sid, "poll": choice_poll, "vote": "1"}
        )
    _, closed_choice = await bot.execute(
        FACILITATOR, chat, choice_id, "poll.close", {"sid": sid, "poll": choice_poll}
    )
    assert "scenarios.from_poll" in verbs(closed_choice)
    await bot.execute(
        FACILITATOR,
        chat,
        agenda_id,
        "scenarios.choose",
        data_of(plan, "scenarios.choose") | {"scenarios": "s1,s2"},
    )
    await bot.execute(FACILITATOR, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    _, scenario = await bot.execute(
        FACILITATOR, chat, scenario_id, "scenario.view", {"sid": sid, "scenario": "s1"}
    )
    await bot.execute(
        FACILITATOR,
        chat,
        scenario_id,
        "poll.open_adhoc",
        {"sid": sid, "scenario": "s1", "poll_question": "Clear?", "poll_options": "Y\nN"},
    )
    poll_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    _, own_poll = await bot.execute(
        FACILITATOR, chat, poll_id, "poll.view", {"sid": sid, "poll": poll}
    )
    _, plan = await bot.execute(FACILITATOR, chat, agenda_id, "agenda.view", {"sid": sid})

    # What the facilitator may do, replayed by another participant with the same data.
    replays = [
        (agenda_id, "agenda.next", data_of(plan, "agenda.next")),
        (agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s2,s1"}),
        (agenda_id, "scenarios.poll", {"sid": sid}),
        (choice_id, "scenarios.from_poll", data_of(closed_choice, "scenarios.from_poll")),
        (agenda_id, "scenario.next", {"sid": sid}),
        (scenario_id, "scenario.wrap", data_of(scenario, "scenario.wrap")),
        (
            scenario_id,
            "poll.open_pack",
            data_of(scenario, "poll.open_pack") | {"pack_poll": "s1-p1"},
        ),
        (
            scenario_id,
            "poll.open_adhoc",
            {"sid": sid, "scenario": "s1", "poll_question": "Mine?", "poll_options": "A\nB"},
        ),
        (poll_id, "poll.close", data_of(own_poll, "poll.close")),
        (poll_id, "poll.reveal", {"sid": sid, "poll": poll}),
    ]
    await bot.flush()
    before = await snapshot(bot)
    for card_id, verb, data in replays:
        _, card = await bot.execute(ATTACKER, chat, card_id, verb, data)
        assert_plain_refusal(card)
    # Nor may they make themselves facilitator with their own sheet key.
    _, card = await bot.execute(
        ATTACKER,
        chat,
        sheet_id,
        "session.facilitator",
        {"sid": sid, "monitor_key": f"u{ATTACKER.aad_id}"},
    )
    assert_plain_refusal(card, "Only the session's discussion leader can do that")
    await bot.flush()
    assert await snapshot(bot) == before
    # Their own view of the plan and the poll has no facilitator's controls.
    _, view = await bot.execute(ATTACKER, chat, agenda_id, "agenda.view", {"sid": sid})
    assert not {"agenda.next", "scenario.next", "scenarios.choose"} & verbs(view)
    # "Show my view" is their own view, not a refusal (the click path refuses the controls).
    assert REFUSED not in card_text(view)
    _, view = await bot.execute(ATTACKER, chat, poll_id, "poll.view", {"sid": sid, "poll": poll})
    assert "poll.close" not in verbs(view) and "poll.vote" in verbs(view)


async def test_a_withdrawn_facilitator_is_refused_like_any_participant(bot, connector):
    chat = Chat()
    sheet_id, view = await start_session(bot, connector, chat, LEADER)
    sid = card_sid(view)
    for person in (FACILITATOR, *OTHERS):
        await bot.execute(person, chat, sheet_id, "signin", {"sid": sid})
    _, view = await bot.execute(LEADER, chat, sheet_id, "signin.view", {"sid": sid})
    key = choice_value(view, "monitor_key", FACILITATOR.name)
    await bot.execute(
        LEADER, chat, sheet_id, "session.facilitator", {"sid": sid, "monitor_key": key}
    )
    _, view = await bot.execute(LEADER, chat, sheet_id, "signin.view", {"sid": sid})
    withdraw = next(a for a in executes(view) if a.get("title") == "Withdraw the facilitator")[
        "data"
    ]
    _, card = await bot.execute(LEADER, chat, sheet_id, "session.facilitator", withdraw)
    assert "The session has no facilitator any more" in card_text(card)
    (stored,) = await rows(bot, "sessions")
    assert stored["Facilitator"] == ""
    agenda_id, plan = find_posted(connector, chat, "question.log")
    _, card = await bot.execute(
        FACILITATOR, chat, agenda_id, "agenda.next", {"sid": sid, "stage": "introduction"}
    )
    assert_plain_refusal(card)
    (stored,) = await rows(bot, "sessions")
    assert stored["Stage"] == "introduction"
