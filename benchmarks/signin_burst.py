"""25 people clicking Sign in at the same instant, through the real app, Azurite and connector.

Run: `.venv/bin/python -m benchmarks.signin_burst [--rounds 20] [--size 25]`
Prints per-click latency percentiles and the time for the whole burst; checks that Azurite
holds exactly one row per person afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from benchmarks.harness import environment, partition, report
from testing.flows import start_session
from testing.teams import BotUnderTest, Chat, User, card_sid


async def run(rounds: int, size: int) -> None:
    """Run the bursts and print the figures."""
    latencies: list[float] = []
    bursts: list[float] = []
    async with environment() as (bot, connector):
        for n in range(rounds):
            chat = Chat()
            card_id, view = await start_session(bot, connector, chat, User.make("Leader", -1 - n))
            sid = card_sid(view)
            people = [User.make(f"Participant {i}", 100_000 + n * 1000 + i) for i in range(size)]
            started = time.perf_counter()
            await asyncio.gather(*(_click(bot, p, chat, card_id, sid, latencies) for p in people))
            bursts.append(time.perf_counter() - started)
            stored = len(await partition(bot, "attendance", sid))
            assert stored == size, f"round {n}: {stored} rows stored for {size} sign-ins"
    report(
        f"{rounds} bursts of {size} concurrent sign-ins (one bot process, Azurite, dev mode)",
        "click",
        bursts,
        latencies,
    )
    print(f"  rows stored = sign-ins in every burst ({rounds * size} in all)")


async def _click(
    bot: BotUnderTest, person: User, chat: Chat, card_id: str, sid: str, latencies: list[float]
) -> None:
    started = time.perf_counter()
    status, _ = await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    assert status == 200
    latencies.append(time.perf_counter() - started)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--size", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.size))


if __name__ == "__main__":
    main()
