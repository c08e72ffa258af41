"""25 people voting in an anonymous poll at the same instant, then changing their votes.

Run: `.venv/bin/python -m benchmarks.poll_burst [--rounds 10] [--size 25]`
Prints per-vote latency percentiles and the burst time; checks the closed poll's stored
results equal the votes cast (each person counted once, changes applied).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path

from azure.data.tables.aio import TableServiceClient

from bot.settings import Settings
from tests.flows import data_of, find_posted, start_session
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
            "TABLE_PREFIX": "p" + uuid.uuid4().hex[:10],
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
            leader = User.make("Leader", 900_000 + n)
            _, view = await start_session(bot, connector, chat, leader)
            sid = card_sid(view)
            agenda_id, _ = find_posted(connector, chat, "question.log")
            for _ in range(2):
                _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
                await bot.execute(
                    leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next")
                )
            await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
            poll_id, card = find_posted(connector, chat, "poll.vote")
            poll = data_of(card, "poll.vote")["poll"]
            people = [User.make(f"Voter {i}", 100_000 + n * 1000 + i) for i in range(size)]
            first = [str(i % 3) for i in range(size)]
            final = ["1" if i < size // 3 else first[i] for i in range(size)]
            for choices in (first, final):
                started = time.perf_counter()
                await asyncio.gather(
                    *(
                        _vote(bot, p, chat, poll_id, sid, poll, v, latencies)
                        for p, v in zip(people, choices, strict=True)
                    )
                )
                bursts.append(time.perf_counter() - started)
            await bot.execute(leader, chat, poll_id, "poll.close", {"sid": sid, "poll": poll})
            stored = await _results(settings, sid)
            expected = [final.count(str(k)) for k in range(3)]
            assert stored == expected, f"round {n}: stored {stored}, cast {expected}"
    finally:
        await bot.stop()
        await connector.stop()
        azurite.stop()
    q = statistics.quantiles(latencies, n=100)
    print(f"{rounds} polls x 2 bursts of {size} concurrent votes (one bot process, Azurite)")
    print(
        f"  burst wall time: median {statistics.median(bursts) * 1000:.0f} ms, "
        f"max {max(bursts) * 1000:.0f} ms"
    )
    print(
        f"  per-vote latency: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
        f"p99 {q[98] * 1000:.0f} ms"
    )
    print(f"  closed results equal the final votes in every poll ({rounds * size} voters)")


async def _vote(
    bot: BotUnderTest,
    person: User,
    chat: Chat,
    card_id: str,
    sid: str,
    poll: str,
    vote: str,
    latencies: list[float],
) -> None:
    started = time.perf_counter()
    status, _ = await bot.execute(
        person, chat, card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": vote}
    )
    assert status == 200
    latencies.append(time.perf_counter() - started)


async def _results(settings: Settings, session_id: str) -> list[int]:
    service = TableServiceClient.from_connection_string(settings.tables_connection_string)
    async with service:
        table = service.get_table_client(settings.table_prefix + "polls")
        polls = [
            e
            async for e in table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": session_id}
            )
        ]
    (poll,) = polls
    return json.loads(poll["Results"])[:3]


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--size", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.size))


if __name__ == "__main__":
    main()
