"""Two bot processes on one storage serve one meeting: every sign-in and vote counted once.

Each process is `python -m bot --dev` as it would run in production (its own event loop, its
own card coalescing, no shared memory); they meet only in Azurite and at the Bot Connector.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.data.tables.aio import TableServiceClient

from bot.settings import Settings
from testing.azurite import Azurite, free_port
from testing.connector import UPDATE, FakeConnector
from testing.env import ENTITIES, ROOT
from testing.flows import SETUP, data_of, find_posted, last_card_message
from testing.processes import BotProcess
from testing.teams import CARD, TENANT, BotUnderTest, Chat, User, card_sid, card_text, clicked

PARTICIPANTS = 20
# Multi-choice votes on the three scenarios, as the poll card submits them.
BALLOTS = ("0", "1", "2", "0,1", "1,2", "0,2", "0,1,2")


def spawn(name: str, settings: Settings, azurite: Azurite, log_dir: Path) -> BotProcess:
    """Start one bot process with the test's settings on a port of its own."""
    python = ROOT / ".venv" / "bin" / "python"
    port = free_port()
    env = {
        # Only what a process needs from outside; the bot's settings are all given here.
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "TMPDIR")},
        "PORT": str(port),
        "TABLES_CONNECTION_STRING": azurite.connection_string,
        "TABLE_PREFIX": settings.table_prefix,
        "ANONYMITY_SECRET": settings.anonymity_secret,
        "ENTITIES": ENTITIES,
        "ALLOWED_TENANT_IDS": TENANT,
        "DIALOGUE_CYCLE": str(settings.cycle),
        "CARD_UPDATE_INTERVAL_SECONDS": str(settings.card_update_interval),
        "LOG_LEVEL": "WARNING",
    }
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(python if python.exists() else sys.executable), "-m", "bot", "--dev"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return BotProcess(name, port, process, log_path)


@pytest.fixture
def two_bots(
    make_settings: Callable[..., Settings],
    azurite: Azurite,
    connector: FakeConnector,
    tmp_path: Path,
) -> Iterator[tuple[Settings, list[BotProcess]]]:
    """Two bot processes on the session's Azurite and fresh tables; stopped however it ends."""
    connector.reset()
    settings = make_settings()
    bots: list[BotProcess] = []
    try:
        for name in ("bot-a", "bot-b"):
            bots.append(spawn(name, settings, azurite, tmp_path))
        for bot in bots:
            bot.wait_healthy(timeout=30.0)
        yield settings, bots
    finally:
        for bot in bots:
            bot.stop()


class Teams:
    """Posts Teams-shaped activities to whichever process a test names."""

    def __init__(self, settings: Settings, connector: FakeConnector) -> None:
        # Only its envelope builder is used: the same JSON BotUnderTest posts.
        self._envelopes = BotUnderTest(settings, connector.url)
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.close()

    async def post(self, bot: BotProcess, activity: dict[str, Any]) -> tuple[int, Any]:
        """POST one activity to a process; the status and the JSON body, if any."""
        async with self._http.post(f"{bot.url}/api/messages", json=activity) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def say(self, bot: BotProcess, user: User, chat: Chat, text: str) -> int:
        """A message mentioning the bot."""
        at = "<at>Dialogue Bot</at>"
        activity = self._envelopes.activity(
            user,
            chat,
            type="message",
            text=f"{at} {text}",
            entities=[
                {
                    "type": "mention",
                    "mentioned": {"id": "28:dialogue-bot", "name": "Dialogue Bot"},
                    "text": at,
                }
            ],
        )
        status, _ = await self.post(bot, activity)
        return status

    async def execute(
        self,
        bot: BotProcess,
        user: User,
        chat: Chat,
        card_id: str,
        verb: str,
        data: dict[str, Any],
        *,
        activity_id: str | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        """An Action.Execute click; the status and the card shown to the person."""
        activity = self._envelopes.activity(user, chat, **clicked(card_id, verb, data))
        if activity_id is not None:
            activity["id"] = activity_id
        status, body = await self.post(bot, activity)
        if isinstance(body, dict) and body.get("type") == CARD:
            return status, body["value"]
        return status, body


async def stored(azurite: Azurite, settings: Settings, name: str) -> list[dict]:
    """Every entity of one of the bot's tables, read from Azurite."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    async with service:
        client = service.get_table_client(settings.table_prefix + name)
        return [entity async for entity in client.list_entities()]


async def test_two_processes_count_every_sign_in_and_vote_exactly_once(
    two_bots, azurite, connector, people
):
    settings, (bot_a, bot_b) = two_bots
    teams = Teams(settings, connector)
    try:
        await run_meeting(teams, settings, azurite, connector, people, bot_a, bot_b)
    except BaseException:
        for bot in (bot_a, bot_b):
            print(f"--- {bot.name} output ---\n{bot.log_tail(80)}")
        raise
    finally:
        await teams.close()


async def run_meeting(
    teams: Teams,
    settings: Settings,
    azurite: Azurite,
    connector: FakeConnector,
    people: list[User],
    bot_a: BotProcess,
    bot_b: BotProcess,
) -> None:
    """The meeting's steps, with the concurrent part spread over both processes."""
    chat, leader = Chat(), people[0]
    participants = people[1 : PARTICIPANTS + 1]
    both = (bot_a, bot_b)

    # Started through A; moved on to the scenarios through B, which reads A's writes.
    assert await teams.say(bot_a, leader, chat, "start") == 201
    card_id, _ = last_card_message(connector, chat)
    status, view = await teams.execute(bot_a, leader, chat, card_id, "setup.submit", SETUP)
    assert status == 200 and "Sign-in is open" in card_text(view)
    sid = card_sid(view)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for bot in both:
        _, card = await teams.execute(bot, leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await teams.execute(
            bot, leader, chat, agenda_id, "agenda.next", data_of(card, "agenda.next")
        )
    status, card = await teams.execute(
        bot_b, leader, chat, agenda_id, "scenarios.poll", {"sid": sid}
    )
    assert status == 200 and "The poll is open" in card_text(card), card_text(card)[:400]
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]

    rng = random.Random(2026)
    final_votes: dict[str, str] = {}
    answers: list[tuple[str, int, dict[str, Any] | None]] = []

    card_id_of = {"signin": card_id, "poll.vote": poll_card_id}

    async def click(bot: BotProcess, person: User, verb: str, data: dict, **kw: Any) -> None:
        # A few milliseconds of jitter so the two processes' requests interleave differently.
        await asyncio.sleep(rng.uniform(0, 0.05))
        status, card = await teams.execute(bot, person, chat, card_id_of[verb], verb, data, **kw)
        answers.append((verb, status, card))

    async def sign_in(n: int, person: User) -> None:
        first, other = both[n % 2], both[(n + 1) % 2]
        data = {"sid": sid}
        if n % 4 == 0:
            # A double click whose two invokes land on different processes at once.
            await asyncio.gather(
                click(first, person, "signin", data), click(other, person, "signin", data)
            )
        elif n % 4 == 1:
            # Teams redelivers an unanswered invoke (same id); the load balancer picks the other.
            same = f"redelivered-{n}"
            await click(first, person, "signin", data, activity_id=same)
            await click(other, person, "signin", data, activity_id=same)
        else:
            await click(first, person, "signin", data)

    async def vote(n: int, person: User) -> None:
        first, other = both[(n + 1) % 2], both[n % 2]
        ballot = BALLOTS[n % len(BALLOTS)]
        data = {"sid": sid, "poll": poll, "vote": ballot}
        if n % 3 == 0:
            await asyncio.gather(
                click(first, person, "poll.vote", data), click(other, person, "poll.vote", data)
            )
        else:
            await click(first, person, "poll.vote", data)
        if n % 5 == 0:
            # A change of mind, through the other process.
            ballot = BALLOTS[(n + 3) % len(BALLOTS)]
            await click(other, person, "poll.vote", {**data, "vote": ballot})
        final_votes[person.aad_id] = ballot

    await asyncio.gather(
        *(sign_in(n, p) for n, p in enumerate(participants)),
        *(vote(n, p) for n, p in enumerate(participants)),
    )
    assert {status for _, status, _ in answers} == {200}
    for verb, _, card in answers:
        expected = "You are signed in" if verb == "signin" else "Your vote is recorded"
        assert expected in card_text(card), (verb, card_text(card)[:300])

    status, closed = await teams.execute(
        bot_a, leader, chat, poll_card_id, "poll.close", {"sid": sid, "poll": poll}
    )
    assert status == 200 and "final results" in card_text(closed)

    attendance = await stored(azurite, settings, "attendance")
    assert sorted(r["AadId"] for r in attendance) == sorted(p.aad_id for p in participants)
    expected_counts = [
        sum(str(option) in ballot.split(",") for ballot in final_votes.values())
        for option in range(3)
    ]
    polls = await stored(azurite, settings, "polls")
    assert len(polls) == 1
    assert polls[0]["Status"] == "closed" and polls[0]["Salt"] == ""
    assert json.loads(polls[0]["Results"]) == expected_counts
    assert polls[0]["Voters"] == PARTICIPANTS
    assert len(await stored(azurite, settings, "votes")) == PARTICIPANTS

    # Each process updates the shared cards from storage: the last word is the full count.
    await connector.wait_for(
        lambda: (
            f"{PARTICIPANTS} participants signed in"
            in card_text(connector.latest_card(chat.id, card_id))
        ),
        timeout=10,
    )
    # The session row's count is written from the sheet in the background.
    await wait_until(lambda: participants_counted(azurite, settings, PARTICIPANTS))
    print(
        f"\n{len(answers)} clicks over two processes; "
        f"{len(connector.calls(UPDATE, chat.id))} card updates, "
        f"at most {connector.max_in_window(chat.id, window=1.0)} chat writes in a second"
    )


async def participants_counted(azurite: Azurite, settings: Settings, count: int) -> bool:
    """Whether the session row holds this participant count."""
    sessions = await stored(azurite, settings, "sessions")
    return len(sessions) == 1 and sessions[0]["Participants"] == count


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Wait until an async check of storage holds (background writes are asynchronous)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("storage never reached the expected state")
        await asyncio.sleep(0.1)
