"""What every benchmark runs against: Azurite, the local Bot Connector, the real app."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from azure.data.tables.aio import TableServiceClient

from bot.settings import Settings
from testing.azurite import Azurite
from testing.connector import FakeConnector
from testing.teams import BotUnderTest

ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def environment() -> AsyncIterator[tuple[BotUnderTest, FakeConnector]]:
    """A fresh Azurite, connector and bot (dev mode, one process) for one benchmark run."""
    azurite = Azurite(ROOT)
    azurite.start()
    connector = FakeConnector()
    await connector.start()
    settings = Settings.from_env(
        {
            "TABLES_CONNECTION_STRING": azurite.connection_string,
            "ANONYMITY_SECRET": "benchmark-" + "x" * 40,
            "ENTITIES": "DESA=Department of Economic and Social Affairs",
            "TABLE_PREFIX": "b" + uuid.uuid4().hex[:10],
        },
        dev=True,
    )
    bot = BotUnderTest(settings, connector.url)
    await bot.start()
    try:
        yield bot, connector
    finally:
        await bot.stop()
        await connector.stop()
        azurite.stop()


async def partition(bot: BotUnderTest, table: str, key: str) -> list[dict]:
    """Every entity of one partition of one of the bot's tables."""
    settings = bot.settings
    service = TableServiceClient.from_connection_string(settings.tables_connection_string)
    async with service:
        client = service.get_table_client(settings.table_prefix + table)
        return [
            e async for e in client.query_entities("PartitionKey eq @pk", parameters={"pk": key})
        ]


def report(title: str, what: str, bursts: list[float], latencies: list[float]) -> None:
    """Print the burst times and latency percentiles."""
    q = statistics.quantiles(latencies, n=100)
    print(title)
    print(
        f"  burst wall time: median {statistics.median(bursts) * 1000:.0f} ms, "
        f"max {max(bursts) * 1000:.0f} ms"
    )
    print(
        f"  per-{what} latency: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
        f"p99 {q[98] * 1000:.0f} ms"
    )
