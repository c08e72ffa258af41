"""The roll-up equals the sum of the stored sessions, whatever the data (property-based)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.directory import Directory
from dialogs.rollup import RollupService, totals_of, units_of
from storage import TableStore
from storage.records import Person, SessionRecord

UNITS = ["Budget Section", "budget  section", "Data Team", "Équipe Côte d'Ivoire", "Front Office"]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

session_specs = st.lists(
    st.tuples(
        st.sampled_from(UNITS),
        st.integers(min_value=0, max_value=60),  # participants
        st.integers(min_value=1, max_value=500),  # personnel
        st.sampled_from(["signin", "signin_closed", "ended"]),
        st.booleans(),  # concluded
        st.integers(min_value=1, max_value=28),  # day
    ),
    max_size=25,
)


def make_session(n: int, spec: tuple, entity: str = "DESA") -> SessionRecord:
    unit, participants, personnel, status, concluded, day = spec
    return SessionRecord(
        session_id=f"{n:04d}{uuid.uuid4().hex[:12]}",
        cycle=2026,
        entity=entity,
        unit=unit,
        personnel=personnel,
        language="en",
        session_date=date(2026, 11, day),
        leader=Person(str(uuid.uuid4()), f"29:{n}", f"Leader {n}"),
        conversation_id=f"19:{uuid.uuid4().hex}@thread.v2",
        tenant_id="t",
        service_url="https://smba.example/",
        bot_id="28:bot",
        card_id=str(n),
        created_at=NOW,
        status=status,
        held_at=NOW if concluded else None,
        participants=participants,
    )


def expected(specs: list[tuple]) -> tuple[int, int, int]:
    """Computed independently: held sessions; participants add up; a unit's personnel once."""
    held = [s for s in specs if s[3] != "signin" or s[4]]
    per_unit: dict[str, int] = {}
    for unit, _, personnel, *_ in held:
        key = " ".join(unit.casefold().split())
        per_unit[key] = max(per_unit.get(key, 0), personnel)
    return len(held), sum(s[1] for s in held), sum(per_unit.values())


@given(session_specs)
def test_units_and_totals_add_up(specs):
    sessions = [make_session(n, spec) for n, spec in enumerate(specs)]
    totals = totals_of(units_of(s for s in sessions if s.held))
    assert (totals.sessions, totals.participants, totals.personnel) == expected(specs)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=session_specs)
def test_stored_rollup_equals_the_sum_of_stored_sessions(azurite, specs):
    asyncio.run(_stored_rollup(azurite.connection_string, specs))


async def _stored_rollup(connection: str, specs: list[tuple]) -> None:
    store = TableStore(connection, "h" + uuid.uuid4().hex[:10])
    await store.open()
    try:
        directory = Directory(
            store.directory, admins=frozenset({"admin"}), packs=["2023"], clock=lambda: NOW
        )
        await directory.seed(2026, "2023", [("DESA", "Department of Economic and Social Affairs")])
        for n, spec in enumerate(specs):
            await store.sessions.create(make_session(n, spec))
        rollup = RollupService(
            store.sessions, store.rollup, store.attendance, directory, lambda: NOW
        )
        entity = await directory.entity("DESA")
        progress = await rollup.progress(entity)
        got = (progress.totals.sessions, progress.totals.participants, progress.totals.personnel)
        assert got == expected(specs)
        totals = await rollup.refresh_totals(2026, "DESA")
        assert (totals.sessions, totals.participants, totals.personnel) == expected(specs)
        assert progress.open_sessions == len(specs) - expected(specs)[0]
    finally:
        await store.close()


async def test_an_entity_of_more_than_a_thousand_sessions_is_read_whole(azurite):
    """Azure Tables pages at 1,000 entities: the roll-up must follow continuation tokens."""
    store = TableStore(azurite.connection_string, "p" + uuid.uuid4().hex[:10])
    await store.open()
    try:
        directory = Directory(
            store.directory, admins=frozenset(), packs=["2023"], clock=lambda: NOW
        )
        await directory.seed(2026, "2023", [("DESA", "Department of Economic and Social Affairs")])
        sessions = [
            make_session(n, (f"Unit {n}", 3, 10, "ended", True, 1 + n % 28)) for n in range(1100)
        ]
        table = store._tables["sessions"]  # bulk-load test data fast
        from storage.sessions import _to_entity

        entities = [_to_entity(s) for s in sessions]
        for start in range(0, len(entities), 100):
            await table.submit_transaction([("upsert", e) for e in entities[start : start + 100]])
        rollup = RollupService(
            store.sessions, store.rollup, store.attendance, directory, lambda: NOW
        )
        progress = await rollup.progress(await directory.entity("DESA"))
        assert progress.totals.sessions == 1100
        assert progress.totals.participants == 3300
        assert progress.totals.personnel == 11000
        assert len(progress.units) == 1100
    finally:
        await store.close()
