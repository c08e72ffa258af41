"""Questions the group could not answer, kept with their session; no author is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.errors import WriteConflict, translated
from storage.records import QuestionRecord, QueuedQuestion


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


class QueueRepository:
    """The Ethics Office's queue: one partition per cycle, one row per forwarded question."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @staticmethod
    def key_for(session_id: str, question_id: str) -> str:
        """The queue key of a session's question: forwarding it again finds the same row."""
        return f"{session_id}-{question_id}"

    @translated
    async def add(self, item: QueuedQuestion) -> bool:
        """Queue a question; False when it was queued before (forwarding twice is harmless)."""
        try:
            await self._table.create_entity(_queued_entity(item))
        except ResourceExistsError:
            return False
        return True

    @translated
    async def for_cycle(self, cycle: int) -> list[QueuedQuestion]:
        """Every queued question of a cycle, oldest first."""
        items = [
            _queued(e)
            async for e in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": str(cycle)}
            )
        ]
        return sorted(items, key=lambda q: q.forwarded_at)

    @translated
    async def get(self, cycle: int, key: str) -> QueuedQuestion | None:
        """One queued question, or None."""
        try:
            return _queued(await self._table.get_entity(str(cycle), key))
        except ResourceNotFoundError:
            return None

    @translated
    async def save(self, item: QueuedQuestion) -> QueuedQuestion:
        """Replace if unchanged since read; else WriteConflict."""
        try:
            await self._table.update_entity(
                _queued_entity(item),
                mode=UpdateMode.REPLACE,
                etag=item.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("question changed since it was read") from error
        stored = await self.get(item.cycle, item.key)
        assert stored is not None
        return stored


def _queued_entity(item: QueuedQuestion) -> dict[str, Any]:
    entity = {
        "PartitionKey": str(item.cycle),
        "RowKey": item.key,
        "Entity": item.entity,
        "SessionId": item.session_id,
        "SessionDate": item.session_date,
        "Text": item.text,
        "LeaderId": item.leader_id,
        "LeaderMri": item.leader_mri,
        "LeaderName": item.leader_name,
        "TenantId": item.tenant_id,
        "ServiceUrl": item.service_url,
        "ForwardedAt": item.forwarded_at,
        "Status": item.status,
        "Reply": item.reply,
        "AnsweredBy": item.answered_by,
    }
    if item.answered_at is not None:
        entity["AnsweredAt"] = item.answered_at
    if item.shared_at is not None:
        entity["SharedAt"] = item.shared_at
    return entity


def _queued(e: TableEntity) -> QueuedQuestion:
    return QueuedQuestion(
        key=e["RowKey"],
        cycle=int(e["PartitionKey"]),
        entity=e["Entity"],
        session_id=e["SessionId"],
        session_date=e["SessionDate"],
        text=e["Text"],
        leader_id=e["LeaderId"],
        leader_mri=e["LeaderMri"],
        leader_name=e["LeaderName"],
        tenant_id=e["TenantId"],
        service_url=e["ServiceUrl"],
        forwarded_at=e["ForwardedAt"],
        status=e["Status"],
        reply=e.get("Reply", ""),
        answered_by=e.get("AnsweredBy", ""),
        answered_at=e.get("AnsweredAt"),
        shared_at=e.get("SharedAt"),
        etag=e.metadata["etag"],
    )
