"""The sign-in sheet (Appendix A): one partition per session, one row per person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.batches import GroupCommit, ReadTogether
from storage.errors import translated
from storage.records import UNREAD_TIME, AttendeeRecord, Person, arranged

# Azure Tables takes at most 100 operations in one transaction.
_BATCH = 100
# What a headcount reads of each row.
_HEADCOUNT = ["RowKey", "Source", "AadId", "Mri", "StruckAt", "AddedAfterFreeze"]


class AttendanceRepository:
    """Writes are upserts keyed by person, so double clicks and retries give one row."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        # Sign-ins arriving together for one sheet go in one transaction.
        self._signins = GroupCommit(table)
        # ...and read the sheet they join once or twice between them.
        self._reads = ReadTogether()

    @staticmethod
    def key_for(person: Person | None, identity: str) -> str:
        """The row key of a Teams user, or (without one) of a name with this identity."""
        return keys.user_key(person.aad_id) if person else keys.named_key(identity)

    @translated
    async def sign_in(
        self,
        session_id: str,
        person: Person,
        at: datetime,
        *,
        source: str = "self",
        category: str = "staff",
        agency: str = "",
    ) -> AttendeeRecord:
        """Put a Teams user on the sheet, or update their details."""
        record = AttendeeRecord(
            key=keys.user_key(person.aad_id),
            name=person.name,
            source=source,
            signed_at=at,
            aad_id=person.aad_id,
            mri=person.mri,
            category=category,
            agency=agency,
            added_by=person.aad_id if source == "self" else "",
        )
        await self._signins.upsert(_to_entity(session_id, record))
        return record

    @translated
    async def add_named(
        self,
        session_id: str,
        name: str,
        at: datetime,
        *,
        identity: str,
        category: str,
        agency: str,
        added_by: str,
    ) -> AttendeeRecord:
        """Put a person who has no Teams presence (joined by phone) on the sheet by name.

        The row key comes from the name's identity (what it looks like, decided by the rules),
        so two people adding look-alike names at once still write one row.
        """
        record = AttendeeRecord(
            key=keys.named_key(identity),
            name=name,
            source="added",
            signed_at=at,
            category=category,
            agency=agency,
            added_by=added_by,
        )
        await self._table.upsert_entity(_to_entity(session_id, record), mode=UpdateMode.REPLACE)
        return record

    @translated
    async def add_users(
        self, session_id: str, people: Iterable[Person], at: datetime, *, source: str, added_by: str
    ) -> int:
        """Add Teams users not yet on the sheet, in batches of one transaction; count the new."""
        present = {r.key for r in await self.list(session_id) if not r.is_hint}
        fresh: dict[str, AttendeeRecord] = {}
        for person in people:
            key = keys.user_key(person.aad_id)
            if key in present or key in fresh:
                continue
            fresh[key] = AttendeeRecord(
                key=key,
                name=person.name,
                source=source,
                signed_at=at,
                aad_id=person.aad_id,
                mri=person.mri,
                added_by=added_by,
            )
        records = list(fresh.values())
        for start in range(0, len(records), _BATCH):
            await self._table.submit_transaction(
                [
                    ("upsert", _to_entity(session_id, record), {"mode": UpdateMode.REPLACE})
                    for record in records[start : start + _BATCH]
                ]
            )
        return len(records)

    @translated
    async def add_hint(
        self, session_id: str, person: Person, at: datetime, *, in_meeting: bool = False
    ) -> None:
        """Record that Teams said this user joined the meeting; the leader may confirm it.

        `in_meeting`: Teams' participant API said so too (a stronger hint, still only a hint).
        """
        await self._table.upsert_entity(
            _to_entity(
                session_id,
                AttendeeRecord(
                    key=keys.hint_key(person.aad_id),
                    name=person.name,
                    source="hint",
                    signed_at=at,
                    aad_id=person.aad_id,
                    mri=person.mri,
                    in_meeting=in_meeting,
                ),
            ),
            mode=UpdateMode.REPLACE,
        )

    @translated
    async def add_correction(
        self,
        session_id: str,
        *,
        person: Person | None,
        name: str,
        identity: str,
        at: datetime,
        category: str,
        agency: str,
        added_by: str,
    ) -> AttendeeRecord | None:
        """Add a row after the sheet froze (a Teams user, else a name); None if the row exists.

        `identity` is what makes two names one person (their look-alike skeleton).

        Insert only: a correction never overwrites a row, whoever wrote it.
        """
        record = AttendeeRecord(
            key=self.key_for(person, identity),
            name=name,
            source="focal",
            signed_at=at,
            aad_id=person.aad_id if person else "",
            mri=person.mri if person else "",
            category=category,
            agency=agency,
            added_by=added_by,
            added_after_freeze=True,
        )
        try:
            await self._table.create_entity(_to_entity(session_id, record))
        except ResourceExistsError:
            return None
        return record

    @translated
    async def strike(self, session_id: str, key: str, at: datetime) -> bool:
        """Strike a row off a frozen sheet, keeping it; False when there is no such row."""
        try:
            await self._table.update_entity(
                {"PartitionKey": session_id, "RowKey": key, "StruckAt": at},
                mode=UpdateMode.MERGE,
            )
        except ResourceNotFoundError:
            return False
        return True

    @translated
    async def restore(self, session_id: str, record: AttendeeRecord) -> None:
        """Put a struck row back on the sheet as it was."""
        await self._table.upsert_entity(
            _to_entity(session_id, replace(record, struck_at=None)), mode=UpdateMode.REPLACE
        )

    @translated
    async def remove(self, session_id: str, key: str) -> bool:
        """Take a row off the sheet; True even if it was not there (the SDK ignores a 404)."""
        await self._table.delete_entity(session_id, key)
        return True

    @translated
    async def get(self, session_id: str, aad_id: str) -> AttendeeRecord | None:
        """A Teams user's own sign-in row, or None; a join hint is another row, never this one."""
        try:
            entity = await self._table.get_entity(session_id, keys.user_key(aad_id))
        except ResourceNotFoundError:
            return None
        return _from_entity(entity)

    @translated
    async def headcount(self, session_id: str) -> list[AttendeeRecord]:
        """The sheet's rows with only what counts them and lists them for Teams' refresh.

        Names, details and times are not read (each property read costs CPU on every row):
        the rows have no name, and the order is the keys'.
        """

        async def load() -> list[AttendeeRecord]:
            return [
                AttendeeRecord(
                    key=entity["RowKey"],
                    name="",
                    source=entity["Source"],
                    signed_at=UNREAD_TIME,
                    aad_id=entity.get("AadId") or "",
                    mri=entity.get("Mri") or "",
                    struck_at=entity.get("StruckAt"),
                    added_after_freeze=bool(entity.get("AddedAfterFreeze")),
                )
                async for entity in self._table.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": session_id}, select=_HEADCOUNT
                )
            ]

        # The records are frozen; the list is the caller's own.
        return list(await self._reads.read(("headcount", session_id), load))

    @translated
    async def list(self, session_id: str) -> list[AttendeeRecord]:
        """The sheet's rows oldest first, then the hints of users not yet on it."""

        async def load() -> list[AttendeeRecord]:
            return arranged(
                [
                    _from_entity(entity)
                    async for entity in self._table.query_entities(
                        "PartitionKey eq @pk", parameters={"pk": session_id}
                    )
                ]
            )

        return list(await self._reads.read(("sheet", session_id), load))


def _to_entity(session_id: str, record: AttendeeRecord) -> dict[str, Any]:
    entity = {
        "PartitionKey": session_id,
        "RowKey": record.key,
        "Name": record.name,
        "Source": record.source,
        "SignedAt": record.signed_at,
        "AadId": record.aad_id,
        "Mri": record.mri,
        "Category": record.category,
        "Agency": record.agency,
        "AddedBy": record.added_by,
    }
    # Only corrected rows carry these: the rows of 25 sign-ins stay as small as they were.
    if record.struck_at is not None:
        entity["StruckAt"] = record.struck_at
    if record.added_after_freeze:
        entity["AddedAfterFreeze"] = True
    if record.in_meeting:
        entity["InMeeting"] = True
    return entity


def _from_entity(entity: TableEntity) -> AttendeeRecord:
    return AttendeeRecord(
        key=entity["RowKey"],
        name=entity["Name"],
        source=entity["Source"],
        signed_at=entity["SignedAt"],
        aad_id=entity.get("AadId", ""),
        mri=entity.get("Mri", ""),
        category=entity.get("Category", "staff"),
        agency=entity.get("Agency", ""),
        added_by=entity.get("AddedBy", ""),
        struck_at=entity.get("StruckAt"),
        added_after_freeze=bool(entity.get("AddedAfterFreeze", False)),
        in_meeting=bool(entity.get("InMeeting", False)),
    )
