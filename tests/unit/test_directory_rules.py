"""Roles and the organisation of the cycle on the fakes: admins, focal points, the audit."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs.directory import parse_upn
from dialogs.errors import InvalidInput, NotAllowed


async def test_admins_come_from_the_settings_and_focal_points_from_the_directory(
    directory, admin, persons
):
    focal = persons[5]
    await directory.add_focal_point(admin, "DESA", focal)
    assert (await directory.roles(admin)).admin and directory.is_admin(admin)
    roles = await directory.roles(focal)
    assert (roles.admin, roles.focal_for) == (False, frozenset({"DESA"}))
    assert (await directory.require_focal(focal, "DESA")).code == "DESA"
    for who, entity in ((focal, "DPO"), (focal, "NOPE"), (focal, ["DESA"]), (admin, "DESA")):
        # Admins are not focal points: they see counts, never the sheets' names.
        with pytest.raises(NotAllowed) as refused:
            await directory.require_focal(who, entity)
        assert refused.value.key == "error.focal_only"


async def test_every_change_is_for_admins_only(directory, persons):
    someone = persons[3]
    for change in (
        directory.set_cycle(someone, {"cycle_year": "2027"}),
        directory.save_entity(someone, {"entity_code": "NEW", "entity_name": "New"}),
        directory.deactivate_entity(someone, "DESA"),
        directory.grant_extension(someone, "DESA", date(2027, 1, 31)),
        directory.add_focal_point(someone, "DESA", someone),
        directory.remove_focal_point(someone, "DESA", someone.aad_id),
        directory.audit_log(someone),
    ):
        with pytest.raises(NotAllowed) as refused:
            await change
        assert refused.value.key == "error.admin_only"
    assert (await directory.roles(someone)).focal_for == frozenset()


async def test_the_cycle_is_validated_stored_and_audited(directory, admin):
    cycle = await directory.set_cycle(
        admin, {"cycle_year": "2027", "cycle_pack": "2023", "cycle_deadline": "2027-12-31"}
    )
    assert (cycle.year, cycle.pack, cycle.deadline) == (2027, "2023", date(2027, 12, 31))
    assert (await directory.cycle()).year == 2027
    entry = (await directory.audit_log(admin))[0]
    assert (entry.action, entry.actor, entry.details["year"]) == ("cycle.set", admin.aad_id, 2027)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"cycle_year": "2012"}, "cycle_year"),
        ({"cycle_year": "2101"}, "cycle_year"),
        ({"cycle_year": True}, "cycle_year"),
        ({"cycle_year": "2,027"}, "cycle_year"),
        ({"cycle_pack": "1999"}, "cycle_pack"),
        ({"cycle_deadline": "31/12/2027"}, "cycle_deadline"),
    ],
)
async def test_a_bad_cycle_is_refused(directory, admin, data, field):
    values = {"cycle_year": "2027", "cycle_pack": "2023", "cycle_deadline": "2027-12-31"}
    with pytest.raises(InvalidInput) as refused:
        await directory.set_cycle(admin, {**values, **data})
    assert refused.value.fields["field"] == field
    assert (await directory.cycle()).year == 2026


@pytest.mark.parametrize(
    ("code", "name"),
    [("A", "Too short"), ("1AB", "Digit first"), ("AB/C", "Slash"), ("OK", ""), ("X" * 21, "L")],
)
async def test_entity_codes_and_names_are_validated(directory, admin, code, name):
    with pytest.raises(InvalidInput):
        await directory.save_entity(admin, {"entity_code": code, "entity_name": name})
    assert len(await directory.entities()) == 3


async def test_entities_are_added_renamed_deactivated_and_audited(directory, admin):
    added = await directory.save_entity(admin, {"entity_code": "unep", "entity_name": "UNEP"})
    assert (added.code, added.name, added.active) == ("UNEP", "UNEP", True)
    assert "UNEP" in await directory.codes()
    await directory.deactivate_entity(admin, "UNEP")
    assert "UNEP" not in await directory.codes()  # no new sessions under it
    assert (await directory.names())["UNEP"] == "UNEP"  # its reports keep their name
    renamed = await directory.save_entity(
        admin, {"entity_code": "UNEP", "entity_name": "Environment Programme"}
    )
    assert (renamed.name, renamed.active) == ("Environment Programme", True)
    actions = [e.action for e in await directory.audit_log(admin)]
    assert actions == ["entity.rename", "entity.deactivate", "entity.add"]
    with pytest.raises(InvalidInput):
        await directory.deactivate_entity(admin, "NOPE")


async def test_a_second_seed_keeps_what_admins_changed(directory, admin):
    await directory.save_entity(admin, {"entity_code": "DESA", "entity_name": "Renamed"})
    await directory.seed(2030, "other", [("DESA", "Seeded again"), ("NEW", "New")])
    assert (await directory.names())["DESA"] == "Renamed"
    assert "NEW" in await directory.codes()
    assert (await directory.cycle()).year == 2026


async def test_focal_points_are_named_and_withdrawn_with_an_audit(directory, admin, persons):
    focal = persons[4]
    with pytest.raises(InvalidInput):
        await directory.add_focal_point(admin, "NOPE", focal)
    point, told = await directory.add_focal_point(admin, "DPO", focal)
    assert told == []  # nobody was focal point before
    assert (point.entity, point.aad_id, point.added_by) == ("DPO", focal.aad_id, admin.aad_id)
    assert [p.aad_id for p in await directory.focal_points("DPO")] == [focal.aad_id]
    assert await directory.remove_focal_point(admin, "DPO", focal.aad_id) is True
    assert await directory.remove_focal_point(admin, "DPO", focal.aad_id) is False
    with pytest.raises(InvalidInput):
        await directory.remove_focal_point(admin, ["DPO"], focal.aad_id)
    actions = [e.action for e in await directory.audit_log(admin)]
    assert actions == ["focal.remove", "focal.add"]
    assert (await directory.roles(focal)).focal_for == frozenset()


async def test_an_extension_moves_the_entitys_deadline(directory, admin):
    cycle = await directory.cycle()
    desa = await directory.entity("DESA")
    assert directory.deadline(cycle, desa) == date(2026, 12, 31)
    extended = await directory.grant_extension(admin, "DESA", date(2027, 2, 15))
    assert directory.deadline(cycle, extended) == date(2027, 2, 15)
    assert directory.deadline(cycle, await directory.entity("DPO")) == date(2026, 12, 31)


async def test_only_admins_contacts_are_kept(directory, admin, persons):
    await directory.remember_contact(admin, "https://smba/", "tenant")
    await directory.remember_contact(persons[1], "https://smba/", "tenant")
    assert await directory.admin_contacts() == [(admin.mri, "https://smba/", "tenant")]


def test_only_an_administrator_passes_the_admin_check(directory, admin, persons):
    directory.require_admin(admin)
    with pytest.raises(NotAllowed) as refused:
        directory.require_admin(persons[0])
    assert refused.value.key == "error.admin_only"


@pytest.mark.parametrize(
    ("typed", "upn"),
    [
        ("amina.diallo@un.org", "amina.diallo@un.org"),
        ("  o'connor+ethics@un.org \n", "o'connor+ethics@un.org"),
        ("Kenji.Sato@undp.org", "Kenji.Sato@undp.org"),
    ],
)
def test_a_user_principal_name_is_taken_trimmed(typed, upn):
    assert parse_upn(typed) == upn


@pytest.mark.parametrize(
    "typed",
    [
        "Amina Diallo",  # a name, not a sign-in name
        "amina@un",  # no top-level domain
        "amina@un.org/../members",  # it goes into a lookup URL as is: no path
        "amina@un.org?x=1",
        "amina diallo@un.org",
        "@un.org",
        "a" * 101 + "@un.org",
        "",
        None,
        ["amina@un.org"],
    ],
)
def test_anything_else_is_not_a_user_principal_name(typed):
    assert parse_upn(typed) is None
