"""Jobs: work due at a time (a reminder), claimed by one instance with a conditional write.

One partition holds every job, keyed by a stable key the rules derive (the same reminder is the
same row). An instance claims a job by replacing it under its ETag, one entity at a time (never
in a batch: Azurite ignores If-Match there), so of several instances sweeping at once exactly
one claim succeeds; the others get WriteConflict and leave the job alone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.errors import WriteConflict, translated
from storage.records import Job

_PARTITION = "job"


class JobRepository:
    """Reads, inserts and conditionally replaces jobs."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def key_for(self, kind: str, *ids: str) -> str:
        """The key of the job of this kind about these ids: a digest, safe in any key."""
        return keys.digest("job", kind, *ids)

    @translated
    async def schedule(self, job: Job) -> Job:
        """Insert the job; if its key exists, the stored job unchanged."""
        try:
            await self._table.create_entity(_to_entity(job))
        except ResourceExistsError:
            pass
        stored = await self.get(job.key)
        assert stored is not None
        return stored

    @translated
    async def get(self, key: str) -> Job | None:
        """One job, or None."""
        try:
            return _from_entity(await self._table.get_entity(_PARTITION, key))
        except ResourceNotFoundError:
            return None

    @translated
    async def due(self, now: datetime) -> list[Job]:
        """Unfinished jobs due at or before `now`, soonest first."""
        found = self._table.query_entities(
            "PartitionKey eq @pk and Finished eq @no and DueAt le @now",
            parameters={"pk": _PARTITION, "no": False, "now": now},
        )
        jobs = [_from_entity(e) async for e in found]
        return sorted(jobs, key=lambda j: (j.due_at, j.key))

    @translated
    async def save(self, job: Job) -> Job:
        """Replace the job if unchanged since read (else WriteConflict); as stored now."""
        try:
            written = await self._table.update_entity(
                _to_entity(job),
                mode=UpdateMode.REPLACE,
                etag=job.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("job changed since it was read") from error
        etag = written.get("etag")
        if etag:
            return replace(job, etag=str(etag))
        stored = await self.get(job.key)
        assert stored is not None
        return stored

    @translated
    async def of_cycle(self, cycle: int) -> list[Job]:
        """Every job about this cycle; the payload is JSON, so the cycle is read here."""
        found = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": _PARTITION})
        jobs = [_from_entity(e) async for e in found]
        return [j for j in jobs if j.payload.get("cycle") == cycle]

    @translated
    async def delete(self, key: str) -> None:
        """Delete one job (gone already: nothing to do)."""
        await self._table.delete_entity(_PARTITION, key)


def _to_entity(job: Job) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": _PARTITION,
        "RowKey": job.key,
        "Kind": job.kind,
        "DueAt": job.due_at,
        "Payload": json.dumps(job.payload, sort_keys=True),
        "Status": job.status,
        "Finished": job.finished,
        "Attempts": job.attempts,
        "CreatedBy": job.created_by,
    }
    if job.lease_until is not None:
        entity["LeaseUntil"] = job.lease_until
    if job.finished_at is not None:
        entity["FinishedAt"] = job.finished_at
    return entity


def _from_entity(entity: TableEntity) -> Job:
    return Job(
        key=entity["RowKey"],
        kind=entity["Kind"],
        due_at=entity["DueAt"],
        payload=json.loads(entity["Payload"]),
        status=entity["Status"],
        lease_until=entity.get("LeaseUntil"),
        attempts=int(entity.get("Attempts", 0)),
        finished_at=entity.get("FinishedAt"),
        created_by=entity.get("CreatedBy", ""),
        etag=entity.metadata["etag"],
    )
