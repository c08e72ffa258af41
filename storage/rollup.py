"""What focal points and the Ethics Office read: entity totals, certifications, extensions,
who attended (for the cascade), and the units or leaders an entity expects.

Tables (partition key first): `entitytotals` (cycle, entity), `certifications` (cycle, entity),
`extensions` (cycle, `{entity}-{n}`), `attended` (cycle, person's Entra id),
`expected` (`{cycle}-{entity}`, hash of the line).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.batches import each_batch
from storage.errors import WriteConflict, translated
from storage.records import Certification, EntityTotals, ExpectedLine, Extension

_BATCH = 100


class RollupRepository:
    """Totals, certifications, extensions, attendance index and expected lists."""

    def __init__(
        self,
        totals: TableClient,
        certifications: TableClient,
        extensions: TableClient,
        attended: TableClient,
        expected: TableClient,
    ) -> None:
        self._totals = totals
        self._certifications = certifications
        self._extensions = extensions
        self._attended = attended
        self._expected = expected

    @staticmethod
    def extension_key(entity: str, request_id: str) -> str:
        """The key of an extension request: the same click (request id) is the same request."""
        return f"{entity}-{keys.digest('extension', request_id, length=16)}"

    @translated
    async def save_totals(self, totals: EntityTotals) -> None:
        """Store an entity's recomputed totals (a recompute, so last writer is right)."""
        await self._totals.upsert_entity(
            {
                "PartitionKey": str(totals.cycle),
                "RowKey": totals.entity,
                "Sessions": totals.sessions,
                "Participants": totals.participants,
                "Personnel": totals.personnel,
                "UpdatedAt": totals.updated_at,
            },
            mode=UpdateMode.REPLACE,
        )

    @translated
    async def totals(self, cycle: int) -> dict[str, EntityTotals]:
        """Every entity's totals for the cycle: one partition read."""
        return {
            e["RowKey"]: EntityTotals(
                cycle,
                e["RowKey"],
                int(e["Sessions"]),
                int(e["Participants"]),
                int(e["Personnel"]),
                e["UpdatedAt"],
            )
            async for e in self._totals.query_entities(
                "PartitionKey eq @pk", parameters={"pk": str(cycle)}
            )
        }

    @translated
    async def certify(self, item: Certification) -> None:
        """Store (or replace) the entity's certification snapshot."""
        await self._certifications.upsert_entity(
            _certification_entity(item), mode=UpdateMode.REPLACE
        )

    @translated
    async def confirm_certification(self, item: Certification) -> None:
        """Record the Head of Entity's confirmation under the snapshot's ETag: a snapshot
        submitted again meanwhile is not confirmed by a card showing the old one."""
        try:
            await self._certifications.update_entity(
                _certification_entity(item),
                mode=UpdateMode.REPLACE,
                etag=item.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as error:
            raise WriteConflict("certification changed") from error

    @translated
    async def certifications(self, cycle: int) -> dict[str, Certification]:
        """Every certification of the cycle, by entity."""
        return {
            e["RowKey"]: Certification(
                cycle,
                e["RowKey"],
                int(e["Sessions"]),
                int(e["Participants"]),
                int(e["Personnel"]),
                json.loads(e["Units"]),
                e["CertifiedBy"],
                e.get("CertifiedByName", ""),
                e["CertifiedAt"],
                # Snapshots stored before Heads of Entity confirmed have none of these.
                head_id=e.get("HeadOfEntity", ""),
                head_name=e.get("HeadOfEntityName", ""),
                confirmed_at=e.get("ConfirmedAt"),
                etag=e.metadata["etag"],
            )
            async for e in self._certifications.query_entities(
                "PartitionKey eq @pk", parameters={"pk": str(cycle)}
            )
        }

    @translated
    async def add_extension(self, item: Extension) -> bool:
        """Store a request; False if the same key exists (a retried click)."""
        try:
            await self._extensions.create_entity(_extension_entity(item))
        except ResourceExistsError:
            return False
        return True

    @translated
    async def extensions(self, cycle: int) -> list[Extension]:
        """Every extension request of the cycle, oldest first."""
        found = [
            _extension(e)
            async for e in self._extensions.query_entities(
                "PartitionKey eq @pk", parameters={"pk": str(cycle)}
            )
        ]
        return sorted(found, key=lambda x: x.requested_at)

    @translated
    async def save_extension(self, item: Extension) -> None:
        """Record a decision under the request's ETag."""
        try:
            await self._extensions.update_entity(
                _extension_entity(item),
                mode=UpdateMode.REPLACE,
                etag=item.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("extension changed") from error

    @translated
    async def mark_attended(self, cycle: int, aad_ids: Collection[str]) -> None:
        """Remember that these people attended a session this cycle (for the cascade)."""
        # One partition per cycle: a sheet of 25 is one transaction, not 25 writes.
        partition = str(cycle)
        rows = [{"PartitionKey": partition, "RowKey": aad_id} for aad_id in sorted(set(aad_ids))]
        await each_batch(
            {partition: rows},
            lambda _, batch: self._attended.submit_transaction([("upsert", row) for row in batch]),
        )

    @translated
    async def attended(self, cycle: int, aad_ids: set[str]) -> set[str]:
        """Which of these people attended a session this cycle."""
        found = set()
        for aad_id in aad_ids:
            try:
                await self._attended.get_entity(str(cycle), aad_id)
            except ResourceNotFoundError:
                continue
            found.add(aad_id)
        return found

    @translated
    async def replace_expected(self, cycle: int, entity: str, lines: list[ExpectedLine]) -> None:
        """Replace the entity's expected list with these lines."""
        partition = f"{cycle}-{entity}"
        old = [
            e["RowKey"]
            async for e in self._expected.query_entities(
                "PartitionKey eq @pk", parameters={"pk": partition}, select=["RowKey"]
            )
        ]
        for start in range(0, len(old), _BATCH):
            await self._expected.submit_transaction(
                [
                    ("delete", {"PartitionKey": partition, "RowKey": k})
                    for k in old[start : start + _BATCH]
                ]
            )
        rows = {
            keys.digest("expected", keys.normalized_name(line.unit), line.leader.lower()): line
            for line in lines
        }
        items = list(rows.items())
        for start in range(0, len(items), _BATCH):
            await self._expected.submit_transaction(
                [
                    (
                        "upsert",
                        {
                            "PartitionKey": partition,
                            "RowKey": k,
                            "Unit": v.unit,
                            "Leader": v.leader,
                        },
                    )
                    for k, v in items[start : start + _BATCH]
                ]
            )

    @translated
    async def expected(self, cycle: int, entity: str) -> list[ExpectedLine]:
        """The entity's expected units or leaders."""
        return [
            ExpectedLine(e["Unit"], e.get("Leader", ""))
            async for e in self._expected.query_entities(
                "PartitionKey eq @pk", parameters={"pk": f"{cycle}-{entity}"}
            )
        ]


def _certification_entity(item: Certification) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": str(item.cycle),
        "RowKey": item.entity,
        "Sessions": item.sessions,
        "Participants": item.participants,
        "Personnel": item.personnel,
        "Units": json.dumps(item.units, ensure_ascii=False),
        "CertifiedBy": item.certified_by,
        "CertifiedByName": item.certified_by_name,
        "CertifiedAt": item.certified_at,
        "HeadOfEntity": item.head_id,
        "HeadOfEntityName": item.head_name,
    }
    if item.confirmed_at is not None:
        entity["ConfirmedAt"] = item.confirmed_at
    return entity


def _extension_entity(item: Extension) -> dict[str, Any]:
    entity = {
        "PartitionKey": str(item.cycle),
        "RowKey": item.key,
        "Entity": item.entity,
        "Reason": item.reason,
        "RequestedBy": item.requested_by,
        "RequestedByName": item.requested_by_name,
        "RequestedAt": item.requested_at,
        "Status": item.status,
        "NewDeadline": item.new_deadline.isoformat() if item.new_deadline else "",
        "DecidedBy": item.decided_by,
    }
    if item.decided_at is not None:
        entity["DecidedAt"] = item.decided_at
    return entity


def _extension(e: TableEntity) -> Extension:
    return Extension(
        cycle=int(e["PartitionKey"]),
        entity=e["Entity"],
        key=e["RowKey"],
        reason=e["Reason"],
        requested_by=e["RequestedBy"],
        requested_by_name=e.get("RequestedByName", ""),
        requested_at=e["RequestedAt"],
        status=e["Status"],
        new_deadline=date.fromisoformat(e["NewDeadline"]) if e.get("NewDeadline") else None,
        decided_by=e.get("DecidedBy", ""),
        decided_at=e.get("DecidedAt"),
        etag=e.metadata["etag"],
    )
