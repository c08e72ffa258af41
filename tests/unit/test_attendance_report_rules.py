"""Who the attendance report names that the sheet lacks, and the leader's one-click add."""

from __future__ import annotations

import pytest

from dialogs.attendance_report import AttendanceReconciler, attendee
from dialogs.errors import InvalidInput, NotAllowed, WrongState


def report(persons, *extra):
    """The report of a meeting the first seven persons attended, plus `extra` records."""
    return [attendee(p.aad_id, p.name, "Attendee", 3000) for p in persons[:7]] + list(extra)


async def test_the_signed_in_the_leader_and_names_typed_by_phone_are_not_missing(
    signin, start, persons, leader
):
    sheet = await start()
    session = sheet.session
    await signin.sign_in(session, persons[1], {})
    await signin.add_named(session, leader, {"add_name": persons[2].name.upper()})
    fetched = report(persons, attendee(None, "Phone Caller", "Attendee", 60))
    compared = await AttendanceReconciler(signin).compare(session, leader, _returning(fetched))
    names = [a.name for a in compared.missing]
    assert leader.name not in names and persons[1].name not in names
    assert persons[2].name not in names, "a look-alike of a typed name is the same person"
    assert set(names) == {p.name for p in persons[3:7]} | {"Phone Caller"}


async def test_a_participant_is_refused_before_graph_is_asked(signin, start, persons):
    session = (await start()).session
    asked = []

    async def fetch():
        asked.append(1)
        return []

    with pytest.raises(NotAllowed):
        await AttendanceReconciler(signin).compare(session, persons[1], fetch)
    with pytest.raises(NotAllowed):
        await AttendanceReconciler(signin).add(session, persons[1], persons[3].aad_id, fetch)
    assert asked == []


async def test_the_add_takes_only_a_key_of_the_report_and_follows_the_sheets_rule(
    signin, start, persons, leader
):
    session = (await start()).session
    rule = AttendanceReconciler(signin)
    fetch = _returning(report(persons))
    with pytest.raises(InvalidInput):
        await rule.add(session, leader, persons[20].aad_id, fetch)
    added = await rule.add(session, leader, persons[4].aad_id, fetch)
    assert [r.aad_id for r in added.sheet.attendees] == [persons[4].aad_id]
    assert persons[4].name not in {a.name for a in added.missing}
    closed = (await signin.close(session, leader)).session
    with pytest.raises(WrongState):
        await rule.add(closed, leader, persons[5].aad_id, fetch)


def _returning(records):
    async def fetch():
        return records

    return fetch
