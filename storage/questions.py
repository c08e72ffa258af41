"""Questions the group could not answer, kept with their session; no author is stored."""

from __future__ import annotations

from datetime import datetime

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient

from storage import keys
from storage.errors import translated
from storage.records import QuestionRecord


class QuestionRepository:
    """One partition per session; the same question logged twice is one row."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translated
    async def add(self, session_id: str, text: str, at: datetime) -> QuestionRecord:
        """Log a question; logging the same text again changes nothing."""
        record = QuestionRecord(
            question_id=keys.digest("question", keys.normalized_name(text), length=24),
            session_id=session_id,
            text=text,
            asked_at=at,
        )
        try:
            await self._table.create_entity(
                {
                    "PartitionKey": session_id,
                    "RowKey": record.question_id,
                    "Text": text,
                    "AskedAt": at,
                }
            )
        except ResourceExistsError:
            pass
        return record

    @translated
    async def for_session(self, session_id: str) -> list[QuestionRecord]:
        """The session's questions, in the order they were asked."""
        records = [
            QuestionRecord(e["RowKey"], e["PartitionKey"], e["Text"], e["AskedAt"])
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": session_id}
            )
        ]
        return sorted(records, key=lambda q: q.asked_at)
