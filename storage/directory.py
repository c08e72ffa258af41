"""Who and what the Dialogue is organised around: the cycle, entities, focal points, the audit.

Table `directory`, partitions: `cycle` (row `current`), `entity` (row = code), `focal-{code}`
(row = person's Entra id), `person-{aad}` (row = `focal-{code}`: the reverse index, so a person's
roles are one partition read), `head` (row = code: the entity's Head of Entity),
`personnel-{cycle}` (row = code: the entity's whole personnel that cycle). Table `audit`:
partition `audit`, rows newest first.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from storage.errors import WriteConflict, translated
from storage.records import (
    AuditEntry,
    CycleConfig,
    EntityPersonnel,
    EntityRecord,
    FocalPoint,
    HeadOfEntity,
)

# Row keys sort ascending; subtracting from a far date puts the newest audit entry first.
_FAR_FUTURE = datetime(9999, 1, 1).timestamp()


class DirectoryRepository:
    """Reads and writes the directory and appends to the audit log."""

    def __init__(self, directory: TableClient, audit: TableClient) -> None:
        self._table = directory
        self._audit = audit

    @translated
    async def cycle(self) -> CycleConfig | None:
        """The current cycle, or None before it is first set."""
        try:
            e = await self._table.get_entity("cycle", "current")
        except ResourceNotFoundError:
            return None
        videos = json.loads(e.get("Videos") or "{}")
        return CycleConfig(
            int(e["Year"]),
            e["Pack"],
            date.fromisoformat(e["Deadline"]),
            e.metadata["etag"],
            {str(k): str(v) for k, v in videos.items()} if isinstance(videos, dict) else {},
        )

    @translated
    async def save_cycle(self, config: CycleConfig, *, create: bool = False) -> None:
        """Create the cycle (if `create`, only when absent) or replace it under its ETag."""
        entity = {
            "PartitionKey": "cycle",
            "RowKey": "current",
            "Year": config.year,
            "Pack": config.pack,
            "Deadline": config.deadline.isoformat(),
            "Videos": json.dumps(dict(config.videos), sort_keys=True),
        }
        if create:
            try:
                await self._table.create_entity(entity)
            except ResourceExistsError:
                pass
            return
        try:
            await self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=config.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("cycle changed") from error

    @translated
    async def entities(self) -> list[EntityRecord]:
        """Every entity, active or not, by code."""
        found = [
            EntityRecord(
                e["RowKey"],
                e["Name"],
                bool(e.get("Active", True)),
                date.fromisoformat(e["ExtensionUntil"]) if e.get("ExtensionUntil") else None,
                e.metadata["etag"],
            )
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": "entity"}
            )
        ]
        return sorted(found, key=lambda r: r.code)

    @translated
    async def save_entity(self, record: EntityRecord, *, create: bool = False) -> bool:
        """Create an entity (False if it exists) or replace it under its ETag."""
        entity = {
            "PartitionKey": "entity",
            "RowKey": record.code,
            "Name": record.name,
            "Active": record.active,
            "ExtensionUntil": record.extension_until.isoformat() if record.extension_until else "",
        }
        if create:
            try:
                await self._table.create_entity(entity)
            except ResourceExistsError:
                return False
            return True
        try:
            await self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=record.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("entity changed") from error
        return True

    @translated
    async def focal_points(self, entity: str) -> list[FocalPoint]:
        """The entity's focal points."""
        return [
            FocalPoint(
                entity,
                e["RowKey"],
                e["Mri"],
                e["Name"],
                e["AddedBy"],
                e["AddedAt"],
                e.get("ServiceUrl", ""),
                e.get("TenantId", ""),
            )
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": f"focal-{entity}"}
            )
        ]

    @translated
    async def add_focal_point(self, point: FocalPoint) -> None:
        """Name a focal point (idempotent), with the reverse index."""
        await self._table.upsert_entity(
            {
                "PartitionKey": f"focal-{point.entity}",
                "RowKey": point.aad_id,
                "Mri": point.mri,
                "Name": point.name,
                "AddedBy": point.added_by,
                "AddedAt": point.added_at,
                "ServiceUrl": point.service_url,
                "TenantId": point.tenant_id,
            }
        )
        await self._table.upsert_entity(
            {"PartitionKey": f"person-{point.aad_id}", "RowKey": f"focal-{point.entity}"}
        )

    @translated
    async def remove_focal_point(self, entity: str, aad_id: str) -> bool:
        """Withdraw a focal point; False when they were not one."""
        try:
            # delete_entity ignores a missing row: look first, so "withdrawn" is true.
            await self._table.get_entity(f"focal-{entity}", aad_id)
        except ResourceNotFoundError:
            return False
        await self._table.delete_entity(f"focal-{entity}", aad_id)
        try:
            await self._table.delete_entity(f"person-{aad_id}", f"focal-{entity}")
        except ResourceNotFoundError:
            pass
        return True

    @translated
    async def focal_entities(self, aad_id: str) -> set[str]:
        """The entities this person is focal point for."""
        return {
            e["RowKey"].removeprefix("focal-")
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": f"person-{aad_id}"}
            )
        }

    @translated
    async def save_contact(self, aad_id: str, mri: str, service_url: str, tenant_id: str) -> None:
        """Remember how to reach a person in personal chat (admins, focal points: notices)."""
        await self._table.upsert_entity(
            {
                "PartitionKey": "contact",
                "RowKey": aad_id,
                "Mri": mri,
                "ServiceUrl": service_url,
                "TenantId": tenant_id,
            }
        )

    @translated
    async def contacts(self, aad_ids: set[str]) -> list[tuple[str, str, str]]:
        """(mri, service url, tenant) of those of these people the bot can reach."""
        found = []
        for aad_id in sorted(aad_ids):
            try:
                e = await self._table.get_entity("contact", aad_id)
            except ResourceNotFoundError:
                continue
            found.append((e["Mri"], e["ServiceUrl"], e["TenantId"]))
        return found

    @translated
    async def save_head_of_entity(self, head: HeadOfEntity) -> None:
        """Name the entity's Head of Entity (replacing the one named before)."""
        await self._table.upsert_entity(
            {
                "PartitionKey": "head",
                "RowKey": head.entity,
                "AadId": head.aad_id,
                "Mri": head.mri,
                "Name": head.name,
                "AddedBy": head.added_by,
                "AddedAt": head.added_at,
                "ServiceUrl": head.service_url,
                "TenantId": head.tenant_id,
            },
            mode=UpdateMode.REPLACE,
        )

    @translated
    async def heads_of_entity(self) -> dict[str, HeadOfEntity]:
        """Every entity's Head of Entity, by entity code: one partition read."""
        return {
            e["RowKey"]: HeadOfEntity(
                e["RowKey"],
                e["AadId"],
                e["Mri"],
                e["Name"],
                e["AddedBy"],
                e["AddedAt"],
                e.get("ServiceUrl", ""),
                e.get("TenantId", ""),
            )
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": "head"}
            )
        }

    @translated
    async def save_personnel(self, record: EntityPersonnel) -> None:
        """Record the entity's whole personnel for the cycle (the latest figure counts)."""
        await self._table.upsert_entity(
            {
                "PartitionKey": f"personnel-{record.cycle}",
                "RowKey": record.entity,
                "Personnel": record.personnel,
                "RecordedBy": record.recorded_by,
                "RecordedAt": record.recorded_at,
            },
            mode=UpdateMode.REPLACE,
        )

    @translated
    async def personnel(self, cycle: int) -> dict[str, EntityPersonnel]:
        """Every entity's recorded personnel for the cycle, by code: one partition read."""
        return {
            e["RowKey"]: EntityPersonnel(
                cycle, e["RowKey"], int(e["Personnel"]), e["RecordedBy"], e["RecordedAt"]
            )
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": f"personnel-{cycle}"}
            )
        }

    @translated
    async def record(self, entry: AuditEntry) -> None:
        """Append to the audit log."""
        row = f"{_FAR_FUTURE - entry.at.timestamp():017.6f}-{uuid.uuid4().hex[:8]}"
        try:
            await self._audit.create_entity(
                {
                    "PartitionKey": "audit",
                    "RowKey": row,
                    "At": entry.at,
                    "Actor": entry.actor,
                    "Action": entry.action,
                    "Details": json.dumps(entry.details, ensure_ascii=False, default=str),
                    "Entity": entry.entity,
                }
            )
        except ResourceExistsError:
            pass  # the row key is unique to this entry: a 409 answers our own retried insert

    @translated
    async def audit_log(self, limit: int = 50) -> list[AuditEntry]:
        """The newest entries first."""
        entries: list[AuditEntry] = []
        async for e in self._audit.query_entities(
            "PartitionKey eq @pk", parameters={"pk": "audit"}, results_per_page=limit
        ):
            entries.append(_audit_entry(e))
            if len(entries) >= limit:
                break
        return entries

    @translated
    async def audit_of_entity(self, entity: str, limit: int = 50) -> list[AuditEntry]:
        """The newest entries concerning one entity first."""
        entries: list[AuditEntry] = []
        async for e in self._audit.query_entities(
            "PartitionKey eq @pk and Entity eq @entity",
            parameters={"pk": "audit", "entity": entity},
            results_per_page=limit,
        ):
            entries.append(_audit_entry(e))
            if len(entries) >= limit:
                break
        return entries


def _audit_entry(e: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        e["At"], e["Actor"], e["Action"], json.loads(e["Details"]), e.get("Entity", "")
    )
