"""The sign-in sheet (Appendix A): one partition per session, one row per person."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.errors import translated
from storage.records import AttendeeRecord, Person, arranged

# Azure Tables takes at most 100 operations in one transaction.
_BATCH = 100


class AttendanceRepository:
    """Writes are upserts keyed by person, so double clicks and retries give one row."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

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
        await self._table.upsert_entity(_to_entity(session_id, record), mode=UpdateMode.REPLACE)
        return record

    @translated
    async def add_named(
        self,
        session_id: str,
        name: str,
        at: datetime,
        *,
        category: str,
        agency: str,
        added_by: str,
    ) -> AttendeeRecord:
        """Put a person who has no Teams presence (joined by phone) on the sheet by name."""
        record = AttendeeRecord(
            key=keys.named_key(name),
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
    async def add_hint(self, session_id: str, person: Person, at: datetime) -> None:
        """Record that Teams said this user joined the meeting; the leader may confirm it."""
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
                ),
            ),
            mode=UpdateMode.REPLACE,
        )

    @translated
    async def remove(self, session_id: str, key: str) -> bool:
        """Take a row off the sheet; True even if it was not there (the SDK ignores a 404)."""
        try:
            await self._table.delete_entity(session_id, key)
        except ResourceNotFoundError:
            return False
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
    async def list(self, session_id: str) -> list[AttendeeRecord]:
        """The sheet's rows oldest first, then the hints of users not yet on it."""
        return arranged(
            [
                _from_entity(entity)
                async for entity in self._table.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": session_id}
                )
            ]
        )


def _to_entity(session_id: str, record: AttendeeRecord) -> dict:
    return {
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


def _from_entity(entity: dict) -> AttendeeRecord:
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
    )
