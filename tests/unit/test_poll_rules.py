"""Anonymous polls on the fakes: one changeable vote, an exact close that keeps only the tally,
counts only once closed and from three voters, the timeout and sweep, and close_all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialogs.errors import InvalidInput, NotAllowed, WrongState
from dialogs.polls import MIN_VOTERS, Tally
from storage.errors import StorageUnavailable

FAR_FUTURE = timedelta(days=3650)


@pytest.fixture
async def session(start):
    """A session just started."""
    return (await start()).session


async def open_poll(polls, session, leader, question="Which scenario first?", multiple=False):
    """The leader's poll with three options."""
    return await polls.open(
        session,
        leader,
        kind="adhoc",
        question=question,
        options=["One", "Two", "Three"],
        multiple=multiple,
    )


async def indexed(store, clock):
    """Poll ids the open index still lists."""
    return [e.poll_id for e in await store.polls.open_before(clock() + FAR_FUTURE)]


async def test_each_person_has_one_vote_they_can_change(polls, session, leader, persons):
    poll = await open_poll(polls, session, leader)
    kenji, mei = persons[1], persons[2]
    await polls.vote(poll, kenji, "0", session)
    changed = await polls.vote(poll, kenji, "2", session)
    await polls.vote(poll, mei, 2, session)
    assert changed.choices == [2]
    assert await polls.my_vote(poll, kenji) == [2]
    assert await polls.my_vote(poll, persons[3]) is None
    # While open, nobody learns more than how many have voted: the counts are not even read.
    assert (await polls.tally(poll)) == Tally([0, 0, 0], 2)  # two people, not three votes
    closed = await polls.close(poll, leader, session)
    assert (await polls.tally(closed)) == Tally([0, 0, 2], 2)


@pytest.mark.parametrize("choice", ["3", "-1", "0,1", "0,0", "", "x", None, True, 1.0, ["0"]])
async def test_forged_choices_are_refused_and_nothing_is_stored(
    polls, store, session, leader, persons, choice
):
    poll = await open_poll(polls, session, leader)
    with pytest.raises(InvalidInput) as refused:
        await polls.vote(poll, persons[1], choice, session)
    assert refused.value.key == "error.unknown_option"
    assert await store.polls.votes(poll.poll_id) == []


async def test_a_poll_taking_several_choices_takes_each_once(polls, session, leader, persons):
    poll = await open_poll(polls, session, leader, multiple=True)
    assert (await polls.vote(poll, persons[1], "0,2", session)).choices == [0, 2]
    with pytest.raises(InvalidInput):
        await polls.vote(poll, persons[1], "2,2", session)


async def test_closing_keeps_the_tally_and_deletes_salt_votes_and_index(
    polls, store, session, leader, persons, clock
):
    poll = await open_poll(polls, session, leader)
    for person, choice in zip(persons[1:5], "0110", strict=True):
        await polls.vote(poll, person, choice, session)
    assert await indexed(store, clock) == [poll.poll_id]
    with pytest.raises(NotAllowed):
        await polls.close(poll, persons[1], session)
    closed = await polls.close(poll, leader, session)
    assert (closed.status, closed.results, closed.voters) == ("closed", [2, 2, 0], 4)
    stored = await store.polls.get(session.session_id, poll.poll_id)
    # Nothing left to link a vote to a person: no salt, no vote rows, no index entry.
    assert stored.salt == "" and stored.cutoff is not None
    assert await store.polls.votes(poll.poll_id) == []
    assert await indexed(store, clock) == []
    assert await polls.tally(stored) == Tally([2, 2, 0], 4)
    assert await polls.my_vote(stored, persons[1]) is None
    # Closing again (a double click) changes nothing.
    assert await polls.close(stored, leader, session) == stored


async def test_a_vote_after_the_close_is_refused_and_removed(
    polls, store, session, leader, persons
):
    poll = await open_poll(polls, session, leader)  # the voter's card still shows it open
    for person in persons[1:4]:
        await polls.vote(poll, person, "1", session)
    await polls.close(poll, leader, session)
    with pytest.raises(WrongState) as refused:
        await polls.vote(poll, persons[4], "0", session)
    assert refused.value.key == "error.poll_closed"
    assert await store.polls.votes(poll.poll_id) == []
    stored = await store.polls.get(session.session_id, poll.poll_id)
    assert (stored.results, stored.voters) == ([0, 3, 0], 3)


async def test_counts_are_shown_only_from_three_voters_and_only_once_closed(
    polls, session, leader, persons
):
    assert MIN_VOTERS == 3
    assert not Tally([1, 1, 0], 2).showable and Tally([2, 1, 0], 3).showable
    poll = await open_poll(polls, session, leader)
    for person in persons[1:3]:
        await polls.vote(poll, person, "0", session)
    # Showing results closes the poll first: no two looks can differ by one vote.
    shown = await polls.reveal(poll, leader, session)
    assert (shown.status, shown.revealed) == ("closed", True)
    tally = await polls.tally(shown)
    assert tally.voters == 2 and not tally.showable
    with pytest.raises(NotAllowed):
        await polls.reveal(shown, persons[1], session)


async def test_a_poll_older_than_the_timeout_closes_when_read(
    polls, store, session, leader, persons, clock, closed_polls
):
    poll = await open_poll(polls, session, leader)
    await polls.vote(poll, persons[1], "0", session)
    clock.advance(119)
    assert (await polls.get(session, poll.poll_id)).status == "open"
    clock.advance(2)
    expired = await polls.get(session, poll.poll_id)
    assert (expired.status, expired.salt, expired.voters) == ("closed", "", 1)
    assert closed_polls == [(session.session_id, poll.poll_id)]  # its card is told
    assert await store.polls.votes(poll.poll_id) == []
    with pytest.raises(WrongState):
        await polls.vote(expired, persons[2], "1", session)


async def test_the_sweep_closes_only_polls_past_the_timeout_in_every_session(
    polls, store, start, leader, persons, clock, closed_polls
):
    first, second = (await start()).session, (await start()).session
    old = await open_poll(polls, first, leader)
    await polls.vote(old, persons[1], "2", first)
    clock.advance(60)
    other = await open_poll(polls, second, leader)
    clock.advance(61)
    assert await polls.sweep() == 1
    assert (await store.polls.get(first.session_id, old.poll_id)).results == [0, 0, 1]
    assert (await store.polls.get(second.session_id, other.poll_id)).status == "open"
    assert closed_polls == [(first.session_id, old.poll_id)]
    assert await indexed(store, clock) == [other.poll_id]
    assert await polls.sweep() == 0  # again: nothing left to close
    clock.advance(60)
    assert await polls.sweep() == 1
    assert await indexed(store, clock) == []


async def test_the_sweep_finishes_a_close_a_fault_left_half_done(
    polls, store, session, leader, persons, clock
):
    poll = await open_poll(polls, session, leader)
    for person in persons[1:4]:
        await polls.vote(poll, person, "0", session)
    real_delete = store.polls.delete_votes

    async def failing(poll_id):
        store.outage.down = True
        return await real_delete(poll_id)

    store.polls.delete_votes = failing
    with pytest.raises(StorageUnavailable):  # the router tells the leader; the tally is stored
        await polls.close(poll, leader, session)
    store.outage.down = False
    store.polls.delete_votes = real_delete
    assert (await store.polls.get(session.session_id, poll.poll_id)).results == [3, 0, 0]
    assert len(await store.polls.votes(poll.poll_id)) == 3
    clock.advance(121)
    assert await polls.sweep() == 0  # it was closed already: finished, not counted again
    assert await store.polls.votes(poll.poll_id) == []
    assert await indexed(store, clock) == []


async def test_concluding_closes_every_open_poll_and_freezes_the_sheet(
    polls, store, session, dialogue, leader, persons, closed_polls
):
    open_one = await open_poll(polls, session, leader)
    done = await polls.close(await open_poll(polls, session, leader, "Done?"), leader, session)
    for person in persons[1:4]:
        await polls.vote(open_one, person, "1", session)
    session = await dialogue.begin(session, "agenda-card")
    for _ in range(3):
        session = await dialogue.next_section(session, leader)
    held = await dialogue.conclude(session, leader)
    assert (held.status, held.frozen, held.frozen_at) == ("signin_closed", True, held.held_at)
    assert closed_polls == [(session.session_id, open_one.poll_id)]  # not the closed one
    stored = {p.poll_id: p for p in await store.polls.for_session(session.session_id)}
    assert (stored[open_one.poll_id].status, stored[open_one.poll_id].voters) == ("closed", 3)
    assert stored[open_one.poll_id].salt == ""
    assert stored[done.poll_id] == done  # closed before: untouched
    assert await store.polls.votes(open_one.poll_id) == []


async def test_ending_a_session_closes_its_polls(
    polls, store, session, signin, leader, persons, closed_polls
):
    poll = await open_poll(polls, session, leader)
    await polls.vote(poll, persons[1], "0", session)
    with pytest.raises(NotAllowed):
        await signin.end(session, persons[1])
    assert (await store.polls.get(session.session_id, poll.poll_id)).status == "open"
    await signin.end(session, leader)
    stored = await store.polls.get(session.session_id, poll.poll_id)
    assert (stored.status, stored.salt, stored.results) == ("closed", "", [1, 0, 0])
    assert closed_polls == [(session.session_id, poll.poll_id)]
    assert await store.polls.votes(poll.poll_id) == []


async def test_the_leader_may_not_vote_and_nothing_is_stored(
    polls, store, session, leader, persons
):
    poll = await open_poll(polls, session, leader)
    with pytest.raises(WrongState) as refused:
        await polls.vote(poll, leader, "0", session)
    assert refused.value.key == "error.leader_votes"
    assert await store.polls.votes(poll.poll_id) == []
    # A colleague's vote is taken, and the leader's refusal did not count as a voter.
    await polls.vote(poll, persons[1], "1", session)
    assert [c for c, _ in await store.polls.votes(poll.poll_id)] == [[1]]
    assert await polls.tally(poll) == Tally([0, 0, 0], 1)
