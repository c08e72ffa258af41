"""A participant in a small poll must not learn how the others voted from the counts.

With one or two voters a count is a person's vote: the second voter sees "Yes: 1" beside their
own "No" and knows the first voter's answer. And counts that move while people vote tell anyone
who looks twice how the person who voted in between voted. So counts appear only once the poll
is closed, and to nobody below 3 voters.
"""

from __future__ import annotations

import json

from testing.flows import (
    COUNTS,
    data_of,
    find_posted,
    open_poll,
    rows,
    shared_card,
    start_session,
    to_scenarios,
    vote,
)
from testing.teams import Chat, card_sid, card_text


async def test_no_card_shows_counts_while_people_vote_and_the_close_shows_them_from_three(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    first = await vote(bot, people[1], chat, card_id, sid, poll, "0")
    second = await vote(bot, people[2], chat, card_id, sid, poll, "1")
    for card, mine in ((first, "Yes"), (second, "No")):
        text = card_text(card)
        assert not COUNTS.search(text), text
        assert "Results appear for everyone once the poll is closed" in text
        # The voter's own choice is on their card, and only theirs.
        assert f"Your answer: {mine}" in text

    # A voter who looks before and after a third vote sees the same card: no difference tells
    # them how the third person voted.
    def look(person):
        return bot.execute(
            person, chat, card_id, "poll.view", {"sid": sid, "poll": poll}, trigger="automatic"
        )

    _, before = await look(people[1])
    third = await vote(bot, people[3], chat, card_id, sid, poll, "0")
    _, after = await look(people[1])
    assert not COUNTS.search(card_text(third))
    assert card_text(before).replace("2 votes", "3 votes") == card_text(after)
    _, outsider = await look(people[4])
    assert not COUNTS.search(card_text(outsider))
    await bot.flush()
    shared = connector.latest_card(chat.id, card_id)
    assert not COUNTS.search(card_text(shared)) and "3 people" in card_text(shared)

    # Closed (or "shown", which closes), with 3 voters: the final counts for everyone.
    _, closed = await bot.execute(leader, chat, card_id, "poll.reveal", {"sid": sid, "poll": poll})
    assert "Yes: 2 (67%)" in card_text(closed) and "No: 1 (33%)" in card_text(closed)
    shared = await shared_card(connector, chat, card_id, "Yes: 2 (67%)")
    assert "No: 1 (33%)" in card_text(shared)
    _, late = await bot.execute(
        people[5], chat, card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "1"}
    )
    assert "closed" in card_text(late) and "No: 1 (33%)" in card_text(late)


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
    agenda_id = await to_scenarios(bot, connector, chat, leader, sid)
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
