"""RetentionStore (the purge's counts and deletes) and the delivered-activity markers: the fakes
and the Azure Tables repositories agree."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.data.tables.aio import TableClient

from testing.fakes import FakeStore

DAY = timedelta(days=1)


async def add_legacy_receipts(request: pytest.FixtureRequest, repos, session_id: str, n: int):
    """Receipt rows as earlier versions kept them beside the aggregate (no port writes them)."""
    if isinstance(repos, FakeStore):
        repos.retention.add_legacy_receipts(session_id, n)
        return
    azurite = request.getfixturevalue("azurite")
    async with TableClient.from_connection_string(
        azurite.connection_string, repos.table_name("assessments")
    ) as table:
        for k in range(n):
            await table.upsert_entity(
                {"PartitionKey": session_id, "RowKey": f"r-{k:040x}", "State": "done"}
            )


async def test_the_entities_of_a_cycle_are_those_with_sessions_in_it(repos, build):
    await repos.sessions.create(build.session(1))
    await repos.sessions.create(build.session(2, entity="UN-WOMEN"))
    await repos.sessions.create(build.session(3, entity="DPO", cycle=2025))
    await repos.sessions.create(build.session(4, entity="OICT", cycle=2027))
    assert await repos.retention.entities_with_sessions(2026) == {"DESA", "UN-WOMEN"}
    assert await repos.retention.entities_with_sessions(2025) == {"DPO"}
    assert await repos.retention.entities_with_sessions(2024) == set()


async def test_a_whole_sheet_is_counted_and_deleted_hints_and_struck_rows_too(repos, build):
    t0, people = build.t0, [build.person(n) for n in range(4)]
    await repos.attendance.sign_in("s1", people[0], t0)
    await repos.attendance.add_hint("s1", people[0], t0)  # hidden by the sheet, still stored
    await repos.attendance.add_hint("s1", people[1], t0)
    await repos.attendance.add_named(
        "s1", "Ana Costa", t0, identity="ana costa", category="staff", agency="", added_by="x"
    )
    await repos.attendance.sign_in("s1", people[2], t0)
    assert await repos.attendance.strike("s1", repos.attendance.key_for(people[2], ""), t0)
    await repos.attendance.sign_in("s2", people[3], t0)
    assert len(await repos.attendance.list("s1")) == 4
    assert await repos.retention.sheet_size("s1") == 5
    assert await repos.retention.delete_sheet("s1") == 5
    assert await repos.attendance.list("s1") == []
    assert await repos.retention.sheet_size("s1") == 0
    assert await repos.retention.delete_sheet("s1") == 0  # again: no error
    assert [r.aad_id for r in await repos.attendance.list("s2")] == [people[3].aad_id]


async def test_legacy_receipts_go_and_the_aggregate_stays(request, repos, build):
    await repos.assessments.aggregate("s1", build.t0 + timedelta(days=7))
    assert await repos.retention.legacy_receipts("s1") == 0
    await add_legacy_receipts(request, repos, "s1", 3)
    await add_legacy_receipts(request, repos, "s2", 1)
    assert await repos.retention.legacy_receipts("s1") == 3
    assert await repos.retention.delete_legacy_receipts("s1") == 3
    assert await repos.retention.legacy_receipts("s1") == 0
    assert await repos.retention.delete_legacy_receipts("s1") == 0
    assert await repos.assessments.find("s1") is not None
    assert await repos.retention.legacy_receipts("s2") == 1


async def test_the_leader_index_says_whether_a_session_is_listed_under_a_person(repos, build):
    session = await repos.sessions.create(build.session(1))
    leader, other = build.person(0).aad_id, build.person(5).aad_id
    assert await repos.retention.leader_indexed(leader, session.session_id)
    assert not await repos.retention.leader_indexed(other, session.session_id)
    assert not await repos.retention.leader_indexed(leader, "another-session")
    await repos.sessions.unindex_leader(session, leader)
    assert not await repos.retention.leader_indexed(leader, session.session_id)


async def test_attended_rows_of_one_cycle_are_listed_and_forgotten_past_a_hundred(repos, build):
    people = [build.person(n).aad_id for n in range(150)]
    await repos.rollup.mark_attended(2026, people[:1])
    await repos.rollup.mark_attended(2026, people)  # 150: more than one transaction
    await repos.rollup.mark_attended(2025, people[:1])
    assert await repos.retention.attended(2026) == set(people)
    await repos.retention.forget_attended(2026, set(people[:140]) | {"never-attended"})
    assert await repos.retention.attended(2026) == set(people[140:])
    assert await repos.rollup.attended(2026, {people[0], people[149]}) == {people[149]}
    assert await repos.retention.attended(2025) == {people[0]}
    await repos.retention.forget_attended(2026, set())
    assert await repos.retention.attended(2024) == set()


async def test_a_marker_makes_a_redelivery_a_no_op_until_it_is_deleted(repos, build):
    t0 = build.t0
    assert await repos.dedupe.first_delivery("19:a@thread.v2", "act-1", t0 - 2 * DAY)
    assert not await repos.dedupe.first_delivery("19:a@thread.v2", "act-1", t0)
    assert await repos.dedupe.first_delivery("19:a@thread.v2", "act-2", t0)
    assert await repos.dedupe.first_delivery("19:b@thread.v2", "act-1", t0 - 3 * DAY)
    assert await repos.retention.markers_before(t0 - DAY) == 2
    assert await repos.retention.markers_before(t0 - 3 * DAY) == 0  # strictly before
    assert await repos.retention.delete_markers_before(t0 - DAY) == 2
    assert await repos.retention.markers_before(t0 + DAY) == 1
    assert not await repos.dedupe.first_delivery("19:a@thread.v2", "act-2", t0)
    # Its marker gone, an old activity would count as new: why only old markers go.
    assert await repos.dedupe.first_delivery("19:a@thread.v2", "act-1", t0)


async def test_setup_requests_made_before_a_time_are_counted_and_deleted(repos, build):
    t0 = build.t0
    await repos.setups.remember("19:a@thread.v2", "card-1", "asker-1", t0 - 10 * DAY)
    await repos.setups.remember("19:b@thread.v2", "card-2", "asker-2", t0 - 8 * DAY)
    await repos.setups.remember("19:b@thread.v2", "card-3", "asker-3", t0)
    assert await repos.retention.setups_before(t0 - 7 * DAY) == 2
    assert await repos.retention.setups_before(t0 - 10 * DAY) == 0  # strictly before
    assert await repos.retention.delete_setups_before(t0 - 7 * DAY) == 2
    assert await repos.setups.requester("19:a@thread.v2", "card-1") is None
    assert await repos.setups.requester("19:b@thread.v2", "card-2") is None
    assert await repos.setups.requester("19:b@thread.v2", "card-3") == "asker-3"
    assert await repos.retention.delete_setups_before(t0 - 7 * DAY) == 0


async def test_an_anonymised_appendix_c_version_keeps_its_number_time_and_other_answers(
    repos, build
):
    t0 = build.t0
    await repos.feedback.add("s1", 1, {"c2": "Amina Diallo", "c7": 4}, t0, "leader-id")
    await repos.feedback.add("s1", 2, {"c2": "Amina Diallo", "c7": 5}, t0 + DAY, "leader-id")
    (first, second) = await repos.feedback.versions("s1")
    stripped = type(first)("s1", 1, {"c2": "", "c7": 4}, first.submitted_at, "")
    await repos.retention.anonymise_feedback(stripped)
    assert await repos.feedback.versions("s1") == [stripped, second]
    assert build.in_utc((await repos.feedback.versions("s1"))[0].submitted_at)
    # A version that is not stored stays missing.
    await repos.retention.anonymise_feedback(type(first)("s9", 1, {}, t0, ""))
    assert await repos.feedback.versions("s9") == []
