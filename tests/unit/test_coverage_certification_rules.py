"""Coverage against the entity's whole personnel, the Head of Entity's confirmation of
Appendix E, and extensions past February, on the fakes."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs.errors import InvalidInput, NotAllowed, WrongState
from dialogs.rollup import past_february


@pytest.fixture
def hold(start, signin, rollup):
    """Hold a session: sign `attendees` in, keep the counts as the bot does, close sign-in."""

    async def held(by, attendees, **setup):
        session = (await start(by=by, **setup)).session
        for person in attendees:
            await signin.sign_in(session, person, {})
        sheet = await signin.sheet(session)
        await rollup.record_counts(session, sheet.rows)
        session = await signin.reload(session)
        return (await signin.close(session, by)).session

    return held


@pytest.fixture
async def focal(directory, admin, persons):
    """DESA's focal point."""
    await directory.add_focal_point(admin, "DESA", persons[25])
    return persons[25]


@pytest.fixture
async def head(directory, admin, persons):
    """DESA's Head of Entity."""
    await directory.name_head_of_entity(admin, "DESA", persons[23])
    return persons[23]


async def actions_of(store) -> list[str]:
    return [a.action for a in await store.directory.audit_log(50)]


async def test_the_focal_point_or_an_admin_records_the_entitys_whole_personnel(
    hold, rollup, directory, admin, focal, persons, store
):
    desa = await directory.entity("DESA")
    await hold(persons[20], persons[1:4], personnel="20")
    progress = await rollup.progress(desa)
    assert progress.entity_personnel is None and progress.entity_coverage is None
    assert progress.totals.coverage == pytest.approx(3 / 20)  # today's Appendix E ratio stays

    recorded = await directory.set_personnel(focal, "DESA", " 150 ")
    assert (recorded.cycle, recorded.entity, recorded.personnel) == (2026, "DESA", 150)
    progress = await rollup.progress(desa)
    assert progress.entity_personnel == 150
    assert progress.entity_coverage == pytest.approx(3 / 150)
    assert progress.totals.coverage == pytest.approx(3 / 20)

    # An admin may correct it, for any entity; the latest figure counts; both are audited.
    await directory.set_personnel(admin, "DESA", 120)
    assert (await rollup.progress(desa)).entity_personnel == 120
    entries = [a for a in await store.directory.audit_log(50) if a.action == "entity.personnel"]
    assert [(a.actor, a.details["personnel"]) for a in entries] == [
        (admin.aad_id, 120),
        (focal.aad_id, 150),
    ]
    await rollup.refresh_totals(2026, "DESA")
    _, lines = await rollup.organization(admin)
    line = next(x for x in lines if x.entity.code == "DESA")
    assert line.entity_personnel == 120 and line.entity_coverage == pytest.approx(3 / 120)


async def test_personnel_figures_are_validated_and_only_the_entitys_focal_point_records(
    directory, admin, focal, persons
):
    for bad in ("0", "-5", "12.5", "many", "", None, True, 10**9, {"n": 1}):
        with pytest.raises(InvalidInput) as refused:
            await directory.set_personnel(focal, "DESA", bad)
        assert refused.value.key == "error.number", bad
    # Another entity, a participant, an unknown entity: refused before anything is stored.
    for who, code in ((focal, "DPO"), (persons[3], "DESA"), (focal, "NOPE")):
        with pytest.raises(NotAllowed):
            await directory.set_personnel(who, code, "10")
    with pytest.raises(InvalidInput):
        await directory.set_personnel(admin, "NOPE", "10")
    assert await directory.personnel(2026) == {}


async def test_only_an_admin_names_a_head_of_entity_and_never_an_admin(
    directory, admin, focal, persons
):
    with pytest.raises(NotAllowed):
        await directory.name_head_of_entity(focal, "DESA", focal)  # a focal point names nobody
    with pytest.raises(NotAllowed) as refused:
        await directory.name_head_of_entity(admin, "DESA", admin)
    assert refused.value.key == "error.admin_not_head"
    with pytest.raises(InvalidInput):
        await directory.name_head_of_entity(admin, "NOPE", persons[23])
    assert await directory.head_of_entity("DESA") is None
    await directory.name_head_of_entity(admin, "DESA", persons[23])
    await directory.name_head_of_entity(admin, "DESA", persons[18])  # replaced
    assert (await directory.head_of_entity("DESA")).aad_id == persons[18].aad_id


async def test_the_focal_point_submits_and_only_the_named_head_confirms(
    hold, rollup, directory, admin, focal, head, persons, store, clock
):
    desa = await directory.entity("DESA")
    await hold(persons[20], persons[1:4])
    submitted = await rollup.certify(focal, desa)
    assert (submitted.head_id, submitted.head_name) == (head.aad_id, head.name)
    assert submitted.awaiting_head and submitted.confirmed_at is None
    progress = await rollup.progress(desa)
    assert progress.certification.awaiting_head and progress.head.aad_id == head.aad_id
    _, lines = await rollup.organization(admin)
    assert not next(x for x in lines if x.entity.code == "DESA").completed

    stamp = submitted.certified_at.isoformat()
    # The focal point, another entity's focal point, an admin, a participant: refused alike.
    await directory.add_focal_point(admin, "DPO", persons[24])
    for someone in (focal, persons[24], admin, persons[2]):
        with pytest.raises(NotAllowed) as refused:
            await rollup.confirm(someone, "DESA", stamp)
        assert refused.value.key == "error.head_only"
    with pytest.raises(WrongState) as refused:
        await rollup.confirm(head, "DESA", "2020-01-01T00:00:00+00:00")  # an older card
    assert refused.value.key == "error.certification_replaced"

    progress, confirmed = await rollup.confirm(head, "DESA", stamp)
    assert confirmed.confirmed_at == clock() and confirmed.complete
    stored = (await store.rollup.certifications(2026))["DESA"]
    assert (stored.certified_by, stored.head_id) == (focal.aad_id, head.aad_id)
    assert stored.certified_at == submitted.certified_at and stored.confirmed_at == clock()
    assert (await rollup.confirm(head, "DESA", stamp))[1].confirmed_at == clock()  # a retry
    assert (await actions_of(store)).count("entity.certify_confirm") == 1
    _, lines = await rollup.organization(admin)
    assert next(x for x in lines if x.entity.code == "DESA").completed

    # Confirmed with these figures: submitting again would take the confirmation back.
    with pytest.raises(WrongState) as refused:
        await rollup.certify(focal, desa)
    assert refused.value.key == "error.already_certified"


async def test_figures_that_change_after_submission_are_not_confirmed(
    hold, rollup, directory, focal, head, persons, store, clock
):
    desa = await directory.entity("DESA")
    await hold(persons[20], persons[1:4])
    first = await rollup.certify(focal, desa)
    await hold(persons[21], persons[5:7], unit="Population")
    # The Head's card showed 3 participants; there are 5 now: not confirmed from it.
    with pytest.raises(WrongState) as refused:
        await rollup.confirm(head, "DESA", first.certified_at.isoformat())
    assert refused.value.key == "error.certification_changed"
    assert (await store.rollup.certifications(2026))["DESA"].confirmed_at is None

    # The focal point submits the new figures; the old card still confirms nothing.
    clock.advance(5)
    again = await rollup.certify(focal, desa)
    assert again.participants == 5
    with pytest.raises(WrongState):
        await rollup.confirm(head, "DESA", first.certified_at.isoformat())
    _, confirmed = await rollup.confirm(head, "DESA", again.certified_at.isoformat())
    assert confirmed.participants == 5

    # Changed after confirmation: the confirmed snapshot stays, flagged; a new submission
    # replaces it and waits for the Head again.
    await hold(persons[22], persons[8:9], unit="Late unit")
    progress = await rollup.progress(desa)
    assert progress.certification.confirmed_at is not None
    assert progress.changed_since_certification
    third = await rollup.certify(focal, desa)
    assert third.awaiting_head and third.participants == 6


async def test_a_replaced_head_confirms_nothing_submitted_to_the_one_before(
    hold, rollup, directory, admin, focal, head, persons
):
    desa = await directory.entity("DESA")
    await hold(persons[20], persons[1:4])
    submitted = await rollup.certify(focal, desa)
    await directory.name_head_of_entity(admin, "DESA", persons[18])
    with pytest.raises(NotAllowed):
        await rollup.confirm(head, "DESA", submitted.certified_at.isoformat())
    with pytest.raises(WrongState) as refused:  # submitted to the previous Head
        await rollup.confirm(persons[18], "DESA", submitted.certified_at.isoformat())
    assert refused.value.key == "error.certification_replaced"


async def test_without_a_head_of_entity_the_focal_points_submission_certifies(
    hold, rollup, directory, admin, focal, persons
):
    desa = await directory.entity("DESA")
    await hold(persons[20], persons[1:4])
    item = await rollup.certify(focal, desa)
    assert item.head_id == "" and item.complete and not item.awaiting_head
    _, lines = await rollup.organization(admin)
    assert next(x for x in lines if x.entity.code == "DESA").completed
    # Once a Head is named, the same figures can go to them for confirmation.
    await directory.name_head_of_entity(admin, "DESA", persons[23])
    again = await rollup.certify(focal, desa)
    assert again.awaiting_head and again.head_id == persons[23].aad_id


@pytest.mark.parametrize(
    ("cycle", "deadline", "past"),
    [
        (2026, date(2026, 12, 31), False),
        (2026, date(2027, 2, 28), False),
        (2026, date(2027, 3, 1), True),
        (2027, date(2028, 2, 29), False),  # a leap year's February ends on the 29th
        (2027, date(2028, 3, 1), True),
    ],
)
def test_an_extension_past_february_is_marked(cycle, deadline, past):
    assert past_february(cycle, deadline) is past


async def test_the_report_marks_a_granted_extension_past_february(
    hold, rollup, directory, admin, focal, persons
):
    await hold(persons[20], persons[1:3])
    await rollup.refresh_totals(2026, "DESA")
    await rollup.certify(focal, await directory.entity("DESA"))
    await directory.grant_extension(admin, "DPO", date(2027, 2, 15))
    _, lines = await rollup.organization(admin)
    by_code = {x.entity.code: x for x in lines}
    assert not by_code["DPO"].past_february and by_code["DESA"].completed
    await directory.grant_extension(admin, "DESA", date(2027, 3, 15))
    _, lines = await rollup.organization(admin)
    by_code = {x.entity.code: x for x in lines}
    # Certified, but with an extension past February: not among the completed in that report.
    assert by_code["DESA"].past_february and not by_code["DESA"].completed
