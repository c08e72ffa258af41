"""Roll-ups on the fakes: Appendix E sums, progress, certification, extensions, the cascade."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dialogs.errors import InvalidInput, NotAllowed, WrongState
from dialogs.rollup import totals_of, units_of


@pytest.fixture
def hold(start, signin, rollup):
    """Hold a session: sign `attendees` in, keep the counts as the bot does, close sign-in."""

    async def held(by, attendees, *, close=True, **setup):
        session = (await start(by=by, **setup)).session
        for person, details in attendees:
            sheet, _ = await signin.sign_in(session, person, details)
        sheet = await signin.sheet(session)
        await rollup.record_counts(session, sheet.rows)
        session = await signin.reload(session)
        return (await signin.close(session, by)).session if close else session

    return held


@pytest.fixture
async def focal(directory, admin, persons):
    """DESA's focal point."""
    await directory.add_focal_point(admin, "DESA", persons[25])
    return persons[25]


async def test_appendix_e_sums_split_sessions_of_one_unit_into_one_row(hold, persons):
    a = await hold(persons[20], [(p, {}) for p in persons[1:4]], personnel="30")
    b = await hold(
        persons[21],
        [(p, {}) for p in persons[4:6]],
        unit="statistics   DIVISION",
        personnel="28",
        date="2026-11-22",
    )
    c = await hold(persons[22], [(persons[6], {})], unit="Population", personnel="12")
    units = units_of([c, b, a])
    # By first date, then unit; participants add up, a unit's personnel counts once.
    assert [(u.unit, u.sessions, u.participants, u.personnel) for u in units] == [
        ("Population", 1, 1, 12),
        ("Statistics Division", 2, 5, 30),
    ]
    assert units[1].leaders == (persons[20].name, persons[21].name)
    totals = totals_of(units)
    assert (totals.sessions, totals.participants, totals.personnel) == (3, 6, 42)
    assert totals.coverage == pytest.approx(6 / 42)
    assert totals_of([]).coverage is None


async def test_progress_counts_held_sessions_only(hold, rollup, directory, clock, persons):
    await hold(
        persons[20],
        [(persons[1], {"my_category": "non_staff", "my_agency": "UNDP"}), (persons[2], {})],
    )
    await hold(persons[21], [(persons[3], {"my_agency": "UNDP "})], unit="Population")
    await hold(persons[22], [(persons[4], {})], unit="Open unit", close=False)
    await hold(persons[23], [(persons[5], {})], entity="DPO")
    progress = await rollup.progress(await directory.entity("DESA"))
    assert (progress.totals.sessions, progress.totals.participants) == (2, 3)
    assert progress.open_sessions == 1
    assert (progress.non_staff, progress.agencies) == (1, {"UNDP": 2})
    assert progress.deadline == date(2026, 12, 31)
    assert progress.days_left == (date(2026, 12, 31) - clock().date()).days
    assert progress.certification is None and not progress.changed_since_certification


async def test_counts_follow_the_sheet_and_unchanged_counts_write_nothing(
    start, signin, rollup, persons
):
    session = (await start()).session
    for person in persons[1:4]:
        await signin.sign_in(session, person, {})
    await signin.record_join(session.conversation_id, [persons[9]])  # a hint is not counted
    sheet = await signin.sheet(session)
    assert await rollup.record_counts(session, sheet.rows) is True
    session = await signin.reload(session)
    assert session.participants == 3
    assert await rollup.record_counts(session, sheet.rows) is False


async def test_certifying_recounts_from_the_sheets_and_stores_a_snapshot(
    hold, rollup, directory, focal, signin, store, persons
):
    entity = await directory.entity("DESA")
    with pytest.raises(WrongState) as refused:
        await rollup.certify(focal, entity)
    assert refused.value.key == "error.nothing_to_certify"
    session = await hold(persons[20], [(p, {}) for p in persons[1:4]])
    # The stored count lags behind the sheet (a sign-in whose count update was lost).
    await store.sessions.save(replace(session, participants=1))
    certified = await rollup.certify(focal, entity)
    assert (certified.sessions, certified.participants, certified.personnel) == (1, 3, 20)
    assert certified.units == [{"unit": "Statistics Division", "participants": 3, "personnel": 20}]
    assert await rollup.is_certified(2026, "DESA") and not await rollup.is_certified(2026, "DPO")
    assert (await store.rollup.totals(2026))["DESA"].participants == 3
    assert (await signin.reload(session)).participants == 3  # the session is corrected too
    await hold(persons[21], [(persons[5], {})], unit="Population")
    assert (await rollup.progress(entity)).changed_since_certification


async def test_the_organization_view_is_for_admins_and_shows_counts_per_entity(
    hold, rollup, directory, admin, focal, persons
):
    await hold(persons[20], [(p, {}) for p in persons[1:3]])
    await rollup.refresh_totals(2026, "DESA")
    await directory.deactivate_entity(admin, "OICT")
    with pytest.raises(NotAllowed):
        await rollup.organization(focal)
    cycle, lines = await rollup.organization(admin)
    assert cycle.year == 2026
    by_code = {line.entity.code: line for line in lines}
    assert set(by_code) == {"DESA", "DPO"}  # an inactive entity without sessions is left out
    assert (by_code["DESA"].totals.sessions, by_code["DESA"].totals.participants) == (1, 2)
    assert by_code["DPO"].totals.sessions == 0


async def test_an_extension_is_requested_once_and_granted_by_an_admin(
    rollup, directory, admin, focal, clock
):
    entity = await directory.entity("DESA")
    with pytest.raises(InvalidInput):
        await rollup.request_extension(focal, entity, {"reason": "  "}, "click-1")
    asked = await rollup.request_extension(focal, entity, {"reason": "Retreat"}, "click-1")
    again = await rollup.request_extension(focal, entity, {"reason": "Retreat"}, "click-1")
    assert again.key == asked.key
    assert len(await rollup.extensions(admin)) == 1
    actions = [e.action for e in await directory.audit_log(admin)]
    assert actions.count("extension.request") == 1
    _, lines = await rollup.organization(admin)
    assert next(x for x in lines if x.entity.code == "DESA").extension_requested
    with pytest.raises(NotAllowed):
        await rollup.decide_extension(focal, asked.key, "2027-01-31")
    with pytest.raises(InvalidInput):
        await rollup.decide_extension(admin, "unknown", "2027-01-31")
    with pytest.raises(InvalidInput):
        await rollup.decide_extension(admin, asked.key, "2026-01-01")  # in the past
    decided = await rollup.decide_extension(admin, asked.key, "2027-01-31")
    assert (decided.status, decided.new_deadline) == ("granted", date(2027, 1, 31))
    assert (await rollup.progress(await directory.entity("DESA"))).deadline == date(2027, 1, 31)


async def test_the_cascade_shows_who_attended_before_leading_and_units_still_missing(
    hold, rollup, directory, persons
):
    entity = await directory.entity("DESA")
    count = await rollup.import_expected(
        entity,
        {"expected_csv": 'Statistics Division\r\n"Population",Zed Leader\n\nMicrodata,'},
    )
    assert count == 3 and await rollup.has_expected(entity)
    # The director leads first; a manager attends it, then leads their own session.
    first = await hold(persons[20], [(persons[21], {})])
    await rollup.mark_attendance(first)
    await hold(persons[21], [(persons[2], {})], unit="Microdata", date="2026-11-21")
    lines, missing = await rollup.cascade(entity)
    assert [(x.leader, x.unit, x.attended) for x in lines] == [
        (persons[20].name, "Statistics Division", False),
        (persons[21].name, "Microdata", True),
    ]
    assert [(x.unit, x.leader) for x in missing] == [("Population", "Zed Leader")]


async def test_attendance_of_an_open_session_is_not_remembered(hold, rollup, store, persons):
    session = await hold(persons[20], [(persons[1], {})], close=False)
    await rollup.mark_attendance(session)
    assert await store.rollup.attended(2026, {persons[1].aad_id}) == set()


@pytest.mark.parametrize(
    "csv",
    [None, "Unit," + "x" * 101, "x" * 121, ",Leader only", "\n".join(f"U{n}" for n in range(2001))],
)
async def test_a_bad_expected_list_is_refused_and_the_old_one_kept(rollup, directory, csv):
    entity = await directory.entity("DESA")
    await rollup.import_expected(entity, {"expected_csv": "Kept unit"})
    with pytest.raises(InvalidInput):
        await rollup.import_expected(entity, {"expected_csv": csv})
    _, missing = await rollup.cascade(entity)
    assert [x.unit for x in missing] == ["Kept unit"]
