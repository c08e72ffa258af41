"""A participant in a small poll must not learn how the others voted from the counts.

With one or two voters a count is a person's vote: the second voter sees "Yes: 1" beside their
own "No" and knows the first voter's answer. Counts appear to nobody below 3 voters.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.flows import data_of, find_posted, start_session
from tests.support.teams import Chat, card_sid, card_text
from tests.test_signin import rows, shared_card

# A results bar as the card words it: "Yes: 2 (67%)" (French and Spanish put a space before %).
COUNTS = re.compile(r": \d+ \(\d+\s?%\)")


async def open_poll(bot, connector, people, chat, *, options: str = "Yes\nNo\nNot sure"):
    """A session in its first scenario with the leader's own poll open: (sid, card id, poll)."""
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for person in people[1:6]:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for _ in range(2):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    await bot.execute(
        leader,
        chat,
        scenario_id,
        "poll.open_adhoc",
        {"sid": sid, "scenario": "s1", "poll_question": "Is this clear?", "poll_options": options},
    )
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    return sid, poll_card_id, data_of(poll_card, "poll.vote")["poll"]


async def vote(bot, person, chat, card_id: str, sid: str, poll: str, choice: str) -> dict[str, Any]:
    status, card = await bot.execute(
        person, chat, card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": choice}
    )
    assert status == 200 and "Your vote is recorded" in card_text(card)
    return card


async def test_in_a_two_voter_poll_no_card_shows_counts_and_from_the_third_vote_they_do(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    first = await vote(bot, people[1], chat, card_id, sid, poll, "0")
    second = await vote(bot, people[2], chat, card_id, sid, poll, "1")
    for card, mine in ((first, "Yes"), (second, "No")):
        text = card_text(card)
        assert not COUNTS.search(text), text
        assert "Results appear once at least 3 people have voted" in text
        # The voter's own choice is on their card, and only theirs.
        assert f"Your answer: {mine}" in text
    # A voter who looks again, or someone who did not vote, learns no more.
    for person in (people[1], people[3]):
        _, card = await bot.execute(
            person, chat, card_id, "poll.view", {"sid": sid, "poll": poll}, trigger="automatic"
        )
        assert not COUNTS.search(card_text(card))
    # Not even once the leader reveals: two votes stay two people's answers.
    _, revealed = await bot.execute(
        leader, chat, card_id, "poll.reveal", {"sid": sid, "poll": poll}
    )
    assert not COUNTS.search(card_text(revealed))
    await bot.flush()
    shared = connector.latest_card(chat.id, card_id)
    assert not COUNTS.search(card_text(shared)) and "3 people" in card_text(shared)

    third = await vote(bot, people[3], chat, card_id, sid, poll, "0")
    assert "Yes: 2 (67%)" in card_text(third) and "No: 1 (33%)" in card_text(third)
    shared = await shared_card(connector, chat, card_id, "Yes: 2 (67%)")
    assert "No: 1 (33%)" in card_text(shared)


async def test_a_poll_closed_with_two_votes_never_shows_its_counts(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    await vote(bot, people[1], chat, card_id, sid, poll, "0")
    await vote(bot, people[2], chat, card_id, sid, poll, "2")
    _, closed = await bot.execute(leader, chat, card_id, "poll.close", {"sid": sid, "poll": poll})
    assert "Too few votes to show results" in card_text(closed)
    assert not COUNTS.search(card_text(closed))
    for person in people[1:4]:
        _, card = await bot.execute(
            person, chat, card_id, "poll.view", {"sid": sid, "poll": poll}, trigger="automatic"
        )
        assert "Too few votes to show results" in card_text(card)
        assert not COUNTS.search(card_text(card))
    shared = await shared_card(connector, chat, card_id, "Too few votes")
    assert not COUNTS.search(card_text(shared))


async def test_the_group_choice_of_scenarios_with_two_votes_orders_them_but_shows_no_counts(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for person in people[1:6]:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for _ in range(2):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
    poll_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    for person, choice in ((people[1], "2"), (people[2], "2,0")):
        card = await vote(bot, person, chat, poll_id, sid, poll, choice)
        assert not COUNTS.search(card_text(card))
    _, closed = await bot.execute(leader, chat, poll_id, "poll.close", {"sid": sid, "poll": poll})
    assert not COUNTS.search(card_text(closed))
    _, ordered = await bot.execute(
        leader, chat, poll_id, "scenarios.from_poll", {"sid": sid, "poll": poll}
    )
    assert "set in this order" in card_text(ordered) and not COUNTS.search(card_text(ordered))
    # Scenario 3 had two votes, scenario 1 one: the order follows the counts, unshown.
    (session,) = await rows(bot, "sessions")
    assert json.loads(session["ScenarioOrder"]) == ["s3", "s1", "s2"]
