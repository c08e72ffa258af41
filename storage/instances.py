"""The bot instances alive now: one lease row each, renewed every second, so they share a pace."""

from __future__ import annotations

from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from storage.errors import translated

_LIVE = "live"


class InstanceRepository:
    """Lease rows of the instances serving the app (partition `live`, row key = instance id)."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translated
    async def renew(self, instance_id: str, until: datetime) -> None:
        """Hold (or take) this instance's lease until `until` (an unconditional upsert)."""
        entity = {"PartitionKey": _LIVE, "RowKey": instance_id, "ExpiresAt": until}
        await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    @translated
    async def live(self, now: datetime) -> set[str]:
        """Ids of the instances whose lease has not run out at `now`."""
        found = self._table.query_entities(
            "PartitionKey eq @pk and ExpiresAt gt @now",
            parameters={"pk": _LIVE, "now": now},
            select=["RowKey"],
        )
        return {entity["RowKey"] async for entity in found}

    @translated
    async def leave(self, instance_id: str) -> None:
        """Give the lease up (a clean stop): the others take up its share at once."""
        try:
            await self._table.delete_entity(_LIVE, instance_id)
        except ResourceNotFoundError:
            pass

    @translated
    async def forget_expired(self, now: datetime) -> int:
        """Delete leases that ran out (instances that died); how many."""
        found = self._table.query_entities(
            "PartitionKey eq @pk and ExpiresAt le @now",
            parameters={"pk": _LIVE, "now": now},
            select=["RowKey"],
        )
        gone = [entity["RowKey"] async for entity in found]
        for instance_id in gone:
            try:
                await self._table.delete_entity(_LIVE, instance_id)
            except ResourceNotFoundError:
                pass
        return len(gone)
