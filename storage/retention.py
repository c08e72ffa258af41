"""The purge's raw reads and deletes: whole sign-in sheets, the cycle's indexes, leftovers of
earlier versions, and rows that belong to no session (delivered-activity markers, setup
requests). dialogs/retention.py decides what goes; this module only knows where it is stored.

Tables (partition key first): `sessions` (`{cycle}-{entity}`), `attendance` (session id),
`assessments` (session id; legacy receipts `r-{hash}`), `leaders` (Entra id, session id),
`attended` (cycle, Entra id), `deliveries` (chat hash, `At`), `setups` (chat hash,
`RequestedAt`), `leaderfeedback` (session id, `v{n}`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.batches import by_partition, each_batch
from storage.errors import translated
from storage.records import FeedbackVersion

# Earlier versions kept a receipt row per answerer ("r-" + key, sorting in [r-, r.)); the bot
# writes none now, but tables it wrote then may still hold some.
_RECEIPT_FROM, _RECEIPT_TO = "r-", "r."
_KEYS = ["PartitionKey", "RowKey"]


class RetentionRepository:
    """Counts and deletes what the purge removes, beyond the journeys' own repositories."""

    def __init__(self, tables: Mapping[str, TableClient]) -> None:
        self._sessions = tables["sessions"]
        self._attendance = tables["attendance"]
        self._assessments = tables["assessments"]
        self._leaders = tables["leaders"]
        self._attended = tables["attended"]
        self._deliveries = tables["deliveries"]
        self._setups = tables["setups"]
        self._feedback = tables["leaderfeedback"]

    @translated
    async def entities_with_sessions(self, cycle: int) -> set[str]:
        """Codes of every entity with a session in the cycle, in the directory or not."""
        # Session partitions are "{cycle}-{entity}": every one of the cycle sorts in [lo, hi).
        found = self._sessions.query_entities(
            "PartitionKey ge @lo and PartitionKey lt @hi",
            parameters={"lo": keys.session_partition(cycle, ""), "hi": f"{cycle}."},
            select=["PartitionKey"],
        )
        return {e["PartitionKey"].split("-", 1)[1] async for e in found}

    @translated
    async def sheet_size(self, session_id: str) -> int:
        """Every row of the session's sheet: sign-ins, names, join hints, struck rows."""
        return len(await _keys(self._attendance, session_id))

    @translated
    async def delete_sheet(self, session_id: str) -> int:
        """Delete every row of the session's sheet; how many there were."""
        return await _delete(self._attendance, await _keys(self._attendance, session_id))

    @translated
    async def legacy_receipts(self, session_id: str) -> int:
        """Appendix F receipt rows earlier versions kept beside the session's aggregate."""
        return len(await _keys(self._assessments, session_id, (_RECEIPT_FROM, _RECEIPT_TO)))

    @translated
    async def delete_legacy_receipts(self, session_id: str) -> int:
        """Delete those receipt rows (never the aggregate); how many there were."""
        rows = await _keys(self._assessments, session_id, (_RECEIPT_FROM, _RECEIPT_TO))
        return await _delete(self._assessments, rows)

    @translated
    async def leader_indexed(self, leader_id: str, session_id: str) -> bool:
        """Whether the session is listed among this person's sessions."""
        try:
            await self._leaders.get_entity(leader_id, session_id, select=["RowKey"])
        except ResourceNotFoundError:
            return False
        return True

    @translated
    async def attended(self, cycle: int) -> set[str]:
        """Entra ids of everybody remembered as having attended a session in the cycle."""
        return {row for _, row in await _keys(self._attended, str(cycle))}

    @translated
    async def forget_attended(self, cycle: int, aad_ids: set[str]) -> None:
        """Forget that these people attended a session in the cycle (unknown ones: no error)."""
        await _delete(self._attended, [(str(cycle), aad_id) for aad_id in sorted(aad_ids)])

    @translated
    async def markers_before(self, before: datetime) -> int:
        """Delivered-activity markers written strictly before this time, in every chat."""
        return len(await _keys_where(self._deliveries, "At lt @before", before))

    @translated
    async def delete_markers_before(self, before: datetime) -> int:
        """Delete those markers; how many there were."""
        return await _delete(
            self._deliveries, await _keys_where(self._deliveries, "At lt @before", before)
        )

    @translated
    async def setups_before(self, before: datetime) -> int:
        """Setup requests (who asked for a card) made strictly before this time, in every chat."""
        return len(await _keys_where(self._setups, "RequestedAt lt @before", before))

    @translated
    async def delete_setups_before(self, before: datetime) -> int:
        """Delete those setup requests; how many there were."""
        return await _delete(
            self._setups, await _keys_where(self._setups, "RequestedAt lt @before", before)
        )

    @translated
    async def anonymise_feedback(self, version: FeedbackVersion) -> None:
        """Replace a stored Appendix C version's answers and submitter by these (a missing
        version stays missing); its number and time are kept."""
        try:
            await self._feedback.update_entity(
                {
                    "PartitionKey": version.session_id,
                    "RowKey": f"v{version.version:05d}",
                    "Answers": json.dumps(version.answers, ensure_ascii=False),
                    "SubmittedBy": version.submitted_by,
                },
                mode=UpdateMode.MERGE,
            )
        except ResourceNotFoundError:
            pass  # gone meanwhile: nothing of it is left to anonymise


async def _keys(
    table: TableClient, partition: str, rows: tuple[str, str] | None = None
) -> list[tuple[str, str]]:
    """(partition, row) of every entity in one partition, or in a row-key range of it."""
    query, parameters = "PartitionKey eq @pk", {"pk": partition}
    if rows is not None:
        query += " and RowKey ge @lo and RowKey lt @hi"
        parameters.update(lo=rows[0], hi=rows[1])
    found = table.query_entities(query, parameters=parameters, select=_KEYS)
    return [(e["PartitionKey"], e["RowKey"]) async for e in found]


async def _keys_where(table: TableClient, query: str, before: datetime) -> list[tuple[str, str]]:
    """(partition, row) of every entity of the table the query selects, in any partition."""
    found = table.query_entities(query, parameters={"before": before}, select=_KEYS)
    return [(e["PartitionKey"], e["RowKey"]) async for e in found]


async def _delete(table: TableClient, rows: list[tuple[str, str]]) -> int:
    """Delete these rows, a transaction per partition and hundred; how many."""

    async def delete(partition: str, row_keys: Sequence[str]) -> None:
        try:
            await table.submit_transaction(
                [("delete", {"PartitionKey": partition, "RowKey": k}) for k in row_keys]
            )
        except TableTransactionError:
            # A row went meanwhile (e.g. a rerun after an interruption): one by one.
            for row_key in row_keys:
                try:
                    await table.delete_entity(partition, row_key)
                except ResourceNotFoundError:
                    pass

    await each_batch(by_partition(rows), delete)
    return len(rows)
