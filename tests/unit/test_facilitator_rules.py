"""A delegated facilitator on the fakes: named by the leader from the sheet, runs the plan and the
polls, and is refused everything the FAQ keeps with the leader.

The FAQ: the manager "can delegate the task of facilitating the session e.g. directing the
PowerPoint presentation, reading from the slides, asking for volunteers to read etc., to one of
the participants. However, the manager must direct the session and cannot delegate certain
tasks, such as (i) sharing a personal story during the "Opening Activity" or (ii) responding to
questions."
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from dialogs.errors import InvalidInput, NoSession, NotAllowed, WrongState
from dialogs.signin import NO_FACILITATOR
from storage.errors import StorageUnavailable


@pytest.fixture
async def named(start, signin, dialogue, leader, persons):
    """A begun session whose signed-in participant persons[1] the leader named facilitator."""
    sheet = (await start()).session
    for person in persons[1:5]:
        sheet_now, _ = await signin.sign_in(sheet, person, {})
    row = sheet_now.find(persons[1].aad_id)
    named = await signin.name_facilitator(sheet, leader, row.key)
    return await dialogue.begin(named.session, "agenda-card")


@pytest.fixture
def facilitator(persons):
    """The participant the leader names facilitator."""
    return persons[1]


async def at_scenarios(dialogue, session, who):
    """Move the session on to the scenario discussions."""
    session = await dialogue.next_section(session, who)
    return await dialogue.next_section(session, who)


async def test_the_leader_names_a_facilitator_from_the_sheet(named, facilitator, store):
    assert named.facilitator == facilitator
    stored = await store.sessions.get(named.cycle, named.entity, named.session_id)
    assert stored.facilitator == facilitator and stored.monitors == []


async def test_only_the_leader_names_and_only_someone_on_the_sheet_with_a_teams_id(
    start, signin, leader, persons
):
    session = (await start()).session
    sheet, _ = await signin.sign_in(session, persons[1], {})
    sheet, _ = await signin.sign_in(session, persons[2], {})
    _, _, _ = await signin.add_named(session, leader, {"add_name": "Phone Caller"})
    sheet = await signin.sheet(session)
    with pytest.raises(NotAllowed) as refused:
        await signin.name_facilitator(session, persons[2], sheet.find(persons[2].aad_id).key)
    assert refused.value.key == "error.leader_only"
    by_phone = next(r for r in sheet.attendees if not r.aad_id)
    for key in (by_phone.key, "u-not-on-the-sheet", None, 7, ["x"]):
        with pytest.raises(InvalidInput) as refused:
            await signin.name_facilitator(session, leader, key)
        assert refused.value.key == "error.unknown_entry"
    assert (await signin.reload(session)).facilitator is None
    # One at a time: naming another replaces; "withdraw" leaves none.
    first = await signin.name_facilitator(session, leader, sheet.find(persons[1].aad_id).key)
    second = await signin.name_facilitator(first.session, leader, sheet.find(persons[2].aad_id).key)
    assert second.session.facilitator == persons[2]
    withdrawn = await signin.name_facilitator(second.session, leader, NO_FACILITATOR)
    assert withdrawn.session.facilitator is None


async def test_the_facilitator_moves_the_agenda_and_starts_the_scenarios(
    named, dialogue, facilitator
):
    session = await at_scenarios(dialogue, named, facilitator)
    assert session.stage == "scenarios"
    session = await dialogue.choose_scenarios(session, facilitator, "s2,s1")
    assert session.scenario_order == ["s2", "s1"]
    session = await dialogue.order_from_votes(session, facilitator, {"s1": 3, "s3": 1})
    assert session.scenario_order == ["s1", "s3", "s2"]
    session = await dialogue.next_scenario(session, facilitator)
    assert session.scenario_index == 0
    session = await dialogue.wrap_up(session, facilitator, "s1")
    assert "s1" in session.scenario_seconds
    session = await dialogue.next_section(session, facilitator)
    assert session.stage == "conclusion"


async def test_the_facilitator_opens_closes_and_reveals_polls(
    named, polls, facilitator, persons, store
):
    poll = await polls.open(
        named, facilitator, kind="adhoc", question="Clear?", options=["Yes", "No"]
    )
    own = await polls.open_adhoc(
        named, facilitator, {"poll_question": "Ready?", "poll_options": "Yes\nNo"}
    )
    for voter in persons[2:5]:
        await polls.vote(poll, voter, "0", named)
    closed = await polls.close(poll, facilitator, named)
    assert (closed.status, closed.results, closed.salt) == ("closed", [3, 0], "")
    revealed = await polls.reveal(own, facilitator, named)
    assert revealed.revealed and revealed.status == "closed"
    assert await store.polls.votes(poll.poll_id) == []


async def test_the_facilitator_may_not_vote_and_nothing_is_stored(
    named, polls, leader, facilitator, store
):
    poll = await polls.open(named, leader, kind="adhoc", question="Clear?", options=["Y", "N"])
    with pytest.raises(WrongState) as refused:
        await polls.vote(poll, facilitator, "0", named)
    assert refused.value.key == "error.facilitator_votes"
    assert await store.polls.votes(poll.poll_id) == []


async def test_what_the_leader_keeps_is_refused_to_the_facilitator(
    named,
    signin,
    dialogue,
    polls,
    queue,
    feedback,
    assessment,
    library,
    leader,
    facilitator,
    persons,
):
    session = await at_scenarios(dialogue, named, facilitator)
    session = await dialogue.next_section(session, leader)  # scenarios → conclusion
    sheet = await signin.sheet(session)
    key = sheet.find(persons[2].aad_id).key
    pack = dialogue.pack(session)
    refused = {
        "conclude": dialogue.conclude(session, facilitator),
        "close sign-in": signin.close(session, facilitator),
        "reopen sign-in": signin.reopen(session, facilitator),
        "name a monitor": signin.name_monitor(session, facilitator, key),
        "name a facilitator": signin.name_facilitator(session, facilitator, key),
        "remove from the sheet": signin.remove(session, facilitator, key),
        "end": signin.end(session, facilitator),
        "forward questions": queue.forward(session, facilitator, []),
        "Appendix C": feedback.submit(session, facilitator.aad_id, pack, {"c7": "4", "c9": "4"}),
    }
    for what, attempt in refused.items():
        with pytest.raises(NotAllowed) as error:
            await attempt
        assert error.value.key == "error.leader_only", what
    concluded = await dialogue.conclude(session, leader)
    for what, attempt in {
        "Appendix F results": assessment.results(concluded, facilitator, library.get("2023", "en")),
        "remind": assessment.may_remind(concluded, facilitator),
    }.items():
        with pytest.raises(NotAllowed) as error:
            await attempt
        assert error.value.key == "error.leader_only", what
    assert (await signin.reload(session)).facilitator == facilitator


async def test_a_participant_who_is_not_the_facilitator_is_refused_its_verbs(
    named, dialogue, polls, leader, persons
):
    other = persons[2]
    session = await at_scenarios(dialogue, named, leader)
    poll = await polls.open(session, leader, kind="adhoc", question="Q?", options=["A", "B"])
    for attempt in (
        dialogue.next_section(session, other),
        dialogue.choose_scenarios(session, other, "s1,s2"),
        dialogue.order_from_votes(session, other, {"s1": 1}),
        dialogue.next_scenario(session, other),
        dialogue.wrap_up(session, other, "s1"),
        polls.open(session, other, kind="adhoc", question="Q?", options=["A", "B"]),
        polls.open_adhoc(session, other, {"poll_question": "Q?", "poll_options": "A\nB"}),
        polls.close(poll, other, session),
        polls.reveal(poll, other, session),
    ):
        with pytest.raises(NotAllowed) as refused:
            await attempt
        assert refused.value.key == "error.director_only"


async def test_a_facilitator_taken_off_the_sheet_no_longer_facilitates(
    start, signin, leader, persons
):
    session = (await start()).session
    for person in persons[1:3]:
        sheet, _ = await signin.sign_in(session, person, {})
    sheet = await signin.name_facilitator(session, leader, sheet.find(persons[1].aad_id).key)
    undone = await signin.undo(sheet.session, persons[1])
    assert undone.session.facilitator is None
    assert (await signin.reload(session)).facilitator is None
    sheet = await signin.name_facilitator(
        undone.session, leader, undone.find(persons[2].aad_id).key
    )
    removed = await signin.remove(sheet.session, leader, sheet.find(persons[2].aad_id).key)
    assert removed.session.facilitator is None


async def test_no_facilitator_is_named_once_the_sheet_is_final(named, dialogue, signin, leader):
    session = await at_scenarios(dialogue, named, leader)
    session = await dialogue.next_section(session, leader)
    concluded = await dialogue.conclude(session, leader)
    with pytest.raises(WrongState) as refused:
        await signin.name_facilitator(concluded, leader, NO_FACILITATOR)
    assert refused.value.key == "error.sheet_frozen"


async def test_a_facilitator_made_leader_by_the_focal_point_is_no_longer_facilitator(
    named, signin, leadership, directory, admin, facilitator, persons
):
    focal = persons[25]
    await directory.add_focal_point(admin, "DESA", focal)
    sheet = await signin.sheet(named)
    done = await leadership.reassign(focal, named, sheet.find(facilitator.aad_id).key)
    assert done.session.leader == facilitator and done.session.facilitator is None


@pytest.fixture
async def before_naming(start, signin, dialogue, persons):
    """A begun session with persons[1..4] signed in and no facilitator yet."""
    session = (await start()).session
    for person in persons[1:5]:
        await signin.sign_in(session, person, {})
    return await dialogue.begin(session, "agenda-card")


async def test_a_facilitator_named_during_a_poll_loses_their_vote_and_cannot_vote_on_an_old_copy(
    before_naming, signin, polls, store, leader, facilitator, persons
):
    stale = before_naming  # the copy a vote elsewhere may still decide on
    poll = await polls.open(stale, leader, kind="adhoc", question="Clear?", options=["Y", "N"])
    await polls.vote(poll, facilitator, "0", stale)
    await polls.vote(poll, persons[2], "1", stale)
    row = (await signin.sheet(stale)).find(facilitator.aad_id)
    await signin.name_facilitator(stale, leader, row.key)
    assert [c for c, _ in await store.polls.votes(poll.poll_id)] == [[1]]  # theirs went
    with pytest.raises(WrongState) as refused:
        await polls.vote(poll, facilitator, "1", stale)  # decided on the copy before naming
    assert refused.value.key == "error.facilitator_votes"
    assert [c for c, _ in await store.polls.votes(poll.poll_id)] == [[1]]
    # Withdrawn, they are a participant again and may vote.
    named = await signin.active(stale.conversation_id)
    await signin.name_facilitator(named, leader, NO_FACILITATOR)
    assert (await polls.vote(poll, facilitator, "0", stale)).choices == [0]
    assert len(await store.polls.votes(poll.poll_id)) == 2


async def test_a_poll_stored_before_it_listed_who_may_not_vote_asks_the_session(
    named, polls, store, leader, facilitator, persons
):
    poll = await polls.open(named, leader, kind="adhoc", question="Clear?", options=["Y", "N"])
    await store.polls.save(replace(poll, barred=None))
    old_copy = replace(named, facilitator=None)
    with pytest.raises(WrongState) as refused:
        await polls.vote(poll, facilitator, "0", old_copy)
    assert refused.value.key == "error.facilitator_votes"
    assert await store.polls.votes(poll.poll_id) == []
    assert (await polls.vote(poll, persons[2], "1", old_copy)).choices == [1]


async def test_votes_arriving_together_read_their_session_once(
    named, signin, store, persons, monkeypatch
):
    reads = []
    active = store.sessions.active_for_chat

    async def counted(*args, **kwargs):
        reads.append(args)
        await asyncio.sleep(0.01)
        return await active(*args, **kwargs)

    monkeypatch.setattr(store.sessions, "active_for_chat", counted)
    together = await asyncio.gather(
        *(signin.for_vote(named.conversation_id, named.session_id) for _ in range(25))
    )
    assert len(reads) == 1 and {s.session_id for s in together} == {named.session_id}
    with pytest.raises(NoSession):
        await signin.for_vote(named.conversation_id, "another-session")


async def test_a_poll_opened_from_a_copy_before_the_naming_still_bars_the_facilitator(
    before_naming, signin, polls, store, leader, facilitator
):
    stale = before_naming
    row = (await signin.sheet(stale)).find(facilitator.aad_id)
    await signin.name_facilitator(stale, leader, row.key)  # on another instance, say
    poll = await polls.open(stale, leader, kind="adhoc", question="Clear?", options=["Y", "N"])
    assert facilitator.aad_id in poll.barred
    with pytest.raises(WrongState):
        await polls.vote(poll, facilitator, "0", stale)
    assert await store.polls.votes(poll.poll_id) == []


async def test_a_naming_that_fails_to_be_stored_leaves_the_person_barred_not_voting(
    before_naming, signin, polls, store, leader, facilitator, monkeypatch
):
    session = before_naming
    poll = await polls.open(session, leader, kind="adhoc", question="Clear?", options=["Y", "N"])
    await polls.vote(poll, facilitator, "0", session)
    row = (await signin.sheet(session)).find(facilitator.aad_id)

    async def down(*args, **kwargs):
        raise StorageUnavailable("down")

    monkeypatch.setattr(store.sessions, "save", down)
    with pytest.raises(StorageUnavailable):
        await signin.name_facilitator(session, leader, row.key)
    assert (await signin.reload(session)).facilitator is None  # not named
    assert await store.polls.votes(poll.poll_id) == []  # but barred already, on the safe side
    assert facilitator.aad_id in (await store.polls.get(session.session_id, poll.poll_id)).barred
