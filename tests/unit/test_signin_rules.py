"""Appendix A rules on the fakes: starting, one session per chat, the sheet, rights, closing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogs.errors import InvalidInput, NoSession, NotAllowed, WrongState
from dialogs.forms import MAX_NAME
from dialogs.signin import Chat, size_advice
from storage.errors import StorageUnavailable
from storage.records import Person

CHAT = Chat("19:meeting_unit@thread.v2", "tenant", "https://smba.example/", "28:bot")


async def test_the_submitter_of_the_setup_card_leads_a_session_of_the_current_cycle(
    start, store, leader
):
    sheet = await start()
    session = sheet.session
    assert session.leader == leader and session.status == "signin"
    assert (session.cycle, session.pack, session.entity, session.personnel) == (
        2026,
        "2023",
        "DESA",
        20,
    )
    assert sheet.rows == []
    assert await store.sessions.active_for_chat(session.conversation_id) == session


async def test_one_session_per_chat_and_a_resubmitted_card_is_the_same_session(
    signin, leader, persons, clock, setup_data
):
    today = clock().date()
    first = await signin.start(CHAT, "card-1", leader, setup_data(), today)
    again = await signin.start(CHAT, "card-1", leader, setup_data(), today)
    assert again.session.session_id == first.session.session_id
    with pytest.raises(WrongState) as refused:
        await signin.start(CHAT, "card-2", persons[1], setup_data(), today)
    assert refused.value.key == "error.session_exists"
    assert refused.value.fields == {"leader": leader.name}
    # Once the first ends, the chat may hold another.
    await signin.end(first.session, leader)
    second = await signin.start(CHAT, "card-2", persons[1], setup_data(), today)
    assert second.session.leader == persons[1]
    assert (await signin.active(CHAT.conversation_id)).session_id == second.session.session_id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"entity": "UNKNOWN"}, "entity"),
        ({"unit": "   "}, "unit"),
        ({"personnel": "0"}, "personnel"),
        ({"personnel": True}, "personnel"),
        ({"language": "de"}, "language"),
        ({"date": "2028-01-01"}, "date"),
        ({"date": "20/11/2026"}, "date"),
    ],
)
async def test_a_bad_setup_is_refused_naming_the_field(start, store, changes, field):
    with pytest.raises(InvalidInput) as refused:
        await start(**changes)
    assert refused.value.fields.get("field") == field


async def test_a_deactivated_entity_takes_no_new_session(start, directory, admin):
    await directory.deactivate_entity(admin, "DPO")
    with pytest.raises(InvalidInput):
        await start(entity="DPO")


async def test_signing_in_twice_is_one_row_with_the_latest_details(start, signin, persons):
    session = (await start()).session
    kenji = persons[1]
    sheet, already = await signin.sign_in(session, kenji, {})
    assert (sheet.count, already) == (1, False)
    sheet, already = await signin.sign_in(
        session, kenji, {"my_category": "non_staff", "my_agency": "UNDP"}
    )
    assert (sheet.count, already) == (1, True)
    stored = (await signin.sheet(session)).find(kenji.aad_id)
    assert (stored.category, stored.agency) == ("non_staff", "UNDP")


async def test_the_leader_is_not_a_participant_and_details_are_validated(start, signin, leader):
    session = (await start()).session
    # Issue 12: a wrong state, not a missing role: the leader keeps their card.
    with pytest.raises(WrongState) as refused:
        await signin.sign_in(session, leader, {})
    assert refused.value.key == "error.leader_signs_in"
    with pytest.raises(InvalidInput):
        await signin.sign_in(session, Person("x", "29:x", "X"), {"my_category": "boss"})


async def test_undo_takes_only_the_caller_off(start, signin, persons):
    session = (await start()).session
    for person in persons[1:4]:
        await signin.sign_in(session, person, {})
    sheet = await signin.undo(session, persons[2])
    assert [r.aad_id for r in sheet.attendees] == [persons[1].aad_id, persons[3].aad_id]
    assert (await signin.undo(session, persons[2])).count == 2  # undoing twice changes nothing


async def test_names_are_added_once_however_spelt(start, signin, leader, persons):
    session = (await start()).session
    await signin.sign_in(session, persons[1], {})
    sheet, name, added = await signin.add_named(session, leader, {"add_name": "  Ana   Costa "})
    assert (name, added, sheet.count) == ("Ana Costa", True, 2)
    _, _, added = await signin.add_named(session, leader, {"add_name": "ANA COSTA"})
    assert added is False
    # A typed name equal to a signed-in Teams user's is the same person.
    sheet, _, added = await signin.add_named(session, leader, {"add_name": persons[1].name.upper()})
    assert (added, sheet.count) == (False, 2)
    with pytest.raises(InvalidInput):
        await signin.add_named(session, leader, {"add_name": "x" * (MAX_NAME + 1)})


async def test_only_the_leader_and_the_named_monitor_add_names(start, signin, leader, persons):
    session = (await start()).session
    monitor, other = persons[1], persons[2]
    sheet, _ = await signin.sign_in(session, monitor, {})
    await signin.sign_in(session, other, {})
    with pytest.raises(NotAllowed) as refused:
        await signin.add_named(session, monitor, {"add_name": "Phone Caller"})
    assert refused.value.key == "error.leader_or_monitor_only"
    with pytest.raises(NotAllowed):
        await signin.name_monitor(session, other, sheet.find(monitor.aad_id).key)
    sheet = await signin.name_monitor(session, leader, sheet.find(monitor.aad_id).key)
    assert sheet.session.monitors == [monitor]
    _, _, added = await signin.add_named(sheet.session, monitor, {"add_name": "Phone Caller"})
    assert added
    # The monitor records names; removing entries stays with the leader.
    row = next(r for r in (await signin.sheet(sheet.session)).attendees if r.name == "Phone Caller")
    with pytest.raises(NotAllowed):
        await signin.remove(sheet.session, monitor, row.key)


async def test_a_monitor_must_be_a_teams_user_on_the_sheet_and_there_is_one(
    start, signin, leader, persons
):
    session = (await start()).session
    _, _, _ = await signin.add_named(session, leader, {"add_name": "Phone Caller"})
    named = (await signin.sheet(session)).attendees[0]
    with pytest.raises(InvalidInput):
        await signin.name_monitor(session, leader, named.key)
    with pytest.raises(InvalidInput):
        await signin.name_monitor(session, leader, "u-not-on-the-sheet")
    for person in persons[1:3]:
        await signin.sign_in(session, person, {})
    sheet = await signin.sheet(session)
    session = (
        await signin.name_monitor(session, leader, sheet.find(persons[1].aad_id).key)
    ).session
    session = (
        await signin.name_monitor(session, leader, sheet.find(persons[2].aad_id).key)
    ).session
    assert session.monitors == [persons[2]]


async def test_the_leader_removes_entries_and_forged_keys_are_refused(
    start, signin, leader, persons
):
    session = (await start()).session
    sheet, _ = await signin.sign_in(session, persons[1], {})
    with pytest.raises(InvalidInput):
        await signin.remove(session, leader, {"key": "forged"})
    with pytest.raises(InvalidInput):
        await signin.remove(session, leader, "u-unknown")
    assert (await signin.remove(session, leader, sheet.find(persons[1].aad_id).key)).count == 0


async def test_closing_stops_sign_in_and_reopening_restores_it(start, signin, leader, persons):
    session = (await start()).session
    await signin.sign_in(session, persons[1], {})
    with pytest.raises(NotAllowed):
        await signin.close(session, persons[1])
    closed = (await signin.close(session, leader)).session
    assert closed.status == "signin_closed" and closed.closed_at is not None and closed.held
    for refused in (
        signin.sign_in(closed, persons[2], {}),
        signin.undo(closed, persons[1]),
        signin.add_named(closed, leader, {"add_name": "Late Caller"}),
        signin.import_roster(closed, leader, [persons[3]], [persons[3].aad_id]),
    ):
        with pytest.raises(WrongState) as error:
            await refused
        assert error.value.key == "error.signin_closed"
    # Closing twice keeps the first closing time.
    assert (await signin.close(closed, leader)).session.closed_at == closed.closed_at
    with pytest.raises(NotAllowed):
        await signin.reopen(closed, persons[1])
    reopened = (await signin.reopen(closed, leader)).session
    assert (reopened.status, reopened.closed_at) == ("signin", None)
    assert (await signin.sign_in(reopened, persons[2], {}))[0].count == 2


async def test_ending_frees_the_chat_keeps_the_sheet_and_old_cards_find_no_session(
    start, signin, leader, persons
):
    session = (await start()).session
    await signin.sign_in(session, persons[1], {})
    with pytest.raises(NotAllowed):
        await signin.end(session, persons[1])
    ended = await signin.end(session, leader)
    assert ended.session.status == "ended" and ended.count == 1
    assert await signin.active(session.conversation_id) is None
    with pytest.raises(NoSession):
        await signin.for_card(session.conversation_id, session.session_id)


async def test_a_card_names_its_own_session_or_is_refused(start, signin):
    session = (await start()).session
    assert (await signin.for_card(session.conversation_id, session.session_id)) == session
    with pytest.raises(NoSession) as stale:
        await signin.for_card(session.conversation_id, "another-session")
    assert stale.value.key == "error.stale_card"
    with pytest.raises(NoSession):
        await signin.for_card(session.conversation_id, ["not", "a", "string"])
    with pytest.raises(NoSession):
        await signin.for_card("19:another-chat", session.session_id)


@pytest.mark.parametrize(
    "data",
    [
        {"cycle": 2026, "entity": "NOPE", "sid": "x"},
        {"cycle": True, "entity": "DESA", "sid": "x"},
        {"cycle": "2026", "entity": "DESA", "sid": "a/b"},
        {"cycle": 2026, "entity": "DESA", "sid": "a" * 65},
        {},
    ],
)
async def test_sessions_named_by_forged_card_data_are_refused(start, signin, data):
    session = (await start()).session
    assert (
        await signin.by_keys({"cycle": "2026", "entity": "DESA", "sid": session.session_id})
    ) == session
    with pytest.raises(NoSession):
        await signin.by_keys(data)


async def test_the_roster_offers_members_and_adds_only_the_ticked_once(
    start, signin, leader, persons
):
    session = (await start()).session
    await signin.sign_in(session, persons[1], {"my_category": "non_staff"})
    long_name = replace(persons[2], name="N" * (MAX_NAME + 50))
    members = [leader, persons[1], long_name, persons[3], persons[4], Person("", "29:bot", "A")]
    offered = await signin.roster_candidates(session, leader, members)
    # Not the leader, not who signed in, not an account without an Entra id.
    assert {m.aad_id for m in offered} == {persons[2].aad_id, persons[3].aad_id, persons[4].aad_id}
    chosen = [persons[2].aad_id.upper(), persons[3].aad_id, persons[9].aad_id, leader.aad_id]
    sheet, added = await signin.import_roster(session, leader, members, chosen)
    assert (added, sheet.count) == (2, 3)
    assert sheet.find(persons[1].aad_id).category == "non_staff"  # kept as signed in
    assert len(sheet.find(persons[2].aad_id).name) == MAX_NAME
    assert sheet.find(persons[4].aad_id) is None  # in the chat, not ticked: not attending
    assert sheet.find(persons[9].aad_id) is None  # ticked, not in the chat: forged
    assert sheet.find(leader.aad_id) is None
    assert (await signin.import_roster(session, leader, members, chosen))[1] == 0
    with pytest.raises(InvalidInput):
        await signin.import_roster(session, leader, members, [])
    with pytest.raises(NotAllowed):
        await signin.import_roster(session, persons[1], members, chosen)


async def test_meeting_joins_are_hints_until_the_leader_confirms_them(
    start, signin, leader, persons
):
    session = (await start()).session
    assert await signin.record_join(session.conversation_id, [leader, persons[1], persons[2]])
    sheet = await signin.sheet(session)
    assert sheet.count == 0
    assert {h.aad_id for h in sheet.hints} == {persons[1].aad_id, persons[2].aad_id}
    await signin.sign_in(session, persons[1], {})
    assert [h.aad_id for h in (await signin.sheet(session)).hints] == [persons[2].aad_id]
    with pytest.raises(NotAllowed):
        await signin.confirm_hints(session, persons[1])
    sheet, added = await signin.confirm_hints(session, leader)
    assert (added, sheet.count, sheet.hints) == (1, 2, [])
    closed = (await signin.close(session, leader)).session
    assert not await signin.record_join(closed.conversation_id, [persons[3]])
    assert not await signin.record_join("19:no-session", [persons[3]])


@pytest.mark.parametrize(
    ("count", "advice"),
    [
        (0, "advice.joint"),
        (4, "advice.joint"),
        (5, "advice.small"),
        (9, "advice.small"),
        (10, None),
        (25, None),
        (26, "advice.split"),
    ],
)
def test_the_guides_advice_on_the_groups_size(count, advice):
    assert size_advice(count) == advice


async def test_a_change_made_meanwhile_is_kept_when_the_leader_closes(
    start, signin, leader, persons
):
    session = (await start()).session
    sheet, _ = await signin.sign_in(session, persons[1], {})
    # Another instance names the monitor; this one still holds the older copy.
    await signin.name_monitor(session, leader, sheet.find(persons[1].aad_id).key)
    closed = (await signin.close(session, leader)).session
    assert closed.status == "signin_closed" and closed.monitors == [persons[1]]


async def test_a_storage_fault_is_told_never_dropped(start, signin, store, persons):
    session = (await start()).session
    store.outage.down = True
    # The rule lets the failure travel up: the router tells the person "not saved".
    with pytest.raises(StorageUnavailable):
        await signin.sign_in(session, persons[1], {})
    store.outage.down = False
    assert (await signin.sheet(session)).count == 0
