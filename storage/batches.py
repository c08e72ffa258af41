"""Transactions of Azure Tables: at most 100 operations, all in one partition, a few in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

# Azure Tables takes at most 100 operations in one transaction, all in one partition; Azurite
# answers a 101st with a broken response instead of an error.
BATCH = 100
# Transactions in flight at once: quick for thousands of partitions, gentle on the account.
PARALLEL = 16


def by_partition(rows: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """(partition, item) pairs grouped by partition, in their order."""
    grouped: dict[str, list[T]] = {}
    for partition, item in rows:
        grouped.setdefault(partition, []).append(item)
    return grouped


async def each_batch(
    partitions: Mapping[str, Sequence[T]], work: Callable[[str, Sequence[T]], Awaitable[None]]
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
