"""25 people clicking Sign in at the same instant, through the real app, Azurite and connector.

Run: `.venv/bin/python -m benchmarks.signin_burst [--rounds 20] [--size 25]`
Prints per-click latency percentiles and the time for the whole burst; checks that Azurite
holds exactly one row per person afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

from azure.data.tables.aio import TableServiceClient

from bot.settings import Settings
from tests.flows import start_session
from tests.support.azurite import Azurite
from tests.support.connector import FakeConnector
from tests.support.teams import BotUnderTest, Chat, User, card_sid

ROOT = Path(__file__).resolve().parent.parent


async def run(rounds: int, size: int) -> None:
    """Run the bursts and print the figures."""
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
    latencies: list[float] = []
    bursts: list[float] = []
    try:
        for n in range(rounds):
            chat = Chat()
            leader = User.make("Leader", 10_000 + n)
            card_id, view = await start_session(bot, connector, chat, leader)
            sid = card_sid(view)
            people = [User.make(f"Participant {i}", 100_000 + n * 1000 + i) for i in range(size)]
            started = time.perf_counter()
            await asyncio.gather(*(_click(bot, p, chat, card_id, sid, latencies) for p in people))
            bursts.append(time.perf_counter() - started)
            stored = await _count(settings, sid)
            assert stored == size, f"round {n}: {stored} rows stored for {size} sign-ins"
    finally:
        await bot.stop()
        await connector.stop()
        azurite.stop()
    q = statistics.quantiles(latencies, n=100)
    print(f"{rounds} bursts of {size} concurrent sign-ins (one bot process, Azurite, dev mode)")
    print(
        f"  burst wall time: median {statistics.median(bursts) * 1000:.0f} ms, "
        f"max {max(bursts) * 1000:.0f} ms"
    )
    print(
        f"  per-click latency: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
        f"p99 {q[98] * 1000:.0f} ms"
    )
    print(f"  rows stored = sign-ins in every burst ({rounds * size} in all)")


async def _click(
    bot: BotUnderTest, person: User, chat: Chat, card_id: str, sid: str, latencies: list[float]
) -> None:
    started = time.perf_counter()
    status, _ = await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    assert status == 200
    latencies.append(time.perf_counter() - started)


async def _count(settings: Settings, session_id: str) -> int:
    service = TableServiceClient.from_connection_string(settings.tables_connection_string)
    async with service:
        table = service.get_table_client(settings.table_prefix + "attendance")
        return len(
            [
                e
                async for e in table.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": session_id}
                )
            ]
        )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--size", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.size))


if __name__ == "__main__":
    main()
