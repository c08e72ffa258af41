"""SessionStore and AttendanceStore: the fakes and the Azure Tables repositories agree."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from azure.core.exceptions import ResourceNotFoundError

from storage import ActiveSessionExists, WriteConflict
from storage.records import JointUnit, Person


async def test_a_created_session_reads_back_equal_with_its_times_in_utc(repos, build):
    made = build.session(
        1,
        held_at=build.t0 + timedelta(hours=2),
        frozen_at=build.t0 + timedelta(hours=2, seconds=1),
        scenario_seconds={"s2": 3.25},
    )
    stored = await repos.sessions.create(made)
    assert stored.etag
    assert replace(stored, etag=None) == made
    assert build.in_utc(stored.created_at) and build.in_utc(stored.held_at)
    assert build.in_utc(stored.frozen_at) and stored.frozen
    for found in (
        await repos.sessions.get(made.cycle, made.entity, made.session_id),
        await repos.sessions.active_for_chat(made.conversation_id),
        await repos.sessions.active_for_chat(made.conversation_id, expected=made.session_id),
    ):
        assert found == stored


async def test_unknown_sessions_and_chats_read_as_none(repos, build):
    assert await repos.sessions.get(2026, "DESA", "nope") is None
    assert await repos.sessions.active_for_chat("19:nobody@thread.v2") is None
    assert await repos.sessions.of_entity(2026, "DESA") == []
    assert await repos.sessions.led_by(build.person(0).aad_id) == []


async def test_a_chat_holds_one_active_session_and_a_retried_create_is_the_same(repos, build):
    first = await repos.sessions.create(build.session(1))
    again = await repos.sessions.create(build.session(1))
    assert again.session_id == first.session_id
    other = build.session(2, conversation_id=first.conversation_id)
    with pytest.raises(ActiveSessionExists) as refused:
        await repos.sessions.create(other)
    assert refused.value.session_id == first.session_id
    assert (await repos.sessions.active_for_chat(first.conversation_id)).session_id == (
        first.session_id
    )
    assert await repos.sessions.get(2026, "DESA", other.session_id) is None


async def test_releasing_the_chat_frees_it_only_for_its_own_session(repos, build):
    first = await repos.sessions.create(build.session(1))
    await repos.sessions.release_chat(first.conversation_id, "someone-else")
    assert await repos.sessions.active_for_chat(first.conversation_id) is not None
    await repos.sessions.release_chat(first.conversation_id, first.session_id)
    await repos.sessions.release_chat(first.conversation_id, first.session_id)  # harmless
    assert await repos.sessions.active_for_chat(first.conversation_id) is None
    # The released session is kept; a new one may take the chat.
    assert await repos.sessions.get(2026, "DESA", first.session_id) is not None
    second = await repos.sessions.create(build.session(2, conversation_id=first.conversation_id))
    assert (await repos.sessions.active_for_chat(first.conversation_id)) == second


async def test_save_replaces_under_the_etag_and_a_stale_copy_conflicts(repos, build):
    stored = await repos.sessions.create(build.session(1))
    saved = await repos.sessions.save(replace(stored, status="signin_closed", monitors=[]))
    assert saved.etag and saved.etag != stored.etag
    assert await repos.sessions.get(2026, "DESA", stored.session_id) == saved
    with pytest.raises(WriteConflict):
        await repos.sessions.save(replace(stored, status="ended"))
    again = await repos.sessions.save(replace(saved, participants=9))
    assert (await repos.sessions.get(2026, "DESA", stored.session_id)).participants == 9
    assert again.etag != saved.etag


async def test_save_without_an_etag_or_of_a_missing_session_is_a_bug_not_a_conflict(repos, build):
    stored = await repos.sessions.create(build.session(1))
    with pytest.raises(ValueError):
        await repos.sessions.save(replace(stored, etag=None))
    with pytest.raises(ResourceNotFoundError):
        await repos.sessions.save(replace(stored, session_id="missing" + "a" * 17))


async def test_of_entity_reads_one_partition_by_session_id(repos, build):
    for n in (3, 1, 2):
        await repos.sessions.create(build.session(n))
    await repos.sessions.create(build.session(4, entity="DPO"))
    await repos.sessions.create(build.session(5, cycle=2025))
    found = await repos.sessions.of_entity(2026, "DESA")
    assert [s.session_id for s in found] == [build.session(n).session_id for n in (1, 2, 3)]


async def test_led_by_lists_the_leaders_sessions_newest_first(repos, build):
    t0 = build.t0
    await repos.sessions.create(build.session(1, session_date=date(2026, 11, 2)))
    await repos.sessions.create(
        build.session(2, session_date=date(2026, 11, 9), created_at=t0 + timedelta(seconds=1))
    )
    await repos.sessions.create(build.session(3, session_date=date(2026, 11, 9), entity="DPO"))
    await repos.sessions.create(build.session(4, leader=build.person(7)))
    found = await repos.sessions.led_by(build.person(0).aad_id)
    assert [s.session_id[:5] for s in found] == ["s0002", "s0003", "s0001"]


async def test_a_sign_in_is_one_row_per_person_however_often(repos, build):
    kenji = build.person(1, "Kenji Watanabe")
    first = await repos.attendance.sign_in("s1", kenji, build.t0)
    assert first.key and first.added_by == kenji.aad_id
    await repos.attendance.sign_in(
        "s1", kenji, build.t0 + timedelta(seconds=5), category="non_staff", agency="UNDP"
    )
    rows = await repos.attendance.list("s1")
    assert len(rows) == 1
    assert (rows[0].category, rows[0].agency, rows[0].aad_id) == ("non_staff", "UNDP", kenji.aad_id)
    assert rows[0].signed_at == build.t0 + timedelta(seconds=5) and build.in_utc(rows[0].signed_at)
    assert await repos.attendance.get("s1", kenji.aad_id) == rows[0]
    assert await repos.attendance.get("s2", kenji.aad_id) is None
    assert await repos.attendance.list("s2") == []


async def test_a_name_added_twice_in_another_spelling_is_one_row(repos, build):
    # The rules decide the identity (the look-alike skeleton); the row is the identity's.
    await repos.attendance.add_named(
        "s1",
        "Ana  Costa",
        build.t0,
        identity="ana costa",
        category="staff",
        agency="",
        added_by="leader",
    )
    await repos.attendance.add_named(
        "s1",
        "ANA COSTA",
        build.t0,
        identity="ana costa",
        category="non_staff",
        agency="WFP",
        added_by="monitor",
    )
    rows = await repos.attendance.list("s1")
    assert [(r.name, r.source, r.category, r.added_by, r.aad_id) for r in rows] == [
        ("ANA COSTA", "added", "non_staff", "monitor", "")
    ]


async def test_add_users_adds_only_the_new_and_counts_them_past_one_batch(repos, build):
    signed = build.person(1)
    await repos.attendance.sign_in("s1", signed, build.t0, category="non_staff")
    people = [build.person(n) for n in range(1, 131)]
    added = await repos.attendance.add_users(
        "s1", people + people[:5], build.t0, source="roster", added_by="leader"
    )
    assert added == 129
    rows = await repos.attendance.list("s1")
    assert len(rows) == 130
    kept = next(r for r in rows if r.aad_id == signed.aad_id)
    assert (kept.source, kept.category) == ("self", "non_staff")
    assert (
        await repos.attendance.add_users("s1", people, build.t0, source="roster", added_by="x") == 0
    )


async def test_a_join_hint_is_its_own_row_and_hidden_once_its_user_signs_in(repos, build):
    mei = build.person(2, "Mei Lin")
    await repos.attendance.add_hint("s1", mei, build.t0)
    rows = await repos.attendance.list("s1")
    assert [(r.source, r.is_hint, r.aad_id) for r in rows] == [("hint", True, mei.aad_id)]
    assert await repos.attendance.get("s1", mei.aad_id) is None
    await repos.attendance.sign_in("s1", mei, build.t0 + timedelta(seconds=1))
    assert [r.source for r in await repos.attendance.list("s1")] == ["self"]
    # A later roster import does not count a person already signed in, hint or not.
    assert (
        await repos.attendance.add_users("s1", [mei], build.t0, source="joined", added_by="l") == 0
    )


async def test_the_sheet_is_oldest_first_then_hints(repos, build):
    t0 = build.t0
    await repos.attendance.sign_in("s1", build.person(1), t0 + timedelta(seconds=3))
    await repos.attendance.add_hint("s1", build.person(2), t0)
    await repos.attendance.add_named(
        "s1",
        "Zed",
        t0 + timedelta(seconds=1),
        identity="zed",
        category="staff",
        agency="",
        added_by="l",
    )
    await repos.attendance.sign_in("s1", build.person(3), t0 + timedelta(seconds=2))
    rows = await repos.attendance.list("s1")
    assert [r.name for r in rows] == ["Zed", "Person 3", "Person 1", "Person 2"]


async def test_removing_a_row_deletes_it_and_a_missing_row_is_no_error(repos, build):
    row = await repos.attendance.sign_in("s1", build.person(1), build.t0)
    assert await repos.attendance.remove("s1", row.key) is True
    assert await repos.attendance.list("s1") == []
    # Found by this suite: Azure's delete ignores a missing row, so the answer is True here too.
    assert await repos.attendance.remove("s1", row.key) is True


async def test_people_with_the_same_name_are_different_rows(repos, build):
    twins = [Person(build.person(n).aad_id, build.person(n).mri, "Ana Costa") for n in (1, 2)]
    for twin in twins:
        await repos.attendance.sign_in("s1", twin, build.t0)
    assert len(await repos.attendance.list("s1")) == 2


async def test_the_leaders_index_follows_index_and_unindex_and_lists_only_current_leaders(
    repos, build
):
    stored = await repos.sessions.create(build.session(1))
    amina, mei = build.person(0).aad_id, build.person(2).aad_id
    # Listed under the new leader first (as the reassignment does): not theirs until it is.
    await repos.sessions.index_leader(stored, mei)
    await repos.sessions.index_leader(stored, mei)  # again: no change
    assert await repos.sessions.led_by(mei) == []
    moved = await repos.sessions.save(replace(stored, leader=build.person(2, "Mei Lin")))
    assert [s.session_id for s in await repos.sessions.led_by(mei)] == [stored.session_id]
    # The old leader's entry, still there, no longer lists a session they do not lead.
    assert await repos.sessions.led_by(amina) == []
    await repos.sessions.unindex_leader(moved, amina)
    await repos.sessions.unindex_leader(moved, amina)  # a missing entry is no error
    assert await repos.sessions.led_by(amina) == []
    assert [s.session_id for s in await repos.sessions.led_by(mei)] == [stored.session_id]


async def test_row_keys_are_the_ones_key_for_gives(repos, build):
    kenji = build.person(1, "Kenji Watanabe")
    signed = await repos.attendance.sign_in("s1", kenji, build.t0)
    named = await repos.attendance.add_named(
        "s1", "Ana Costa", build.t0, identity="ana costa", category="staff", agency="", added_by="l"
    )
    assert repos.attendance.key_for(kenji, "ignored") == signed.key
    assert repos.attendance.key_for(None, "ana costa") == named.key != signed.key
    assert {r.key for r in await repos.attendance.list("s1")} == {signed.key, named.key}


async def test_a_correction_is_insert_only_and_never_makes_an_assessor(repos, build):
    kenji, mei = build.person(1, "Kenji Watanabe"), build.person(2, "Mei Lin")
    signed = await repos.attendance.sign_in("s1", kenji, build.t0, category="non_staff")
    refused = await repos.attendance.add_correction(
        "s1",
        person=kenji,
        name="Kenji W.",
        identity="kenji w.",
        at=build.t0 + timedelta(hours=1),
        category="staff",
        agency="",
        added_by="focal",
    )
    assert refused is None
    assert await repos.attendance.get("s1", kenji.aad_id) == signed  # the row is untouched
    for person, name, identity in ((mei, "Mei Lin", "mei lin"), (None, "Ana Costa", "ana costa")):
        added = await repos.attendance.add_correction(
            "s1",
            person=person,
            name=name,
            identity=identity,
            at=build.t0 + timedelta(hours=1),
            category="non_staff",
            agency="WFP",
            added_by="focal",
        )
        assert added is not None and added.key == repos.attendance.key_for(person, identity)
    rows = {r.name: r for r in await repos.attendance.list("s1")}
    assert [(r.source, r.added_after_freeze, r.may_assess, r.on_sheet) for r in rows.values()] == [
        ("self", False, True, True),
        ("focal", True, False, True),
        ("focal", True, False, True),
    ]
    assert (rows["Mei Lin"].aad_id, rows["Ana Costa"].aad_id) == (mei.aad_id, "")
    assert rows["Ana Costa"].added_by == "focal" and rows["Ana Costa"].agency == "WFP"
    assert build.in_utc(rows["Mei Lin"].signed_at)


async def test_a_struck_row_is_kept_not_counted_and_restored_as_it_was(repos, build):
    kenji = build.person(1, "Kenji Watanabe")
    signed = await repos.attendance.sign_in("s1", kenji, build.t0, agency="UNDP")
    at = build.t0 + timedelta(hours=3)
    assert await repos.attendance.strike("s1", signed.key, at) is True
    assert await repos.attendance.strike("s1", "u-nobody", at) is False
    assert await repos.attendance.list("s1") != []  # nothing new was made by the miss
    struck = await repos.attendance.get("s1", kenji.aad_id)
    assert struck == replace(signed, struck_at=at)
    assert build.in_utc(struck.struck_at) and not struck.on_sheet and struck.may_assess
    assert len(await repos.attendance.list("s1")) == 1
    await repos.attendance.restore("s1", struck)
    assert await repos.attendance.get("s1", kenji.aad_id) == signed


async def test_a_joint_session_keeps_each_unit_with_its_personnel(repos, build):
    # FAQ: "several units hold the session jointly": each unit keeps its own total personnel.
    joint = [JointUnit("Population Division", 6), JointUnit("Équipe Côte d'Ivoire", 4)]
    stored = await repos.sessions.create(build.session(1, joint_units=joint))
    assert stored.joint_units == joint
    again = await repos.sessions.get(2026, "DESA", stored.session_id)
    assert again == stored
    assert [(u.unit, u.personnel) for u in again.all_units] == [
        ("Statistics Division", 40),
        ("Population Division", 6),
        ("Équipe Côte d'Ivoire", 4),
    ]
    saved = await repos.sessions.save(replace(again, participants=7))
    assert (await repos.sessions.get(2026, "DESA", saved.session_id)).joint_units == joint


async def test_a_session_stored_before_joint_sessions_reads_as_one_unit(repos, build):
    stored = await repos.sessions.create(build.session(1))
    assert stored.joint_units == []
    assert [(u.unit, u.personnel) for u in stored.all_units] == [("Statistics Division", 40)]


async def test_the_facilitator_reads_back_and_can_be_withdrawn(repos, build):
    stored = await repos.sessions.create(build.session(1))
    assert stored.facilitator is None
    named = await repos.sessions.save(replace(stored, facilitator=build.person(2, "Priya Raman")))
    again = await repos.sessions.get(2026, "DESA", stored.session_id)
    assert again == named and again.facilitator == build.person(2, "Priya Raman")
    withdrawn = await repos.sessions.save(replace(named, facilitator=None))
    assert (await repos.sessions.get(2026, "DESA", stored.session_id)) == withdrawn
    assert withdrawn.facilitator is None


async def test_a_join_hint_keeps_whether_teams_confirmed_it(repos, build):
    mei, ravi = build.person(2, "Mei Lin"), build.person(3, "Ravi Patel")
    await repos.attendance.add_hint("s1", mei, build.t0, in_meeting=True)
    await repos.attendance.add_hint("s1", ravi, build.t0)
    rows = {r.aad_id: r for r in await repos.attendance.list("s1")}
    assert (rows[mei.aad_id].in_meeting, rows[ravi.aad_id].in_meeting) == (True, False)
    # Joined again, Teams not asked this time: the hint is replaced, a plain hint now.
    await repos.attendance.add_hint("s1", mei, build.t0 + timedelta(seconds=1))
    rows = {r.aad_id: r for r in await repos.attendance.list("s1")}
    assert rows[mei.aad_id].is_hint and not rows[mei.aad_id].in_meeting


async def test_a_headcount_counts_and_lists_ids_as_the_sheet_does_but_names_nobody(repos, build):
    kenji, mei, ana = (build.person(n, name) for n, name in ((1, "Kenji"), (2, "Mei"), (3, "Ana")))
    late = build.person(4, "Omar")
    await repos.attendance.sign_in("s1", kenji, build.t0, category="non_staff", agency="UNDP")
    struck = await repos.attendance.sign_in("s1", mei, build.t0 + timedelta(seconds=1))
    await repos.attendance.strike("s1", struck.key, build.t0 + timedelta(hours=1))
    await repos.attendance.add_hint("s1", ana, build.t0)
    await repos.attendance.add_named(
        "s1",
        "Joseph Mwangi",
        build.t0,
        identity="joseph mwangi",
        category="staff",
        agency="",
        added_by="x",
    )
    # Added by a focal point's correction after the freeze: counts, but may not assess.
    await repos.attendance.add_correction(
        "s1",
        person=late,
        name=late.name,
        identity="omar",
        at=build.t0 + timedelta(hours=2),
        category="staff",
        agency="",
        added_by="focal",
    )
    full = {r.key: r for r in await repos.attendance.list("s1")}
    counted = {r.key: r for r in await repos.attendance.headcount("s1")}
    assert counted.keys() == full.keys()
    for key, row in counted.items():
        assert (row.aad_id, row.mri, row.source, row.on_sheet, row.is_hint, row.may_assess) == (
            full[key].aad_id,
            full[key].mri,
            full[key].source,
            full[key].on_sheet,
            full[key].is_hint,
            full[key].may_assess,
        )
        assert row.name == "" and row.agency == "" and row.category == "staff"
    # Kenji, Joseph and Omar; Mei was struck. Omar alone came after the freeze.
    assert sum(r.on_sheet for r in counted.values()) == 3
    assert [r.aad_id for r in counted.values() if not r.may_assess and not r.is_hint] == [
        late.aad_id
    ]
    assert await repos.attendance.headcount("s2") == []
