"""Who leads, on the fakes: only whoever typed `start` submits its setup card; the entity's focal
point (never an admin, never anyone else) names another leader or ends the session, audited."""

from __future__ import annotations

import pytest

from dialogs.errors import InvalidInput, NotAllowed, WrongState
from dialogs.signin import Chat

CHAT = Chat("19:meeting_leadership@thread.v2", "tenant", "https://s/", "b")


@pytest.fixture
async def focal(directory, admin, persons):
    """The DESA focal point."""
    await directory.add_focal_point(admin, "DESA", persons[25])
    return persons[25]


@pytest.fixture
async def sheet(start, signin, persons):
    """A DESA session with persons[1..3] signed in and a name added by hand."""
    session = (await start()).session
    for person in persons[1:4]:
        await signin.sign_in(session, person, {})
    await signin.add_named(session, session.leader, {"add_name": "Ana Costa"})
    return await signin.sheet(session)


async def test_only_whoever_asked_for_the_setup_card_may_submit_it(setups, leader, persons):
    await setups.asked(CHAT.conversation_id, "card-1", leader)
    await setups.require_requester(CHAT.conversation_id, "card-1", leader)
    for other in persons[1:3]:
        with pytest.raises(NotAllowed) as refused:
            await setups.require_requester(CHAT.conversation_id, "card-1", other)
        assert refused.value.key == "error.setup_not_yours"
    # A card nobody asked for (forged, or from another chat) is nobody's.
    with pytest.raises(NotAllowed):
        await setups.require_requester(CHAT.conversation_id, "card-2", leader)
    with pytest.raises(NotAllowed):
        await setups.require_requester("19:other@thread.v2", "card-1", leader)
    # A meeting organizer may submit it too.
    organizer = persons[5]
    await setups.require_requester(
        CHAT.conversation_id, "card-1", organizer, organizers={organizer.aad_id}
    )


async def test_a_used_card_may_be_retried_only_by_the_leader_it_made(
    setups, signin, leader, persons, setup_data, clock
):
    await setups.asked(CHAT.conversation_id, "card-1", leader)
    await setups.require_requester(CHAT.conversation_id, "card-1", leader)
    await signin.start(CHAT, "card-1", leader, setup_data(), clock().date())
    await setups.used(CHAT.conversation_id)
    # Teams redelivers the click: the leader it made goes on, nobody else takes it over.
    await setups.require_requester(CHAT.conversation_id, "card-1", leader)
    with pytest.raises(NotAllowed):
        await setups.require_requester(CHAT.conversation_id, "card-1", persons[1])
    with pytest.raises(NotAllowed):
        await setups.require_requester(CHAT.conversation_id, "card-other", leader)


async def test_the_focal_point_names_a_teams_user_on_the_sheet_leader(
    leadership, signin, directory, admin, store, sheet, focal, leader, persons
):
    session = sheet.session
    mei = persons[2]
    await signin.name_monitor(session, leader, sheet.find(mei.aad_id).key)
    session = await signin.reload(session)
    done = await leadership.reassign(focal, session, sheet.find(mei.aad_id).key)
    assert (done.session.leader, done.previous) == (mei, leader)
    assert done.session.monitors == []  # the new leader is no longer their own monitor
    stored = await signin.reload(session)
    assert stored.leader == mei
    assert [s.session_id for s in await signin.led_by(mei)] == [session.session_id]
    assert await signin.led_by(leader) == []
    entry = (await directory.audit_log(admin))[0]
    assert (entry.action, entry.actor, entry.entity) == ("session.reassign", focal.aad_id, "DESA")
    assert (entry.details["leader"], entry.details["previous"]) == (mei.aad_id, leader.aad_id)


async def test_nobody_but_the_entitys_focal_point_reassigns(
    leadership, directory, admin, store, sheet, focal, leader, persons
):
    session = sheet.session
    key = sheet.find(persons[1].aad_id).key
    other_focal = persons[24]
    await directory.add_focal_point(admin, "DPO", other_focal)
    for caller in (leader, persons[1], admin, other_focal):
        with pytest.raises(NotAllowed) as refused:
            await leadership.reassign(caller, session, key)
        assert refused.value.key == "error.focal_only"
    stored = await store.sessions.get(session.cycle, session.entity, session.session_id)
    assert stored.leader == leader
    assert [e.action for e in await directory.audit_log(admin)] == ["focal.add", "focal.add"]


@pytest.mark.parametrize("which", ["named", "missing", "not a string"])
async def test_only_a_teams_user_on_the_sheet_can_become_leader(
    leadership, store, sheet, focal, leader, which
):
    named = next(r for r in sheet.attendees if not r.aad_id)
    key = {"named": named.key, "missing": "u-nobody", "not a string": ["u"]}[which]
    with pytest.raises(InvalidInput) as refused:
        await leadership.reassign(focal, sheet.session, key)
    assert refused.value.key == "error.unknown_entry"
    session = sheet.session
    assert (await store.sessions.get(session.cycle, "DESA", session.session_id)).leader == leader


async def test_the_focal_point_ends_a_session_audited_and_others_are_refused(
    signin, directory, admin, sheet, focal, persons
):
    session = sheet.session
    for caller in (persons[1], admin):
        with pytest.raises(NotAllowed):
            await signin.end(session, caller)
    ended = await signin.end(session, focal)
    assert ended.session.status == "ended"
    assert await signin.active(session.conversation_id) is None
    entry = (await directory.audit_log(admin))[0]
    assert (entry.action, entry.actor, entry.details["session"]) == (
        "session.end",
        focal.aad_id,
        session.session_id,
    )


async def test_an_admin_is_never_a_focal_point(directory, admin, persons):
    with pytest.raises(NotAllowed) as refused:
        await directory.add_focal_point(admin, "DESA", admin)
    assert refused.value.key == "error.admin_not_focal"
    assert await directory.focal_points("DESA") == []
    with pytest.raises(NotAllowed):
        await directory.add_focal_point(persons[1], "DESA", persons[2])  # only admins name them


async def test_a_participant_made_leader_during_a_poll_loses_their_vote_and_the_old_leader_votes(
    leadership, signin, polls, store, sheet, focal, leader, persons
):
    session = sheet.session
    mei = persons[2]
    poll = await polls.open(session, leader, kind="adhoc", question="Clear?", options=["Y", "N"])
    await polls.vote(poll, mei, "0", session)
    await polls.vote(poll, persons[1], "1", session)
    await leadership.reassign(focal, session, sheet.find(mei.aad_id).key)
    assert [c for c, _ in await store.polls.votes(poll.poll_id)] == [[1]]  # Mei's vote went
    with pytest.raises(WrongState) as refused:
        await polls.vote(poll, mei, "1", session)  # decided on the copy before she led
    assert refused.value.key == "error.leader_votes"
    now = await signin.reload(session)
    assert (await polls.vote(poll, leader, "0", now)).choices == [0]  # now a participant


async def test_a_leader_named_after_the_conclusion_cannot_answer_appendix_f_from_a_kept_copy(
    leadership, signin, dialogue, assessment, library, sheet, focal, persons
):
    session = await dialogue.begin(sheet.session, "agenda-card")
    for _ in range(3):
        session = await dialogue.next_section(session, session.leader)
    held = await dialogue.conclude(session, session.leader)
    keys = {"cycle": held.cycle, "entity": held.entity, "sid": held.session_id}
    kept = await signin.concluded_by_keys(keys)  # this process now keeps the concluded copy
    mei = persons[2]
    await leadership.reassign(focal, held, sheet.find(mei.aad_id).key)
    copy = await signin.concluded_by_keys(keys)
    assert copy.leader == kept.leader != mei  # the kept copy does not know yet
    pack = library.get("2023", "en")
    answers = {f"f{n}": "5" for n in range(1, 6)}
    with pytest.raises(NotAllowed) as refused:
        await assessment.submit(copy, mei, pack, answers)
    assert refused.value.key == "error.leader_assesses"
    assert await assessment.submit(copy, persons[1], pack, answers) == 1
