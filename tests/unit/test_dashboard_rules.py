"""The dashboard's weekly series on the fakes: the same sessions and sums as the progress card."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs.errors import NotAllowed
from dialogs.rollup import certified_by, totals_of, units_of, weekly_progress


@pytest.fixture
def hold(start, signin, rollup):
    """Hold a session: sign `attendees` in, keep the counts as the bot does, close sign-in."""

    async def held(by, attendees, *, close=True, **setup):
        session = (await start(by=by, **setup)).session
        for person in attendees:
            await signin.sign_in(session, person, {})
        sheet = await signin.sheet(session)
        await rollup.record_counts(session, sheet.rows)
        session = await signin.reload(session)
        return (await signin.close(session, by)).session if close else session

    return held


async def test_weeks_run_from_the_first_session_to_the_deadline_and_end_on_the_totals(
    hold, rollup, directory, persons
):
    # Friday 6 November (W45), Monday and Friday 16/20 November (W47), one still open (W47).
    await hold(persons[20], persons[1:4], date="2026-11-06", unit="Population")
    await hold(persons[21], persons[4:6], date="2026-11-16", unit="Statistics")
    await hold(
        persons[22],
        persons[6:9],
        date="2026-11-20",
        unit="Statistics",
        joint_unit_1="Data Section",
        joint_personnel_1="9",
    )
    await hold(persons[23], persons[9:11], date="2026-11-20", unit="Open", close=False)
    progress = await rollup.progress(await directory.entity("DESA"))
    weeks = weekly_progress(progress.held, through=progress.deadline)

    assert weeks[0].week == "2026-W45" and weeks[0].monday == date(2026, 11, 2)
    # Every week up to the one holding 31 December 2026 (a Thursday of W53), empty ones too.
    assert weeks[-1].week == "2026-W53" and len(weeks) == 9
    assert [(w.week, w.sessions, w.participants) for w in weeks[:3]] == [
        ("2026-W45", 1, 3),
        ("2026-W46", 0, 0),
        ("2026-W47", 2, 5),
    ]
    # The joint session is one session with its sheet, as on the TOTAL row; the open one is out.
    totals = totals_of(units_of(progress.held))
    assert (weeks[-1].total_sessions, weeks[-1].total_participants) == (3, 8)
    assert (
        (totals.sessions, totals.participants)
        == (3, 8)
        == (
            progress.totals.sessions,
            progress.totals.participants,
        )
    )


def test_no_held_session_has_no_weeks():
    assert weekly_progress([], through=date(2026, 12, 31)) == []


async def test_a_session_after_the_deadline_still_has_its_week(hold, rollup, directory, persons):
    await hold(persons[20], persons[1:3], date="2026-11-20")
    progress = await rollup.progress(await directory.entity("DESA"))
    weeks = weekly_progress(progress.held, through=date(2026, 11, 1))
    assert [(w.week, w.sessions, w.participants) for w in weeks] == [("2026-W47", 1, 2)]


async def test_the_organization_weeks_sum_every_entity_for_admins_only(
    hold, rollup, admin, persons
):
    await hold(persons[20], persons[1:4], date="2026-11-16")
    await hold(persons[21], persons[4:6], date="2026-11-18", entity="DPO")
    weeks = await rollup.organization_weekly(admin)
    assert [(w.week, w.sessions, w.participants) for w in weeks][0] == ("2026-W47", 2, 5)
    assert weeks[-1].total_participants == 5
    with pytest.raises(NotAllowed):
        await rollup.organization_weekly(persons[1])


async def test_certified_by_names_the_head_the_focal_point_or_awaiting(
    hold, rollup, directory, admin, persons
):
    await directory.add_focal_point(admin, "DESA", persons[25])
    desa = await directory.entity("DESA")
    assert certified_by(None) == ""
    await hold(persons[20], persons[1:3])
    assert certified_by(await rollup.certify(persons[25], desa)) == "focal"
    head = persons[24]
    await directory.name_head_of_entity(
        admin, "DESA", head, service_url="https://smba.example/", tenant_id="t"
    )
    submitted = await rollup.certify(persons[25], desa)
    assert certified_by(submitted) == "awaiting"
    _, confirmed = await rollup.confirm(head, "DESA", submitted.certified_at.isoformat())
    assert certified_by(confirmed) == "head"
