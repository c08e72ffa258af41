"""Sessions as the FAQ defines them, on the fakes: joint sessions of several units, and split
sessions of one unit that should all have the same leader."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.errors import InvalidInput
from dialogs.forms import MAX_JOINT_UNITS, MAX_UNIT
from dialogs.rollup import totals_of, units_of
from storage.records import JointUnit, Person, SessionRecord


def joint(*rows: tuple[str, str]) -> dict[str, str]:
    """The setup card's joint-unit rows, numbered from 1."""
    data = {}
    for n, (unit, personnel) in enumerate(rows, start=1):
        data[f"joint_unit_{n}"] = unit
        data[f"joint_personnel_{n}"] = personnel
    return data


@pytest.fixture
def hold(start, signin, rollup):
    """Hold a session with `attendees` signed in, counts kept as the bot keeps them."""

    async def held(by, attendees, **setup):
        session = (await start(by=by, **setup)).session
        for person in attendees:
            await signin.sign_in(session, person, {})
        await rollup.record_counts(session, (await signin.sheet(session)).rows)
        return (await signin.close(await signin.reload(session), by)).session

    return held


async def test_a_joint_session_stores_each_unit_with_its_own_personnel(start, store):
    sheet = await start(**joint(("Population Division", "6"), ("  Data   Team ", "4")))
    stored = await store.sessions.get(2026, "DESA", sheet.session.session_id)
    assert stored.joint_units == [JointUnit("Population Division", 6), JointUnit("Data Team", 4)]
    assert [u.unit for u in stored.all_units] == [
        "Statistics Division",
        "Population Division",
        "Data Team",
    ]


async def test_empty_joint_rows_are_skipped_and_a_one_unit_session_has_none(start):
    sheet = await start(**joint(("", ""), ("Data Team", "3")), joint_unit_3="  ")
    assert sheet.session.joint_units == [JointUnit("Data Team", 3)]
    assert (await start()).session.joint_units == []


@pytest.mark.parametrize(
    ("rows", "key", "fields"),
    [
        # Half a row: a unit without its personnel, or personnel without a unit.
        ((("Data Team", ""),), "error.joint_incomplete", {"field": "joint_unit", "row": 1}),
        ((("", ""), ("", "4")), "error.joint_incomplete", {"field": "joint_unit", "row": 2}),
        (
            (("Data Team", "0"),),
            "error.joint_number",
            {"field": "joint_personnel", "row": 1, "low": 1, "high": 100_000},
        ),
        (
            (("Data Team", "four"),),
            "error.joint_number",
            {"field": "joint_personnel", "row": 1, "low": 1, "high": 100_000},
        ),
        # The first unit again, in another case and spacing; then one joint unit twice.
        (
            (("statistics  DIVISION", "4"),),
            "error.joint_duplicate",
            {"field": "joint_unit", "unit": "statistics DIVISION"},
        ),
        (
            (("Data Team", "4"), ("DATA TEAM", "5")),
            "error.joint_duplicate",
            {"field": "joint_unit", "unit": "DATA TEAM"},
        ),
        (
            (("x" * (MAX_UNIT + 1), "4"),),
            "error.too_long",
            {"field": "joint_unit", "max": MAX_UNIT},
        ),
    ],
)
async def test_a_bad_joint_unit_is_refused_and_nothing_is_stored(start, store, rows, key, fields):
    with pytest.raises(InvalidInput) as refused:
        await start(**joint(*rows))
    assert (refused.value.key, refused.value.fields) == (key, fields)
    assert await store.sessions.of_entity(2026, "DESA") == []


async def test_a_joint_unit_that_is_not_text_is_refused(start):
    with pytest.raises(InvalidInput) as refused:
        await start(joint_unit_1=["Data Team"], joint_personnel_1="4")
    assert refused.value.fields["field"] == "joint_unit"


async def test_rows_past_the_last_one_the_card_offers_are_ignored(start):
    rows = [(f"Unit {n}", "2") for n in range(1, MAX_JOINT_UNITS + 2)]
    sheet = await start(**joint(*rows))
    assert len(sheet.session.joint_units) == MAX_JOINT_UNITS


async def test_appendix_e_counts_a_joint_sessions_participants_once_on_its_first_unit(
    hold, rollup, directory, persons
):
    await hold(
        persons[20],
        persons[1:8],
        personnel="9",
        **joint(("Population Division", "5"), ("Data Team", "3")),
    )
    # The Data Team also holds its own session later: its personnel still counts once.
    await hold(persons[21], persons[8:10], unit="data team", personnel="4", date="2026-11-22")
    units = units_of((await rollup.progress(await directory.entity("DESA"))).held)
    by_unit = {u.unit: u for u in units}
    assert set(by_unit) == {"Statistics Division", "Population Division", "Data Team"}
    first = by_unit["Statistics Division"]
    assert (first.sessions, first.participants, first.personnel, first.joined) == (1, 7, 9, 0)
    assert first.joint_with == ("Population Division", "Data Team")
    guest = by_unit["Population Division"]
    assert (guest.sessions, guest.participants, guest.personnel, guest.joined) == (0, 0, 5, 1)
    assert guest.joint_with == ("Statistics Division", "Data Team")
    both = by_unit["Data Team"]
    assert (both.sessions, both.participants, both.personnel, both.joined) == (1, 2, 4, 1)
    totals = totals_of(units)
    # Two sessions, 7 + 2 participants, personnel 9 + 5 + max(3, 4).
    assert (totals.sessions, totals.participants, totals.personnel) == (2, 9, 18)


async def test_certification_keeps_which_units_held_the_session_jointly(
    hold, rollup, directory, admin, persons
):
    await directory.add_focal_point(admin, "DESA", persons[25])
    await hold(persons[20], persons[1:4], personnel="9", **joint(("Data Team", "3")))
    certified = await rollup.certify(persons[25], await directory.entity("DESA"))
    assert (certified.sessions, certified.participants, certified.personnel) == (1, 3, 12)
    assert certified.units == [
        {
            "unit": "Statistics Division",
            "participants": 3,
            "personnel": 9,
            "joint_with": ["Data Team"],
        },
        {
            "unit": "Data Team",
            "participants": 0,
            "personnel": 3,
            "joint_with": ["Statistics Division"],
        },
    ]


async def test_a_unit_in_a_joint_session_has_held_its_dialogue_for_the_cascade(
    hold, rollup, directory, persons
):
    entity = await directory.entity("DESA")
    await rollup.import_expected(entity, {"expected_csv": "Data Team\nPopulation Division"})
    await hold(persons[20], persons[1:3], **joint(("data team", "3")))
    _, missing = await rollup.cascade(entity)
    assert [m.unit for m in missing] == ["Population Division"]


async def test_the_leader_is_warned_when_another_leader_holds_a_session_of_the_same_unit(
    start, signin, persons
):
    first = (await start(by=persons[20], unit="Budget Section")).session
    assert await signin.split_warning(first) == []
    # The same leader's split sessions are what the FAQ asks for: no warning.
    mine = (await start(by=persons[20], unit="budget section")).session
    assert await signin.split_warning(mine) == []
    theirs = (await start(by=persons[21], unit="BUDGET  section")).session
    assert await signin.split_warning(theirs) == ["BUDGET section"]
    # A joint unit counts too, and another entity's unit of the same name does not.
    joined = (
        await start(by=persons[22], unit="Front Office", **joint(("Budget Section", "4")))
    ).session
    assert await signin.split_warning(joined) == ["Budget Section"]
    other = (await start(by=persons[23], entity="DPO", unit="Budget Section")).session
    assert await signin.split_warning(other) == []


async def test_progress_marks_a_unit_whose_sessions_have_different_leaders(
    hold, rollup, directory, persons
):
    await hold(persons[20], persons[1:3], unit="Budget Section")
    await hold(persons[20], persons[3:5], unit="Budget Section", date="2026-11-21")
    await hold(persons[21], persons[5:7], unit="Front Office")
    progress = await rollup.progress(await directory.entity("DESA"))
    assert [(u.unit, u.several_leaders) for u in progress.units] == [
        ("Budget Section", False),
        ("Front Office", False),
    ]
    await hold(persons[22], persons[7:9], unit="budget section", date="2026-11-22")
    progress = await rollup.progress(await directory.entity("DESA"))
    assert [(u.unit, u.several_leaders) for u in progress.units] == [
        ("Budget Section", True),
        ("Front Office", False),
    ]


# Property: however sessions and their joint units are drawn, the TOTAL row counts each session
# and each participant once, and each unit's personnel once (its largest figure in the cycle).
UNITS = ["Budget Section", "budget  section", "Data Team", "Équipe Côte d'Ivoire", "Front Office"]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
unit_specs = st.lists(
    st.tuples(st.sampled_from(UNITS), st.integers(min_value=1, max_value=500)),
    min_size=1,
    max_size=4,
    unique_by=lambda u: " ".join(u[0].casefold().split()),
)
session_specs = st.lists(
    st.tuples(unit_specs, st.integers(min_value=0, max_value=60), st.integers(1, 28)),
    max_size=20,
)


def make_session(n: int, units: list[tuple[str, int]], participants: int, day: int):
    (unit, personnel), *others = units
    return SessionRecord(
        session_id=f"{n:04d}",
        cycle=2026,
        entity="DESA",
        unit=unit,
        personnel=personnel,
        language="en",
        session_date=date(2026, 11, day),
        leader=Person(str(uuid.uuid4()), f"29:{n}", f"Leader {n}"),
        conversation_id=f"19:{n}@thread.v2",
        tenant_id="t",
        service_url="https://smba.example/",
        bot_id="28:bot",
        card_id=str(n),
        created_at=NOW,
        status="ended",
        participants=participants,
        joint_units=[JointUnit(u, p) for u, p in others],
    )


@given(session_specs)
def test_joint_sessions_add_up_once_whatever_the_data(specs):
    sessions = [make_session(n, *spec) for n, spec in enumerate(specs)]
    totals = totals_of(units_of(sessions))
    per_unit: dict[str, int] = {}
    for units, _, _ in specs:
        for unit, personnel in units:
            key = " ".join(unit.casefold().split())
            per_unit[key] = max(per_unit.get(key, 0), personnel)
    assert totals.sessions == len(specs)
    assert totals.participants == sum(participants for _, participants, _ in specs)
    assert totals.personnel == sum(per_unit.values())
