"""Heads of Entity, the entity's whole personnel and the Head's confirmation of a certification:
the fakes and the Azure Tables repositories agree."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage import WriteConflict
from storage.records import Certification, EntityPersonnel, HeadOfEntity

UNITS = [{"unit": "Statistique", "participants": 25, "personnel": 40}]


async def test_a_head_of_entity_is_one_per_entity_and_naming_again_replaces(repos, build):
    directory = repos.directory
    assert await directory.heads_of_entity() == {}
    first, second = build.person(1, "Li Wei"), build.person(2, "Ana Souza")
    named = HeadOfEntity("DESA", first.aad_id, first.mri, first.name, "admin", build.t0)
    await directory.save_head_of_entity(named)
    other = HeadOfEntity("DPO", second.aad_id, second.mri, second.name, "admin", build.t0)
    await directory.save_head_of_entity(replace(other, service_url="https://smba/", tenant_id="t"))
    heads = await directory.heads_of_entity()
    assert list(heads) == ["DESA", "DPO"]
    assert heads["DESA"] == named and build.in_utc(heads["DESA"].added_at)
    assert (heads["DPO"].service_url, heads["DPO"].tenant_id) == ("https://smba/", "t")
    # A new Head of DESA replaces the first: one Head per entity.
    await directory.save_head_of_entity(replace(other, entity="DESA"))
    assert (await directory.heads_of_entity())["DESA"].aad_id == second.aad_id
    # The Head of Entity is no focal point: the focal index knows nothing of them.
    assert await directory.focal_entities(second.aad_id) == set()


async def test_the_entity_personnel_is_per_cycle_and_the_latest_figure_counts(repos, build):
    directory = repos.directory
    await directory.save_personnel(EntityPersonnel(2026, "DESA", 1200, "focal", build.t0))
    await directory.save_personnel(EntityPersonnel(2026, "DESA", 1250, "admin", build.t0))
    await directory.save_personnel(EntityPersonnel(2026, "DPO", 80, "admin", build.t0))
    await directory.save_personnel(EntityPersonnel(2025, "DESA", 999, "admin", build.t0))
    found = await directory.personnel(2026)
    assert found == {
        "DESA": EntityPersonnel(2026, "DESA", 1250, "admin", build.t0),
        "DPO": EntityPersonnel(2026, "DPO", 80, "admin", build.t0),
    }
    assert build.in_utc(found["DESA"].recorded_at)
    assert (await directory.personnel(2025))["DESA"].personnel == 999
    assert await directory.personnel(2024) == {}


async def test_a_confirmation_is_stored_under_the_snapshots_etag(repos, build):
    rollup = repos.rollup
    submitted = Certification(
        2026, "DESA", 2, 25, 40, UNITS, "focal", "Grace Mensah", build.t0, "head", "Li Wei"
    )
    await rollup.certify(submitted)
    read = (await rollup.certifications(2026))["DESA"]
    assert read == submitted and read.etag and read.awaiting_head and not read.complete
    assert read.confirmed_at is None

    # The focal point submits again (new figures): a card showing the old snapshot confirms nothing.
    await rollup.certify(replace(submitted, participants=26))
    with pytest.raises(WriteConflict):
        await rollup.confirm_certification(replace(read, confirmed_at=build.t0))
    fresh = (await rollup.certifications(2026))["DESA"]
    assert fresh.participants == 26 and fresh.confirmed_at is None

    await rollup.confirm_certification(replace(fresh, confirmed_at=build.t0))
    confirmed = (await rollup.certifications(2026))["DESA"]
    assert confirmed.confirmed_at == build.t0 and build.in_utc(confirmed.confirmed_at)
    assert confirmed.complete and not confirmed.awaiting_head
    assert (confirmed.head_id, confirmed.head_name) == ("head", "Li Wei")
    # Nothing to confirm in a cycle without the snapshot.
    with pytest.raises(WriteConflict):
        await rollup.confirm_certification(replace(confirmed, cycle=2025))


async def test_a_snapshot_without_a_head_of_entity_reads_as_the_focal_points(repos, build):
    rollup = repos.rollup
    await rollup.certify(Certification(2026, "DESA", 1, 5, 9, UNITS, "focal", "Grace", build.t0))
    read = (await rollup.certifications(2026))["DESA"]
    assert (read.head_id, read.head_name, read.confirmed_at) == ("", "", None)
    assert read.complete and not read.awaiting_head
