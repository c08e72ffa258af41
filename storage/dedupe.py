"""Markers that make a redelivered activity a no-op: insert-only, one per delivered activity."""

from __future__ import annotations

import uuid
from datetime import datetime

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient

from storage import keys
from storage.errors import translated


class DedupeRepository:
    """The first delivery of an activity claims its marker; later deliveries find it taken."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translated
    async def first_delivery(self, conversation_id: str, activity_id: str, at: datetime) -> bool:
        """True for the first delivery of this activity, False for any redelivery."""
        partition = keys.chat_partition(conversation_id)
        row = keys.digest("activity", activity_id)
        claim = uuid.uuid4().hex
        try:
            await self._table.create_entity(
                {"PartitionKey": partition, "RowKey": row, "Claim": claim, "At": at}
            )
        except ResourceExistsError:
            # The client retries inserts: a 409 may answer our own write whose reply was lost.
            existing = await self._table.get_entity(partition, row)
            return existing.get("Claim") == claim
        return True
