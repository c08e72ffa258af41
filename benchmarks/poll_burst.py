"""25 people voting in an anonymous poll at the same instant, then changing their votes.

Run: `.venv/bin/python -m benchmarks.poll_burst [--rounds 10] [--size 25]`
Prints per-vote latency percentiles and the burst time; checks the closed poll's stored
results equal the votes cast (each person counted once, changes applied).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.harness import environment, partition, report
from testing.flows import data_of, find_posted, start_session
from testing.teams import BotUnderTest, Chat, User, card_sid


async def run(rounds: int, size: int) -> None:
    """Run the bursts and print the figures."""
    latencies: list[float] = []
    bursts: list[float] = []
    async with environment() as (bot, connector):
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
            (stored,) = await partition(bot, "polls", sid)
            expected = [final.count(str(k)) for k in range(3)]
            assert json.loads(stored["Results"]) == expected, f"round {n}: {stored['Results']}"
    report(
        f"{rounds} polls x 2 bursts of {size} concurrent votes (one bot process, Azurite)",
        "vote",
        bursts,
        latencies,
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


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--size", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.size))


if __name__ == "__main__":
    main()
