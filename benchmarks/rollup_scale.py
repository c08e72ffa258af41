"""Roll-up speed at scale: an entity of 2,000 sessions and 50,000 attendance rows, and an
Organization of 100 entities, in Azurite.

Run: `.venv/bin/python -m benchmarks.rollup_scale [--sessions 2000] [--per-session 25]
[--entities 100] [--repeat 5]`. Prints the time of the focal point's `progress` roll-up
beside the time merely to read the same session rows, and of the Organization report beside
the time to read its rows; the ratios are the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, date, datetime

from azure.data.tables import UpdateMode

from benchmarks.harness import ROOT
from dialogs.directory import Directory
from dialogs.rollup import RollupService
from storage import TableStore
from storage.attendance import _to_entity as attendance_entity
from storage.keys import session_partition, user_key
from storage.records import AttendeeRecord, Person, SessionRecord
from storage.sessions import _to_entity as session_entity
from testing.azurite import Azurite

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ADMIN = Person("admin", "29:admin", "Admin")


def session(n: int, entity: str, participants: int) -> SessionRecord:
    """A held session of a unit."""
    return SessionRecord(
        session_id=f"{entity}{n:05d}{uuid.uuid4().hex[:8]}",
        cycle=2026,
        entity=entity,
        unit=f"Unit {n % 700}",
        personnel=30,
        language="en",
        session_date=date(2026, 1 + n % 12, 1 + n % 28),
        leader=Person(str(uuid.uuid4()), f"29:{n}", f"Leader {n}"),
        conversation_id=f"19:{uuid.uuid4().hex}@thread.v2",
        tenant_id="t",
        service_url="https://smba.example/",
        bot_id="28:bot",
        card_id=str(n),
        created_at=NOW,
        status="ended",
        held_at=NOW,
        participants=participants,
    )


async def batched(table, entities: list[dict], parallel: int = 8) -> None:
    """Upsert entities in transactions of 100 per partition, a few at a time."""
    groups: dict[str, list[dict]] = {}
    for e in entities:
        groups.setdefault(e["PartitionKey"], []).append(e)
    chunks = [rows[i : i + 100] for rows in groups.values() for i in range(0, len(rows), 100)]
    limit = asyncio.Semaphore(parallel)

    async def send(chunk: list[dict]) -> None:
        async with limit:
            await table.submit_transaction(
                [("upsert", e, {"mode": UpdateMode.REPLACE}) for e in chunk]
            )

    await asyncio.gather(*(send(c) for c in chunks))


async def timed(work, repeat: int) -> float:
    """Median seconds of `repeat` runs (after one warm-up)."""
    await work()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


async def run(sessions: int, per_session: int, entities: int, repeat: int) -> None:
    """Fill Azurite, then time the roll-ups against raw reads."""
    azurite = Azurite(ROOT)
    azurite.start()
    store = TableStore(azurite.connection_string, "r" + uuid.uuid4().hex[:10])
    await store.open()
    try:
        codes = ["DESA"] + [f"E{n:03d}" for n in range(1, entities)]
        directory = Directory(
            store.directory, admins=frozenset({ADMIN.aad_id}), packs=["2023"], clock=lambda: NOW
        )
        await directory.seed(2026, "2023", [(c, f"Entity {c}") for c in codes])
        rollup = RollupService(
            store.sessions, store.rollup, store.attendance, directory, lambda: NOW
        )
        started = time.perf_counter()
        big = [session(n, "DESA", per_session) for n in range(sessions)]
        await batched(store._tables["sessions"], [session_entity(s) for s in big])
        rows = [
            attendance_entity(
                s.session_id,
                AttendeeRecord(
                    user_key(f"{s.session_id}-{i}"),
                    f"Person {i}",
                    "self",
                    NOW,
                    aad_id=f"{s.session_id}-{i}",
                ),
            )
            for s in big
            for i in range(per_session)
        ]
        await batched(store._tables["attendance"], rows)
        small = [session(n, code, 12) for code in codes[1:] for n in range(20)]
        await batched(store._tables["sessions"], [session_entity(s) for s in small])
        for code in codes:
            await rollup.refresh_totals(2026, code)
        fill = time.perf_counter() - started
        entity = await directory.entity("DESA")
        sessions_table = store._tables["sessions"]

        async def raw_entity() -> None:
            [
                e
                async for e in sessions_table.query_entities(
                    "PartitionKey eq @pk",
                    parameters={"pk": session_partition(2026, "DESA")},
                    results_per_page=1000,
                )
            ]

        async def progress() -> None:
            await rollup.progress(entity)

        async def raw_org() -> None:
            for name, pk in (
                ("entitytotals", "2026"),
                ("certifications", "2026"),
                ("extensions", "2026"),
                ("directory", "entity"),
            ):
                table = store._tables[name]
                [
                    e
                    async for e in table.query_entities(
                        "PartitionKey eq @pk", parameters={"pk": pk}
                    )
                ]

        async def organization() -> None:
            await rollup.organization(ADMIN)

        raw_e, roll_e = await timed(raw_entity, repeat), await timed(progress, repeat)
        raw_o, roll_o = await timed(raw_org, repeat), await timed(organization, repeat)
        progress_result = await rollup.progress(entity)
        assert progress_result.totals.participants == sessions * per_session
        _, lines = await rollup.organization(ADMIN)
        assert len(lines) == entities
        print(
            f"filled in {fill:.1f} s: 1 entity x {sessions} sessions x {per_session} "
            f"attendance rows ({sessions * per_session} rows), {entities} entities in all"
        )
        print(
            f"  entity progress: {roll_e * 1000:.0f} ms; raw read of its {sessions} session "
            f"rows {raw_e * 1000:.0f} ms; ratio {roll_e / raw_e:.2f}"
        )
        print(
            f"  Organization report: {roll_o * 1000:.0f} ms; raw read of its rows "
            f"{raw_o * 1000:.0f} ms; ratio {roll_o / raw_o:.2f}"
        )
    finally:
        await store.close()
        azurite.stop()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--per-session", type=int, default=25)
    parser.add_argument("--entities", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.sessions, args.per_session, args.entities, args.repeat))


if __name__ == "__main__":
    main()
