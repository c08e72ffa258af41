"""The leader watches people click: live counts beside the chat would tell who voted what.

The leader sees no counts while people vote (neither on their own card nor in the refreshed
view of the shared card); they see the totals when they close the poll (showing the results
closes it).
"""

from __future__ import annotations

from testing.flows import COUNTS, open_poll, vote
from testing.teams import Chat, card_text


async def test_the_leader_sees_no_live_totals_while_people_vote(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    for n, person in enumerate(people[1:6]):
        await vote(bot, person, chat, card_id, sid, poll, str(n % 2))
        # Teams refreshes the shared card for the leader after each vote.
        _, view = await bot.execute(
            leader, chat, card_id, "poll.view", {"sid": sid, "poll": poll}, trigger="automatic"
        )
        text = card_text(view)
        assert not COUNTS.search(text), (n, text)
        assert "close the poll to show them to everyone" in text
        assert f"{n + 1} vote" in text  # how many voted, not how
    _, clicked = await bot.execute(leader, chat, card_id, "poll.view", {"sid": sid, "poll": poll})
    assert not COUNTS.search(card_text(clicked))

    _, revealed = await bot.execute(
        leader, chat, card_id, "poll.reveal", {"sid": sid, "poll": poll}
    )
    text = card_text(revealed)
    assert "Yes: 3 (60%)" in text and "No: 2 (40%)" in text and "final results" in text
    # Showing the results closed the poll: closing again changes nothing.
    _, closed = await bot.execute(leader, chat, card_id, "poll.close", {"sid": sid, "poll": poll})
    assert "Yes: 3 (60%)" in card_text(closed) and "final results" in card_text(closed)


async def test_the_leader_sees_the_totals_when_closing_without_revealing(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    for person in people[1:4]:
        await vote(bot, person, chat, card_id, sid, poll, "1")
    _, view = await bot.execute(
        leader, chat, card_id, "poll.view", {"sid": sid, "poll": poll}, trigger="automatic"
    )
    assert not COUNTS.search(card_text(view))
    _, closed = await bot.execute(leader, chat, card_id, "poll.close", {"sid": sid, "poll": poll})
    assert "No: 3 (100%)" in card_text(closed)
