"""Who asked for each setup card still waiting in a chat: only they may submit it."""

from __future__ import annotations

from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.errors import translated


def _row(card_id: str) -> str:
    # Message ids are Teams' to choose: hashed, they can never hold a character keys forbid.
    return keys.digest("setup", card_id)


class SetupRepository:
    """One row per setup card posted and not yet used, in the chat's partition."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translated
    async def remember(
        self, conversation_id: str, card_id: str, requester_id: str, at: datetime
    ) -> None:
        """Record who asked for the setup card posted as this message."""
        await self._table.upsert_entity(
            {
                "PartitionKey": keys.chat_partition(conversation_id),
                "RowKey": _row(card_id),
                "RequesterId": requester_id,
                "RequestedAt": at,
            },
            mode=UpdateMode.REPLACE,
        )

    @translated
    async def requester(self, conversation_id: str, card_id: str) -> str | None:
        """The Entra id of whoever asked for this setup card, or None if nobody did."""
        try:
            row = await self._table.get_entity(keys.chat_partition(conversation_id), _row(card_id))
        except ResourceNotFoundError:
            return None
        return str(row.get("RequesterId") or "") or None

    @translated
    async def forget_chat(self, conversation_id: str) -> None:
        """Drop every waiting setup card of the chat (a session started there)."""
        partition = keys.chat_partition(conversation_id)
        found = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": partition}, select=["RowKey"]
        )
        for row in [entity["RowKey"] async for entity in found]:
            try:
                await self._table.delete_entity(partition, row)
            except ResourceNotFoundError:
                pass  # another instance dropped it first
