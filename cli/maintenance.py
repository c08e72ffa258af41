"""`python -m cli.maintenance purge --cycle 2025 [--yes]`, `export`, `restore`: the tables' upkeep.

Once an entity has certified its Appendix E, the names behind the counts have served their
purpose. The purge deletes them and keeps the counts:

deleted    sign-in rows (`attendance`), the `leaders` index, the `attended` index (a person
           who also attended a skipped entity's session keeps that row until its purge), poll
           votes, Appendix F receipts (rows earlier versions kept apart from the
           aggregate), the chats' pointers to the cycle's sessions, delivered-activity
           markers, the expected units and leaders (`expected`);
anonymised the leader and monitors of each session, the leader's name and id in Appendix C
           versions and in forwarded questions, each Appendix F aggregate still open (its
           salt and answerers' keys replaced by the count, as its close does);
kept       sessions with their counts, entity totals, certifications, polls and their results,
           Appendix C answers, Appendix F aggregates, questions, extensions, the audit log.

It refuses the current cycle (and later ones), skips entities that have not certified unless
`--force-uncertified`, prints what it will change, and asks for the cycle year unless `--yes`.
It is safe to run again: an interrupted purge is finished by the next run.

Settings: TABLES_CONNECTION_STRING and TABLE_PREFIX, as the bot reads them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import EdmType, EntityProperty, TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from cards.library import PackLibrary
from cards.packs import load_all
from dialogs.assessment import AssessmentService
from dialogs.common import change
from dialogs.errors import DialogueError, NoSession
from dialogs.feedback import leader_items
from storage import keys
from storage.backup import BackupFilter
from storage.directory import AuditEntry
from storage.errors import StorageUnavailable, WriteConflict
from storage.questions import QueuedQuestion
from storage.records import Person, SessionRecord
from storage.tables import TABLES, TableStore

# Exit statuses, so a scheduled job can tell the outcomes apart.
DONE = 0
NOT_CONFIRMED = 1
REFUSED = 2
SKIPPED = 3
STORAGE_FAILED = 4

T = TypeVar("T")

_BATCH = 100  # Azure Tables: at most 100 operations in one transaction, in one partition
# Earlier versions kept a receipt row per answerer ("r-" + key, sorting in [r-, r.)); the bot
# writes none now, but tables it wrote then may still hold some.
_RECEIPT_FROM, _RECEIPT_TO = "r-", "r."
_CLOSE_RETRIES = 12
# Requests in flight at once, as when the bot certifies an entity.
_PARALLEL = 16
# A delivered-activity marker only guards against Teams redelivering within minutes.
_MARKER_USEFUL_FOR = timedelta(days=1)
_TABLE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")
_NOBODY = Person("", "", "")

# (table, what its purged rows are), in the order the summary lists them.
DELETED = (
    ("attendance", "sign-in rows (names and join hints)"),
    ("attended", "index of who attended a session"),
    ("leaders", "index of each leader's sessions"),
    ("votes", "poll votes"),
    ("assessments", "Appendix F receipts left by earlier versions"),
    ("chats", "chat pointers to the cycle's sessions"),
    ("deliveries", "delivered-activity markers"),
    ("expected", "expected units and their leaders"),
)
ANONYMISED = (
    ("sessions", "sessions: leader and monitors removed, counts kept"),
    ("leaderfeedback", "Appendix C versions: the leader's name and id removed"),
    ("ethicsqueue", "forwarded questions: the leader removed"),
    ("aggregates", "Appendix F aggregates still open: salt and keys replaced by a count"),
)
KEPT = (
    "session counts, entity totals, certifications, polls and their results, Appendix C "
    "answers, Appendix F aggregates, questions, extensions, the audit log"
)


@dataclass
class EntityPlan:
    """One entity's sessions in the purged cycle, and whether it certified them."""

    code: str
    sessions: list[SessionRecord]
    certified_at: datetime | None


@dataclass
class Plan:
    """Everything one purge will change, gathered before anything is changed."""

    cycle: int
    current: int
    entities: list[EntityPlan] = field(default_factory=list)
    skipped: list[EntityPlan] = field(default_factory=list)
    deletes: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: {name: [] for name, _ in DELETED if name != "chats"}
    )
    chats: list[SessionRecord] = field(default_factory=list)
    sessions: list[SessionRecord] = field(default_factory=list)
    # Appendix C versions naming the leader, each with the ids of the items that hold the name.
    feedback: list[tuple[dict[str, Any], set[str]]] = field(default_factory=list)
    queue: list[QueuedQuestion] = field(default_factory=list)
    aggregates: list[str] = field(default_factory=list)
    attendees: set[str] = field(default_factory=set)  # Entra ids signed in to purged sessions
    unanswered: int = 0

    def counts(self) -> dict[str, int]:
        """Rows per table the purge deletes or changes."""
        counts = {name: len(rows) for name, rows in self.deletes.items()}
        counts["chats"] = len(self.chats)
        counts.update(
            sessions=len(self.sessions),
            leaderfeedback=len(self.feedback),
            ethicsqueue=len(self.queue),
            aggregates=len(self.aggregates),
        )
        return counts


class Refused(RuntimeError):
    """The purge may not run as asked; the message says why."""


class Purge:
    """Plans and carries out the purge of one past cycle."""

    def __init__(
        self,
        store: TableStore,
        service: TableServiceClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        packs: PackLibrary | None = None,
    ) -> None:
        self._store = store
        self._service = service
        self._clock = clock
        # Which Appendix C answers hold the leader's name is the content pack's to say.
        self._packs = PackLibrary(load_all()) if packs is None else packs

    def _table(self, name: str) -> TableClient:
        return self._service.get_table_client(self._store.table_name(name))

    async def plan(self, cycle: int, *, force_uncertified: bool = False) -> Plan:
        """What the purge of this cycle would change; Refused for the current or a later cycle."""
        current = await self._store.directory.cycle()
        if current is None:
            raise Refused("The Dialogue has no current cycle yet: nothing can be past.")
        if cycle >= current.year:
            raise Refused(
                f"Cycle {cycle} is not past: the current cycle is {current.year}. "
                "Set the next cycle with the bot's `admin` command first."
            )
        plan = Plan(cycle, current.year)
        certifications = await self._store.rollup.certifications(cycle)
        codes = await self._entities_with_sessions(cycle)
        codes |= {e.code for e in await self._store.directory.entities()}
        for code in sorted(codes):
            sessions = await self._store.sessions.of_entity(cycle, code)
            certified = certifications.get(code)
            entity = EntityPlan(code, sessions, certified.certified_at if certified else None)
            if sessions and certified is None and not force_uncertified:
                plan.skipped.append(entity)
                continue
            expected = await self._keys("expected", f"{cycle}-{code}")
            if not sessions and not expected:
                continue
            plan.entities.append(entity)
            plan.deletes["expected"] += expected
            await self._plan_entity(plan, entity)
        await self._plan_queue(plan)
        await self._plan_attended(plan)
        await self._plan_markers(plan)
        return plan

    async def _entities_with_sessions(self, cycle: int) -> set[str]:
        """Entity codes with sessions in the cycle, including any no longer in the directory."""
        # Session partitions are "{cycle}-{entity}": every one of the cycle sorts in [lo, hi).
        found = self._table("sessions").query_entities(
            "PartitionKey ge @lo and PartitionKey lt @hi",
            parameters={"lo": f"{cycle}-", "hi": f"{cycle}."},
            select=["PartitionKey"],
        )
        return {e["PartitionKey"].split("-", 1)[1] async for e in found}

    async def _plan_entity(self, plan: Plan, entity: EntityPlan) -> None:
        parts = await _bounded(self._plan_session(plan, s) for s in entity.sessions)
        for part in parts:
            for table, rows in part.deletes.items():
                plan.deletes[table] += rows
            plan.chats += part.chats
            plan.sessions += part.sessions
            plan.feedback += part.feedback
            plan.aggregates += part.aggregates
            plan.attendees |= part.attendees

    async def _plan_session(self, plan: Plan, session: SessionRecord) -> Plan:
        """What changes for one session, gathered apart so sessions can be read together."""
        part = Plan(plan.cycle, plan.current)
        sid = session.session_id
        rows = await self._attendance(sid)
        part.deletes["attendance"] = [(sid, row["RowKey"]) for row in rows]
        part.attendees = _attendees(rows)
        for poll in await self._store.polls.for_session(sid):
            part.deletes["votes"] += await self._keys("votes", poll.poll_id)
        part.deletes["assessments"] = await self._keys(
            "assessments", sid, rows=(_RECEIPT_FROM, _RECEIPT_TO)
        )
        if await self._aggregate_links(sid):
            part.aggregates.append(sid)
        if session.leader.aad_id and await self._exists("leaders", session.leader.aad_id, sid):
            part.deletes["leaders"].append((session.leader.aad_id, sid))
        if await self._holds_chat(session):
            part.chats.append(session)
        part.feedback = await self._feedback_with_leader(sid, self._leader_items(session))
        if session.leader != _NOBODY or session.monitors:
            part.sessions.append(session)
        return part

    async def _plan_queue(self, plan: Plan) -> None:
        purged = {e.code for e in plan.entities}
        for item in await self._store.queue.for_cycle(plan.cycle):
            if item.entity in purged and (item.leader_id or item.leader_mri or item.leader_name):
                plan.queue.append(item)
                if item.status == "open":
                    plan.unanswered += 1

    async def _plan_attended(self, plan: Plan) -> None:
        """The cycle's `attended` rows of the purged sessions' participants."""
        rows = await self._keys("attended", str(plan.cycle))
        if not plan.skipped:
            plan.deletes["attended"] = rows
            return
        # A person who also attended a skipped entity's session keeps their row until then.
        kept: set[str] = set()
        for entity in plan.skipped:
            for found in await _bounded(self._attendance(s.session_id) for s in entity.sessions):
                kept |= _attendees(found)
        plan.deletes["attended"] = [r for r in rows if r[1] in plan.attendees - kept]

    async def _attendance(self, session_id: str) -> list[dict[str, Any]]:
        found = self._table("attendance").query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": session_id},
            select=["RowKey", "AadId", "Source"],
        )
        return [e async for e in found]

    async def _plan_markers(self, plan: Plan) -> None:
        # Markers hold no names; those written before the cycle ended (and over a day ago,
        # should the next cycle have begun early) are of no further use.
        before = min(datetime(plan.cycle + 1, 1, 1, tzinfo=UTC), self._clock() - _MARKER_USEFUL_FOR)
        found = self._table("deliveries").query_entities(
            "At lt @before", parameters={"before": before}, select=["PartitionKey", "RowKey"]
        )
        plan.deletes["deliveries"] = [(e["PartitionKey"], e["RowKey"]) async for e in found]

    async def _keys(
        self, table: str, partition: str, rows: tuple[str, str] | None = None
    ) -> list[tuple[str, str]]:
        """(partition, row) of every entity in one partition, or in a row-key range of it."""
        query, parameters = "PartitionKey eq @pk", {"pk": partition}
        if rows is not None:
            query += " and RowKey ge @lo and RowKey lt @hi"
            parameters.update(lo=rows[0], hi=rows[1])
        found = self._table(table).query_entities(
            query, parameters=parameters, select=["PartitionKey", "RowKey"]
        )
        return [(e["PartitionKey"], e["RowKey"]) async for e in found]

    async def _exists(self, table: str, partition: str, row: str) -> bool:
        try:
            await self._table(table).get_entity(partition, row, select=["RowKey"])
        except ResourceNotFoundError:
            return False
        return True

    async def _aggregate_links(self, session_id: str) -> bool:
        """Whether the session's Appendix F aggregate is still open: salt and keys stored."""
        aggregate = await self._store.assessments.find(session_id)
        return aggregate is not None and not aggregate.closed

    async def _holds_chat(self, session: SessionRecord) -> bool:
        try:
            pointer = await self._table("chats").get_entity(
                keys.chat_partition(session.conversation_id), "active"
            )
        except ResourceNotFoundError:
            return False
        return pointer.get("SessionId") == session.session_id

    def _leader_items(self, session: SessionRecord) -> set[str]:
        """The session's Appendix C items holding the leader's name; should its pack be gone,
        those of every pack (stripping too much beats leaving a name behind)."""
        cycles = [session.pack] if self._packs.has(session.pack) else self._packs.ids()
        return set().union(
            *(leader_items(self._packs.get(c, None).leader_feedback_form) for c in cycles)
        )

    async def _feedback_with_leader(
        self, session_id: str, leader_items: set[str]
    ) -> list[tuple[dict[str, Any], set[str]]]:
        found = self._table("leaderfeedback").query_entities(
            "PartitionKey eq @pk", parameters={"pk": session_id}
        )
        versions = []
        async for entity in found:
            answers = json.loads(entity["Answers"])
            if entity.get("SubmittedBy") or any(answers.get(i) for i in leader_items):
                versions.append((entity, leader_items))
        return versions

    async def run(self, plan: Plan) -> None:
        """Carry the plan out; indexes go before sessions, so a rerun still finds them."""
        for table, rows in plan.deletes.items():
            await self._delete(table, rows)
        await _bounded(
            self._store.sessions.release_chat(s.conversation_id, s.session_id) for s in plan.chats
        )
        await _bounded(self._strip_feedback(entity, items) for entity, items in plan.feedback)
        await _bounded(
            change(
                item,
                lambda q: replace(q, leader_id="", leader_mri="", leader_name=""),
                self._store.queue.save,
                lambda q=item: self._store.queue.get(q.cycle, q.key),
                NoSession("error.no_session"),
            )
            for item in plan.queue
        )
        await _bounded(self._unlink_aggregate(sid) for sid in plan.aggregates)
        await _bounded(
            change(
                session,
                lambda s: replace(s, leader=_NOBODY, monitors=[]),
                self._store.sessions.save,
                lambda s=session: self._store.sessions.get(s.cycle, s.entity, s.session_id),
                NoSession("error.no_session"),
            )
            for session in plan.sessions
        )
        await self._store.directory.record(
            AuditEntry(
                at=self._clock(),
                actor="maintenance",
                action="cycle.purge",
                details={
                    "cycle": plan.cycle,
                    "entities": ",".join(e.code for e in plan.entities),
                    "uncertified": ",".join(
                        e.code for e in plan.entities if e.sessions and not e.certified_at
                    ),
                    "deleted": sum(len(rows) for rows in plan.deletes.values()),
                },
            )
        )

    async def _unlink_aggregate(self, session_id: str) -> None:
        """Close an aggregate the bot left open: one conditional write, the results kept.

        The bot shows them only from its minimum of answers, as for any closed aggregate.
        """
        for _ in range(_CLOSE_RETRIES):
            aggregate = await self._store.assessments.find(session_id)
            if aggregate is None or aggregate.closed:
                return
            try:
                await self._store.assessments.close(aggregate, keep_results=True)
            except WriteConflict:
                continue  # an answer or the bot's own close came first: read again
            return
        raise StorageUnavailable("the aggregate kept changing")

    async def _delete(self, table: str, rows: list[tuple[str, str]]) -> None:
        client = self._table(table)
        by_partition: dict[str, list[str]] = {}
        for partition, row in rows:
            by_partition.setdefault(partition, []).append(row)
        await _bounded(
            self._delete_batch(client, partition, row_keys[start : start + _BATCH])
            for partition, row_keys in by_partition.items()
            for start in range(0, len(row_keys), _BATCH)
        )

    async def _delete_batch(self, client: TableClient, partition: str, row_keys: list[str]) -> None:
        try:
            await client.submit_transaction(
                [("delete", {"PartitionKey": partition, "RowKey": k}) for k in row_keys]
            )
        except TableTransactionError:
            # A row went meanwhile (e.g. a rerun after an interruption): delete one by one.
            for row_key in row_keys:
                try:
                    await client.delete_entity(partition, row_key)
                except ResourceNotFoundError:
                    pass

    async def _strip_feedback(self, entity: dict[str, Any], leader_items: set[str]) -> None:
        answers = json.loads(entity["Answers"])
        answers.update({item: "" for item in leader_items if item in answers})
        stripped = {
            **entity,
            "Answers": json.dumps(answers, ensure_ascii=False),
            "SubmittedBy": "",
        }
        try:
            await self._table("leaderfeedback").update_entity(
                stripped,
                mode=UpdateMode.REPLACE,
                etag=entity.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            # Versions are never rewritten by the bot; a change here means a rerun, which
            # plans again from what is stored.
            pass


def _attendees(rows: list[dict[str, Any]]) -> set[str]:
    """Entra ids on a sheet, as the bot marks them attended (join hints never are)."""
    return {r["AadId"] for r in rows if r.get("AadId") and r.get("Source") != "hint"}


async def _bounded(work: Iterable[Awaitable[T]]) -> list[T]:
    """Await all, a few at a time: quick for thousands of sessions, gentle on the account."""
    limit = asyncio.Semaphore(_PARALLEL)

    async def one(awaitable: Awaitable[T]) -> T:
        async with limit:
            return await awaitable

    return list(await asyncio.gather(*(one(w) for w in work)))


def describe(plan: Plan) -> str:
    """What the purge will do, for the operator to read before confirming."""
    lines = [f"Purge of personal data: cycle {plan.cycle} (the current cycle is {plan.current})."]
    for entity in plan.entities:
        if entity.certified_at:
            state = f"certified {entity.certified_at.date().isoformat()}"
        elif entity.sessions:
            state = "NOT certified (--force-uncertified)"
        else:
            state = "no sessions (an expected list only)"
        lines.append(f"  purge  {entity.code:<12} {_sessions(entity)}, {state}")
    for entity in plan.skipped:
        lines.append(
            f"  skip   {entity.code:<12} {_sessions(entity)}, not certified: "
            "nothing of it changes (--force-uncertified purges it too)"
        )
    counts = plan.counts()
    lines.append("Deletes:")
    lines += [f"  {name:<15} {counts[name]:>7}  {what}" for name, what in DELETED]
    lines.append("Anonymises:")
    lines += [f"  {name:<15} {counts[name]:>7}  {what}" for name, what in ANONYMISED]
    lines.append(f"Keeps: {KEPT}.")
    if plan.unanswered:
        lines.append(
            f"Warning: {plan.unanswered} forwarded question(s) still unanswered: after the purge "
            "a reply can no longer reach the leader."
        )
    lines.append("Backups taken before the purge still hold this data: delete them as well.")
    return "\n".join(lines)


def _sessions(entity: EntityPlan) -> str:
    count = len(entity.sessions)
    return f"{count:>5} session{'' if count == 1 else 's'}"


def parser() -> argparse.ArgumentParser:
    """The command line."""
    main_parser = argparse.ArgumentParser(
        prog="python -m cli.maintenance",
        description="Maintenance of the Dialogue Bot's tables.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    purge = commands.add_parser(
        "purge",
        help="delete a past cycle's personal data once its roll-up is certified",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            f"exit status: {DONE} purged, {NOT_CONFIRMED} not confirmed, {REFUSED} refused, "
            f"{SKIPPED} purged but uncertified entities skipped, {STORAGE_FAILED} storage failed"
        ),
    )
    purge.add_argument("--cycle", type=int, required=True, help="the past cycle (year)")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.add_argument(
        "--force-uncertified",
        action="store_true",
        help="also purge entities that have not certified their Appendix E",
    )
    export = commands.add_parser(
        "export",
        help="copy every table to JSON-lines files (a backup, or the data for an audit)",
        description=(
            "Write one <table>.jsonl per table (every property with its type) and manifest.json "
            "into a new folder. The files hold personal data: keep them as the tables are kept. "
            "They hold no salt, keyed hash or vote: open polls are written closed with their "
            "tally as of the export, and Appendix F aggregates with their answer count only."
        ),
    )
    export.add_argument("--out", type=Path, required=True, help="a folder that does not exist yet")
    commands.add_parser(
        "close-assessments",
        help="close the Appendix F assessments whose time has come (the bot does it hourly)",
        description=(
            "Close every Appendix F assessment open past its time, as the bot's hourly sweep "
            "does: its salt and keys are replaced by the count, and its results kept only if "
            "at least ASSESSMENT_MIN_ANSWERS (default 3) answered. Safe to run at any time."
        ),
    )
    restore = commands.add_parser(
        "restore",
        help="write an export back into the tables (upserts: existing rows are replaced)",
        description=(
            "Upsert every row of an export into the tables TABLE_PREFIX names. Restoring an "
            "export older than a purge brings the purged names back: purge again after it."
        ),
    )
    restore.add_argument(
        "--from", dest="source", type=Path, required=True, help="the export's folder"
    )
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return main_parser


async def run(
    args: argparse.Namespace,
    env: Mapping[str, str],
    out: TextIO,
    ask: Callable[[str], str],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run a parsed command against the tables the environment names; the exit status."""
    connection = env.get("TABLES_CONNECTION_STRING", "").strip()
    prefix = env.get("TABLE_PREFIX", "dlg").strip() or "dlg"
    if not connection or not _TABLE_PREFIX.match(prefix):
        print(
            "Set TABLES_CONNECTION_STRING (and TABLE_PREFIX if not dlg) as the bot has them.",
            file=out,
        )
        return REFUSED
    store = TableStore(connection, prefix)
    try:
        await store.open()
        async with TableServiceClient.from_connection_string(connection) as service:
            if args.command == "export":
                return await _export(store, service, args.out, out, clock)
            if args.command == "restore":
                return await _restore(store, service, args.source, args.yes, out, ask)
            if args.command == "close-assessments":
                return await _close_assessments(store, env, out, clock)
            return await _purge(Purge(store, service, clock), args, out, ask)
    except (StorageUnavailable, DialogueError, AzureError, OSError) as error:
        print(
            f"Storage failed ({type(error).__name__}). Run the same command again: "
            "it finishes what is left.",
            file=out,
        )
        return STORAGE_FAILED
    finally:
        await store.close()


async def _purge(
    purge: Purge, args: argparse.Namespace, out: TextIO, ask: Callable[[str], str]
) -> int:
    try:
        plan = await purge.plan(args.cycle, force_uncertified=args.force_uncertified)
    except Refused as refusal:
        print(f"Refused. {refusal}", file=out)
        return REFUSED
    print(describe(plan), file=out)
    if not plan.entities:
        print("Nothing to purge.", file=out)
        return SKIPPED if plan.skipped else DONE
    if not args.yes:
        answer = ask(f"Type the cycle ({plan.cycle}) to delete this for good: ")
        if answer.strip() != str(plan.cycle):
            print("Not confirmed: nothing changed.", file=out)
            return NOT_CONFIRMED
    await purge.run(plan)
    print(f"Done: cycle {plan.cycle} purged.", file=out)
    return SKIPPED if plan.skipped else DONE


async def _close_assessments(
    store: TableStore, env: Mapping[str, str], out: TextIO, clock: Callable[[], datetime]
) -> int:
    raw = env.get("ASSESSMENT_MIN_ANSWERS", "").strip() or "3"
    if not raw.isdecimal() or not 2 <= int(raw) <= 50:
        print(
            "ASSESSMENT_MIN_ANSWERS must be a whole number from 2 to 50, as the bot has it.",
            file=out,
        )
        return REFUSED
    # Closing needs no secret: it only drops the salt and keys (the backup identity's rights).
    service = AssessmentService(store.assessments, store.attendance, "", int(raw), clock)
    closed = await service.close_due()
    print(f"Closed {closed} Appendix F assessment(s) whose time had come.", file=out)
    return DONE


async def _export(
    store: TableStore,
    service: TableServiceClient,
    folder: Path,
    out: TextIO,
    clock: Callable[[], datetime],
) -> int:
    if not await asyncio.to_thread(_new_folder, folder):
        print(f"Refused. {folder} exists: an export goes into a new folder.", file=out)
        return REFUSED
    exported_at = clock()
    # No salt, keyed hash or vote leaves the tables: open polls are written closed, with
    # their tally as of now (storage/backup.py says what is left out and why).
    backup = BackupFilter(exported_at)
    backup.count_votes(
        [v async for v in service.get_table_client(store.table_name("votes")).list_entities()]
    )
    counts = {}
    for name in TABLES:
        client = service.get_table_client(store.table_name(name))
        lines = [
            json.dumps(_encoded(row), ensure_ascii=False)
            async for entity in client.list_entities()
            if (row := backup.row(name, entity)) is not None
        ]
        await asyncio.to_thread(_write_lines, folder / f"{name}.jsonl", lines)
        counts[name] = len(lines)
    manifest = {"exported_at": exported_at.isoformat(), "tables": counts}
    await asyncio.to_thread(_write_lines, folder / "manifest.json", [json.dumps(manifest)])
    print(f"Exported {sum(counts.values())} rows of {len(counts)} tables to {folder}.", file=out)
    return DONE


async def _restore(
    store: TableStore,
    service: TableServiceClient,
    folder: Path,
    yes: bool,
    out: TextIO,
    ask: Callable[[str], str],
) -> int:
    (manifest_line,) = await asyncio.to_thread(_read_lines, folder / "manifest.json")
    manifest = json.loads(manifest_line)
    counts = manifest["tables"]
    print(f"Restore of the export of {manifest['exported_at']} into the tables:", file=out)
    for name, count in counts.items():
        print(f"  {store.table_name(name):<24} {count:>7} rows", file=out)
    if not yes and ask("Type restore to write them: ").strip() != "restore":
        print("Not confirmed: nothing changed.", file=out)
        return NOT_CONFIRMED
    for name in counts:
        client = service.get_table_client(store.table_name(name))
        partitions: dict[str, list[dict[str, Any]]] = {}
        for line in await asyncio.to_thread(_read_lines, folder / f"{name}.jsonl"):
            entity = _decoded(json.loads(line))
            partitions.setdefault(entity["PartitionKey"], []).append(entity)
        await _bounded(
            client.submit_transaction(
                [("upsert", e, {"mode": UpdateMode.REPLACE}) for e in rows[n : n + _BATCH]]
            )
            for rows in partitions.values()
            for n in range(0, len(rows), _BATCH)
        )
    print(f"Restored {sum(counts.values())} rows.", file=out)
    return DONE


def _new_folder(folder: Path) -> bool:
    """Create the folder; False when it exists already."""
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        return False
    return True


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


def _encoded(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An entity as JSON: strings, whole numbers and booleans as they are, other types tagged."""
    encoded: dict[str, Any] = {}
    for name, value in entity.items():
        if isinstance(value, EntityProperty):
            if value.edm_type != EdmType.INT64:
                raise ValueError(f"{name}: cannot export {value.edm_type}")
            encoded[name] = {"Int64": str(value.value)}
        elif isinstance(value, datetime):
            encoded[name] = {"DateTime": value.isoformat()}
        elif isinstance(value, float):
            encoded[name] = {"Double": repr(value)}
        elif isinstance(value, bytes):
            encoded[name] = {"Binary": base64.b64encode(value).decode("ascii")}
        elif isinstance(value, uuid.UUID):
            encoded[name] = {"Guid": str(value)}
        else:
            encoded[name] = value  # str, int (Int32) or bool
    return encoded


def _decoded(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The entity _encoded wrote, with its types."""
    decode: dict[str, Callable[[str], Any]] = {
        "Int64": lambda v: EntityProperty(int(v), EdmType.INT64),
        "DateTime": datetime.fromisoformat,
        "Double": float,
        "Binary": base64.b64decode,
        "Guid": uuid.UUID,
    }
    decoded = {}
    for name, value in entity.items():
        if isinstance(value, dict):
            ((tag, raw),) = value.items()
            value = decode[tag](raw)
        decoded[name] = value
    return decoded


def _ask(prompt: str) -> str:
    """Read the confirmation; no terminal (a scheduled job) means no confirmation."""
    try:
        return input(prompt)
    except EOFError:
        return ""


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m cli.maintenance`."""
    args = parser().parse_args(argv)
    return asyncio.run(run(args, os.environ, sys.stdout, _ask))


if __name__ == "__main__":
    sys.exit(main())
