"""Appendix C: every version of a leader's feedback on a session, kept."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient

from storage.errors import WriteConflict, translated
from storage.records import FeedbackVersion


class LeaderFeedbackRepository:
    """One partition per session; a version is never overwritten."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translated
    async def versions(self, session_id: str) -> list[FeedbackVersion]:
        """Every version, oldest first."""
        found = [
            FeedbackVersion(
                session_id=e["PartitionKey"],
                version=int(e["Version"]),
                answers=json.loads(e["Answers"]),
                submitted_at=e["SubmittedAt"],
                submitted_by=e["SubmittedBy"],
            )
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": session_id}
            )
        ]
        return sorted(found, key=lambda v: v.version)

    @translated
    async def add(
        self, session_id: str, version: int, answers: dict[str, Any], at: datetime, by: str
    ) -> FeedbackVersion:
        """Store a new version; WriteConflict when that number was taken meanwhile."""
        entity: dict[str, Any] = {
            "PartitionKey": session_id,
            "RowKey": f"v{version:05d}",
            "Version": version,
            "Answers": json.dumps(answers, ensure_ascii=False),
            "SubmittedAt": at,
            "SubmittedBy": by,
        }
        try:
            await self._table.create_entity(entity)
        except ResourceExistsError as error:
            # The client retries inserts: the 409 may answer our own write whose reply was lost.
            existing = await self._table.get_entity(session_id, entity["RowKey"])
            mine = existing["Answers"] == entity["Answers"] and existing["SubmittedAt"] == at
            if not mine:
                raise WriteConflict("that version exists") from error
        return FeedbackVersion(session_id, version, answers, at, by)
