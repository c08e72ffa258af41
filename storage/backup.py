"""What a backup of the tables may hold: no salt, no keyed hash, nothing that links a person.

An export is read by whoever holds the files, for as long as they are kept, and alongside the
secret if that ever leaks: it leaves out everything that only exists to recognise a person
again. So a backup holds every poll as closed, with its tally counted at export time and no
salt; no vote rows and no index of open polls; and every Appendix F aggregate without its salt
and keyed hashes (`Salt`, `Folded0`, `Folded1`, ...), its answer count kept as `Answers`.
Restoring such a backup gives closed polls with their results, and assessments that count
their answers but can no longer tell who answered.

A backup is one JSON line per row: strings, whole numbers (Int32) and booleans as they are,
every other type tagged (`{"Int64": "..."}`, `{"DateTime": ...}`, `{"Double": ...}`,
`{"Binary": base64}`, `{"Guid": ...}`), so a restore writes back the same types.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from azure.data.tables import EdmType, EntityProperty, UpdateMode
from azure.data.tables.aio import TableClient

from storage.batches import by_partition, each_batch
from storage.errors import translated

# Tables whose rows are all links between a person and an answer, or pointers to open polls;
# and the instances' pacing leases, which mean nothing a few seconds later.
LEFT_OUT = frozenset({"votes", "openpolls", "instances"})
_FOLDED = re.compile(r"^Folded\d+$")


class BackupFilter:
    """Turns the rows read from the tables into the rows a backup holds."""

    def __init__(self, exported_at: datetime) -> None:
        self._exported_at = exported_at
        self._votes: dict[str, list[list[int]]] = {}

    def count_votes(self, votes: Iterable[Mapping[str, Any]]) -> None:
        """Read the votes of open polls, so their polls are exported with a tally."""
        for vote in votes:
            self._votes.setdefault(vote["PartitionKey"], []).append(json.loads(vote["Choices"]))

    def row(self, table: str, entity: Mapping[str, Any]) -> dict[str, Any] | None:
        """The entity as a backup holds it, or None if it stays out."""
        if table in LEFT_OUT:
            return None
        if table == "polls":
            return self._poll(entity)
        if table == "assessments":
            return _aggregate(entity)
        return dict(entity)

    def _poll(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        poll = {k: v for k, v in entity.items() if k != "Salt"}
        if poll.get("Status") != "closed":
            options = len(json.loads(poll["Options"]))
            counts = [0] * options
            votes = self._votes.get(poll["RowKey"], [])
            for choices in votes:
                for pick in choices:
                    if 0 <= pick < options:
                        counts[pick] += 1
            poll.update(
                Status="closed",
                Results=json.dumps(counts),
                Voters=len(votes),
                ClosedAt=self._exported_at,
                Cutoff=self._exported_at,
            )
        return poll


def _aggregate(entity: Mapping[str, Any]) -> dict[str, Any] | None:
    if entity.get("RowKey") != "aggregate":
        return None  # a receipt row of an earlier version: its row key is a person's hash
    parts: list[str] = []
    while (part := entity.get(f"Folded{len(parts)}")) is not None:
        parts.append(part)
    folded = "".join(parts)
    kept = {k: v for k, v in entity.items() if k != "Salt" and not _FOLDED.match(k)}
    if "Answers" not in kept:
        kept["Answers"] = len(json.loads(folded or "[]"))
        # No salt left: the backup's copy counts as closed, so nothing waits to close it.
        kept.pop("ClosesAt", None)
    return kept


class BackupRepository:
    """Every table read out as a backup's lines, and a backup's lines written back."""

    def __init__(self, tables: Mapping[str, TableClient]) -> None:
        self._tables = tables

    @translated
    async def filter_at(self, exported_at: datetime) -> BackupFilter:
        """The filter of a backup taken at this time, with the open polls' votes counted."""
        backup = BackupFilter(exported_at)
        backup.count_votes([v async for v in self._tables["votes"].list_entities()])
        return backup

    @translated
    async def exported(self, table: str, backup: BackupFilter) -> list[str]:
        """The table's rows as the backup holds them: one JSON line each."""
        return [
            json.dumps(_encoded(row), ensure_ascii=False)
            async for entity in self._tables[table].list_entities()
            if (row := backup.row(table, entity)) is not None
        ]

    @translated
    async def restore(self, table: str, lines: Sequence[str]) -> int:
        """Upsert a backup's lines into the table, replacing rows with the same keys; how many."""
        entities = [_decoded(json.loads(line)) for line in lines]
        client = self._tables[table]

        async def upsert(_partition: str, batch: Sequence[dict[str, Any]]) -> None:
            await client.submit_transaction(
                [("upsert", entity, {"mode": UpdateMode.REPLACE}) for entity in batch]
            )

        await each_batch(by_partition((e["PartitionKey"], e) for e in entities), upsert)
        return len(entities)


def _encoded(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An entity as JSON: strings, whole numbers and booleans as they are, other types tagged."""
    encoded: dict[str, Any] = {}
    for name, value in entity.items():
        if isinstance(value, EntityProperty):
            if value.edm_type != EdmType.INT64:
                raise ValueError(f"{name}: cannot export {value.edm_type}")
            encoded[name] = {"Int64": str(value.value)}
        elif isinstance(value, datetime):
            encoded[name] = {"DateTime": value.isoformat()}
        elif isinstance(value, float):
            encoded[name] = {"Double": repr(value)}
        elif isinstance(value, bytes):
            encoded[name] = {"Binary": base64.b64encode(value).decode("ascii")}
        elif isinstance(value, uuid.UUID):
            encoded[name] = {"Guid": str(value)}
        else:
            encoded[name] = value  # str, int (Int32) or bool
    return encoded


_DECODE: dict[str, Callable[[str], Any]] = {
    "Int64": lambda v: EntityProperty(int(v), EdmType.INT64),
    "DateTime": datetime.fromisoformat,
    "Double": float,
    "Binary": base64.b64decode,
    "Guid": uuid.UUID,
}


def _decoded(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The entity _encoded wrote, with its types."""
    decoded = {}
    for name, value in entity.items():
        if isinstance(value, dict):
            ((tag, raw),) = value.items()
            value = _DECODE[tag](raw)
        decoded[name] = value
    return decoded
