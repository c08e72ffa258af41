"""DirectoryStore and RollupStore: the fakes and the Azure Tables repositories agree; and every
implementation has exactly the port's methods, with the same signatures."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import date, timedelta

import pytest

from dialogs import ports
from storage import WriteConflict, keys
from storage.records import (
    AuditEntry,
    Certification,
    CycleConfig,
    EntityRecord,
    EntityTotals,
    ExpectedLine,
    Extension,
    FocalPoint,
)

PORTS = {
    "sessions": ports.SessionStore,
    "attendance": ports.AttendanceStore,
    "polls": ports.PollStore,
    "questions": ports.QuestionStore,
    "queue": ports.EthicsQueueStore,
    "feedback": ports.FeedbackStore,
    "assessments": ports.AssessmentStore,
    "directory": ports.DirectoryStore,
    "rollup": ports.RollupStore,
    "setups": ports.SetupStore,
    "retention": ports.RetentionStore,
}


def _methods(port: type) -> list[str]:
    return [n for n, v in vars(port).items() if inspect.isfunction(v) and not n.startswith("_")]


@pytest.mark.parametrize("name", sorted(PORTS))
async def test_each_implementation_has_the_ports_methods_with_its_signatures(repos, name):
    port, implementation = PORTS[name], getattr(repos, name)
    assert isinstance(implementation, port)
    for method in _methods(port):
        wanted = inspect.signature(getattr(port, method))
        found = inspect.signature(getattr(type(implementation), method))
        assert list(found.parameters)[1:] == list(wanted.parameters)[1:] or (
            # A static method has no `self`.
            list(found.parameters) == list(wanted.parameters)[1:]
        ), f"{name}.{method}"
        for param in list(wanted.parameters.values())[1:]:
            other = found.parameters[param.name]
            assert (other.kind, other.default) == (param.kind, param.default), f"{name}.{method}"
        assert inspect.iscoroutinefunction(
            getattr(type(implementation), method)
        ) == inspect.iscoroutinefunction(getattr(port, method)), f"{name}.{method}"


async def test_the_cycle_is_created_once_then_replaced_under_its_etag(repos):
    directory = repos.directory
    assert await directory.cycle() is None
    await directory.save_cycle(CycleConfig(2026, "2023", date(2026, 12, 31)), create=True)
    await directory.save_cycle(CycleConfig(2027, "other", date(2027, 12, 31)), create=True)
    read = await directory.cycle()
    assert (read.year, read.pack, read.deadline) == (2026, "2023", date(2026, 12, 31))
    assert read.etag
    await directory.save_cycle(replace(read, deadline=date(2027, 1, 31)))
    assert (await directory.cycle()).deadline == date(2027, 1, 31)
    with pytest.raises(WriteConflict):
        await directory.save_cycle(replace(read, year=2030))
    with pytest.raises(ValueError):
        await directory.save_cycle(replace(read, etag=None))


async def test_the_cycle_keeps_its_scenario_videos(repos):
    directory = repos.directory
    await directory.save_cycle(CycleConfig(2026, "2023", date(2026, 12, 31)), create=True)
    read = await directory.cycle()
    assert dict(read.videos) == {}
    link = "https://media.un.org/en/asset/k1x/k1xyz2023"
    await directory.save_cycle(replace(read, videos={"s3": link}))
    again = await directory.cycle()
    assert dict(again.videos) == {"s3": link} and again.deadline == date(2026, 12, 31)
    await directory.save_cycle(replace(again, videos={}))
    assert dict((await directory.cycle()).videos) == {}


async def test_entities_are_insert_only_by_code_and_replaced_under_their_etag(repos):
    directory = repos.directory
    assert await directory.save_entity(EntityRecord("OICT", "Office of ICT"), create=True)
    assert await directory.save_entity(EntityRecord("DESA", "Economic"), create=True)
    assert not await directory.save_entity(EntityRecord("DESA", "Other name"), create=True)
    found = await directory.entities()
    assert [(e.code, e.name, e.active, e.extension_until) for e in found] == [
        ("DESA", "Economic", True, None),
        ("OICT", "Office of ICT", True, None),
    ]
    desa = found[0]
    assert await directory.save_entity(
        replace(desa, active=False, extension_until=date(2027, 2, 1))
    )
    again = (await directory.entities())[0]
    assert (again.active, again.extension_until) == (False, date(2027, 2, 1))
    with pytest.raises(WriteConflict):
        await directory.save_entity(replace(desa, name="Stale"))


async def test_focal_points_are_read_both_ways_and_withdrawn_once(repos, build):
    directory = repos.directory
    a, b = build.person(1), build.person(2)
    for who, entity in ((b, "DESA"), (a, "DESA"), (a, "DPO")):
        await directory.add_focal_point(
            FocalPoint(entity, who.aad_id, who.mri, who.name, "admin", build.t0)
        )
    await directory.add_focal_point(
        FocalPoint("DESA", a.aad_id, a.mri, "Renamed", "admin2", build.t0)
    )
    points = await directory.focal_points("DESA")
    assert [p.aad_id for p in points] == sorted([a.aad_id, b.aad_id])
    assert next(p for p in points if p.aad_id == a.aad_id).name == "Renamed"
    assert all(p.added_at == build.t0 and build.in_utc(p.added_at) for p in points)
    assert await directory.focal_entities(a.aad_id) == {"DESA", "DPO"}
    assert await directory.remove_focal_point("DESA", a.aad_id) is True
    assert await directory.remove_focal_point("DESA", a.aad_id) is False
    assert await directory.focal_entities(a.aad_id) == {"DPO"}
    assert [p.aad_id for p in await directory.focal_points("DESA")] == [b.aad_id]
    assert await directory.focal_entities("nobody") == set()


async def test_contacts_of_known_people_by_id(repos):
    await repos.directory.save_contact("b", "29:b", "https://b/", "t")
    await repos.directory.save_contact("a", "29:a", "https://a/", "t")
    await repos.directory.save_contact("a", "29:a2", "https://a2/", "t")
    assert await repos.directory.contacts({"b", "a", "unknown"}) == [
        ("29:a2", "https://a2/", "t"),
        ("29:b", "https://b/", "t"),
    ]


async def test_the_audit_log_is_newest_first_with_details_as_json(repos, build):
    t0 = build.t0
    for minutes in (0, 2, 1):
        await repos.directory.record(
            AuditEntry(
                t0 + timedelta(minutes=minutes),
                "admin",
                f"action.{minutes}",
                {"until": date(2027, 1, 31), "n": minutes},
            )
        )
    log = await repos.directory.audit_log()
    assert [e.action for e in log] == ["action.2", "action.1", "action.0"]
    assert log[0].details == {"until": "2027-01-31", "n": 2}  # a date is stored as its text
    assert log[0].at == t0 + timedelta(minutes=2) and build.in_utc(log[0].at)
    assert [e.action for e in await repos.directory.audit_log(limit=2)] == ["action.2", "action.1"]


async def test_an_entitys_audit_is_its_own_entries_newest_first(repos, build):
    t0 = build.t0
    for minutes, entity in ((0, "DESA"), (1, "DPO"), (2, "DESA"), (3, ""), (4, "DESA")):
        await repos.directory.record(
            AuditEntry(t0 + timedelta(minutes=minutes), "focal", f"a.{minutes}", {}, entity)
        )
    desa = await repos.directory.audit_of_entity("DESA")
    assert [(e.action, e.entity) for e in desa] == [
        ("a.4", "DESA"),
        ("a.2", "DESA"),
        ("a.0", "DESA"),
    ]
    assert [e.action for e in await repos.directory.audit_of_entity("DESA", limit=2)] == [
        "a.4",
        "a.2",
    ]
    assert [e.action for e in await repos.directory.audit_of_entity("DPO")] == ["a.1"]
    assert await repos.directory.audit_of_entity("OICT") == []


async def test_a_setup_cards_requester_is_kept_per_chat_until_the_chat_is_forgotten(repos, build):
    chat, other = "19:meeting_1@thread.v2", "19:meeting_2@thread.v2"
    assert await repos.setups.requester(chat, "card/1?#") is None
    await repos.setups.remember(chat, "card/1?#", "amina", build.t0)
    await repos.setups.remember(chat, "card-2", "kenji", build.t0)
    await repos.setups.remember(other, "card/1?#", "mei", build.t0)
    await repos.setups.remember(chat, "card-2", "priya", build.t0)  # asked again: replaced
    assert await repos.setups.requester(chat, "card/1?#") == "amina"
    assert await repos.setups.requester(chat, "card-2") == "priya"
    await repos.setups.forget_chat(chat)
    await repos.setups.forget_chat(chat)  # nothing left: no error
    assert await repos.setups.requester(chat, "card/1?#") is None
    assert await repos.setups.requester(chat, "card-2") is None
    assert await repos.setups.requester(other, "card/1?#") == "mei"


async def test_totals_and_certifications_are_replaced_per_entity_and_cycle(repos, build):
    rollup = repos.rollup
    await rollup.save_totals(EntityTotals(2026, "DESA", 1, 10, 20, build.t0))
    await rollup.save_totals(EntityTotals(2026, "DESA", 2, 25, 40, build.t0))
    await rollup.save_totals(EntityTotals(2025, "DPO", 9, 9, 9, build.t0))
    totals = await rollup.totals(2026)
    assert totals == {"DESA": EntityTotals(2026, "DESA", 2, 25, 40, build.t0)}
    assert build.in_utc(totals["DESA"].updated_at)
    units = [{"unit": "Statistique", "participants": 25, "personnel": 40}]
    made = Certification(2026, "DESA", 2, 25, 40, units, "focal", "Grace Mensah", build.t0)
    await rollup.certify(made)
    assert await rollup.certifications(2026) == {"DESA": made}
    await rollup.certify(replace(made, participants=26))
    assert (await rollup.certifications(2026))["DESA"].participants == 26
    assert await rollup.certifications(2025) == {}


async def test_extension_requests_are_insert_only_and_decided_under_their_etag(repos, build):
    rollup = repos.rollup
    key = rollup.extension_key("DESA", "click-1")
    assert key == rollup.extension_key("DESA", "click-1") != rollup.extension_key("DESA", "click-2")
    later = Extension(2026, "DESA", key, "Retreat", "focal", "Grace", build.t0 + timedelta(hours=1))
    assert await rollup.add_extension(later) is True
    assert await rollup.add_extension(replace(later, reason="Again")) is False
    sooner = Extension(2026, "DPO", rollup.extension_key("DPO", "c"), "R", "f", "G", build.t0)
    await rollup.add_extension(sooner)
    found = await rollup.extensions(2026)
    assert [(x.entity, x.reason, x.status) for x in found] == [
        ("DPO", "R", "requested"),
        ("DESA", "Retreat", "requested"),
    ]
    read = found[1]
    decided = replace(
        read,
        status="granted",
        new_deadline=date(2027, 1, 31),
        decided_by="admin",
        decided_at=build.t0,
    )
    await rollup.save_extension(decided)
    stored = (await rollup.extensions(2026))[1]
    assert (stored.status, stored.new_deadline, stored.decided_at) == (
        "granted",
        date(2027, 1, 31),
        build.t0,
    )
    with pytest.raises(WriteConflict):
        await rollup.save_extension(replace(read, status="refused"))


async def test_attendance_is_remembered_per_cycle(repos):
    await repos.rollup.mark_attended(2026, ["a"])
    await repos.rollup.mark_attended(2026, ["a", "a"])
    await repos.rollup.mark_attended(2025, ["b"])
    await repos.rollup.mark_attended(2025, [])
    assert await repos.rollup.attended(2026, {"a", "b", "c"}) == {"a"}
    assert await repos.rollup.attended(2026, set()) == set()


async def test_the_expected_list_is_replaced_whole_with_duplicates_folded(repos):
    rollup = repos.rollup
    await rollup.replace_expected(2026, "DESA", [ExpectedLine("Old unit")])
    lines = [ExpectedLine(f"Unit {n}", f"Leader {n}") for n in range(150)]
    lines.append(ExpectedLine("unit  7", "LEADER 7"))  # the same line as "Unit 7"
    await rollup.replace_expected(2026, "DESA", lines)
    found = await rollup.expected(2026, "DESA")
    assert len(found) == 150
    assert "Old unit" not in {x.unit for x in found}
    assert ExpectedLine("unit  7", "LEADER 7") in found  # the last spelling is kept
    # Storage order: by a hash of the line, the same for both backends.
    order = sorted(
        found, key=lambda x: keys.digest("expected", keys.normalized_name(x.unit), x.leader.lower())
    )
    assert found == order
    assert await rollup.expected(2026, "DPO") == []
    await rollup.replace_expected(2026, "DESA", [])
    assert await rollup.expected(2026, "DESA") == []
