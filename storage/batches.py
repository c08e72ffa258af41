"""Transactions of Azure Tables: at most 100 operations, all in one partition, a few in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from azure.core.exceptions import AzureError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from storage.errors import StorageUnavailable

T = TypeVar("T")

# Azure Tables takes at most 100 operations in one transaction, all in one partition; Azurite
# answers a 101st with a broken response instead of an error.
BATCH = 100
# Transactions in flight at once: quick for thousands of partitions, gentle on the account.
PARALLEL = 16
# How long a shared read waits for the one ahead of it before it starts anyway.
_OVERLAP_SECONDS = 1.0


def by_partition(rows: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """(partition, item) pairs grouped by partition, in their order."""
    grouped: dict[str, list[T]] = {}
    for partition, item in rows:
        grouped.setdefault(partition, []).append(item)
    return grouped


async def each_batch(
    partitions: Mapping[str, Sequence[T]], work: Callable[[str, Sequence[T]], Awaitable[object]]
) -> None:
    """Call `work(partition, batch)` on every partition's items, BATCH at a time."""
    limit = asyncio.Semaphore(PARALLEL)

    async def one(partition: str, batch: Sequence[T]) -> None:
        async with limit:
            await work(partition, batch)

    await asyncio.gather(
        *(
            one(partition, items[start : start + BATCH])
            for partition, items in partitions.items()
            for start in range(0, len(items), BATCH)
        )
    )


class GroupCommit:
    """Unconditional upserts arriving together for one partition, written in one transaction.

    The first caller for a partition starts a writer; whoever arrives while its transaction is
    in flight waits for the next one, so a burst of 25 sign-ins in one meeting costs a few
    transactions instead of 25 writes, while one click alone is written at once. Each caller is
    answered with its own write's metadata (its ETag, hence its storage time), or with the
    error of the transaction that held its row: then none of that transaction was stored.
    Only unconditional upserts belong here: Azurite ignores If-Match inside a transaction.
    """

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._waiting: dict[str, list[tuple[dict[str, Any], asyncio.Future[Mapping[str, Any]]]]]
        self._waiting = {}
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def upsert(self, entity: dict[str, Any]) -> Mapping[str, Any]:
        """Replace (or insert) the entity with the others waiting; the write's metadata."""
        partition = str(entity["PartitionKey"])
        outcome: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(partition, []).append((entity, outcome))
        if partition not in self._writers:
            self._writers[partition] = asyncio.create_task(self._write(partition))
        # Shielded: a caller that goes away (its request timed out) does not cancel the others.
        return await asyncio.shield(outcome)

    async def _write(self, partition: str) -> None:
        try:
            while waiting := self._waiting.pop(partition, None):
                group, later = _one_each(waiting)
                if later:
                    # A second write of one row goes in the next transaction: a transaction
                    # may touch each entity once.
                    self._waiting[partition] = later + self._waiting.get(partition, [])
                for start in range(0, len(group), BATCH):
                    await self._commit(group[start : start + BATCH])
        finally:
            del self._writers[partition]
            for _, outcome in self._waiting.pop(partition, []):
                if not outcome.done():
                    outcome.set_exception(StorageUnavailable("write cancelled"))

    async def _commit(
        self, group: list[tuple[dict[str, Any], asyncio.Future[Mapping[str, Any]]]]
    ) -> None:
        try:
            if len(group) == 1:
                results: list[Mapping[str, Any]] = [
                    await self._table.upsert_entity(group[0][0], mode=UpdateMode.REPLACE)
                ]
            else:
                results = await self._table.submit_transaction(
                    [("upsert", entity, {"mode": UpdateMode.REPLACE}) for entity, _ in group]
                )
        except (AzureError, OSError) as error:
            failure = StorageUnavailable(f"transaction failed: {type(error).__name__}")
            for _, outcome in group:
                if not outcome.done():
                    outcome.set_exception(failure)
            return
        except BaseException:
            for _, outcome in group:
                if not outcome.done():
                    outcome.set_exception(StorageUnavailable("write cancelled"))
            raise
        for (_, outcome), result in zip(group, results, strict=True):
            if not outcome.done():
                outcome.set_result(result)


def _one_each(
    waiting: list[tuple[dict[str, Any], asyncio.Future[Mapping[str, Any]]]],
) -> tuple[list[Any], list[Any]]:
    """The first write of each row, and the rest (for a later transaction), in order."""
    seen: set[str] = set()
    first: list[Any] = []
    later: list[Any] = []
    for item in waiting:
        row = str(item[0]["RowKey"])
        (later if row in seen else first).append(item)
        seen.add(row)
    return first, later


class ReadTogether:
    """Reads of one key asked while one is in flight share the next read, never an earlier one.

    Every caller gets the result of a read that began after it asked, so it sees each write
    that was stored before it asked, exactly as a read of its own would; but the 25 clicks of a
    meeting that arrive together cost two or three reads of their sheet instead of 25. The
    result is shared: callers must treat it as read-only. (The shared read runs in the task of
    whoever asked first, so the SDK's log lines of it carry that request's context.)
    """

    def __init__(self, overlap: float = _OVERLAP_SECONDS) -> None:
        self._overlap = overlap
        self._next: dict[Hashable, asyncio.Future[Any]] = {}
        self._in_flight: dict[Hashable, asyncio.Task[None]] = {}
        self._readers: set[asyncio.Task[None]] = set()

    async def read(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """`load()`'s result, from a read begun after this call (perhaps shared)."""
        waiting = self._next.get(key)
        if waiting is None:
            waiting = self._next[key] = asyncio.get_running_loop().create_future()
            # Nobody may await it if every caller was cancelled; its error is then not news.
            waiting.add_done_callback(_quiet)
            reader = asyncio.create_task(self._run(key, waiting, load))
            self._readers.add(reader)
            reader.add_done_callback(self._readers.discard)
        # Shielded: a caller that goes away (its request timed out) does not cancel the others.
        result: T = await asyncio.shield(waiting)
        return result

    async def _run(
        self, key: Hashable, waiting: asyncio.Future[Any], load: Callable[[], Awaitable[Any]]
    ) -> None:
        this = asyncio.current_task()
        assert this is not None
        before = self._in_flight.get(key)
        self._in_flight[key] = this
        try:
            if before is not None:
                # Whoever asks meanwhile joins this read. A stuck read ahead (storage slow to
                # answer, the client retrying) holds it back for `overlap` at most.
                await asyncio.wait({before}, timeout=self._overlap)
            if self._next.get(key) is waiting:
                del self._next[key]
            try:
                result = await load()
            except Exception as error:  # each caller gets the error its own read would
                waiting.set_exception(error)
            else:
                waiting.set_result(result)
        finally:
            if self._next.get(key) is waiting:
                del self._next[key]
            if not waiting.done():
                waiting.set_exception(StorageUnavailable("read cancelled"))
            if self._in_flight.get(key) is this:
                del self._in_flight[key]


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
