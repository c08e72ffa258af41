"""Shared fixtures: a real Azurite, a local Bot Connector, and the real app on a loopback port."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings as hypothesis_settings

from bot.settings import Settings
from testing.azurite import Azurite
from testing.cardcheck import CardChecker, CardLog
from testing.connector import FakeConnector
from testing.env import ROOT, bot_env
from testing.faultproxy import FaultProxy
from testing.teams import BotUnderTest, StartBot, User

# Property-based tests draw the same examples on every run, so CI is reproducible; run with
# HYPOTHESIS_PROFILE=explore to draw fresh ones when hunting for new bugs.
hypothesis_settings.register_profile("default", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the run; each test gets its own tables through a table prefix."""
    instance = Azurite(ROOT)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
async def connector() -> AsyncIterator[FakeConnector]:
    """The Bot Connector stand-in every activity's serviceUrl points at."""
    fake = FakeConnector()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
def card_log() -> Iterator[CardLog]:
    """Collects the cards of every test and fails the run if any is invalid."""
    log = CardLog()
    yield log
    cards = log.cards()
    if cards:
        problems = CardChecker(ROOT / "node_modules").check(cards)
        assert not problems, "cards the bot sent are invalid:\n" + "\n".join(problems[:20])


@pytest.fixture
def make_settings(azurite: Azurite) -> Callable[..., Settings]:
    """Settings for a test, on fresh tables unless a prefix is given."""
    prefix = "t" + uuid.uuid4().hex[:12]

    def make(**overrides: str) -> Settings:
        return Settings.from_env({**bot_env(azurite, prefix), **overrides}, dev=True)

    return make


@pytest.fixture
async def bot(
    make_settings: Callable[..., Settings], connector: FakeConnector, card_log: CardLog, request
) -> AsyncIterator[BotUnderTest]:
    """The real app, started on fresh tables; its cards go to the end-of-run check."""
    connector.reset()
    harness = BotUnderTest(make_settings(), connector.url)
    await harness.start()
    yield harness
    await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


class Clock:
    """A clock tests move by hand, so that 25 minutes of discussion take no time."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        """Let time pass."""
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock."""
    return Clock()


@pytest.fixture
async def timed_bot(
    make_settings: Callable[..., Settings],
    connector: FakeConnector,
    card_log: CardLog,
    clock: Clock,
    request,
) -> AsyncIterator[BotUnderTest]:
    """The real app on a hand-moved clock."""
    connector.reset()
    harness = BotUnderTest(make_settings(), connector.url, clock=clock)
    await harness.start()
    yield harness
    await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


@pytest.fixture
async def start_bot(
    make_settings: Callable[..., Settings], connector: FakeConnector, card_log: CardLog, request
) -> AsyncIterator[StartBot]:
    """Start the real app with settings overrides (e.g. the Ethics Office admins)."""
    started: list[BotUnderTest] = []
    connector.reset()

    async def start(**overrides: str) -> BotUnderTest:
        harness = BotUnderTest(make_settings(**overrides), connector.url)
        await harness.start()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()
        for card in harness.cards_seen:
            card_log.add(request.node.name, card)
    for card in connector.cards():
        card_log.add(request.node.name, card)


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's Azurite."""
    with FaultProxy(f"http://127.0.0.1:{azurite.port}") as instance:
        yield instance


@pytest.fixture
async def start_proxied(proxy: FaultProxy, start_bot: StartBot) -> AsyncIterator[StartBot]:
    """Start the real app with its storage behind the proxy (settings overrides allowed)."""

    # `proxy` is set up before `start_bot`, so the apps stop while the proxy still runs.
    async def start(**overrides: str) -> BotUnderTest:
        return await start_bot(TABLES_CONNECTION_STRING=proxy.connection_string, **overrides)

    yield start
    # Storage back, so the shutdown's flush of pending card updates can read it.
    proxy.clear_faults()
    proxy.up()


@pytest.fixture
def people() -> list[User]:
    """Twenty-six colleagues: a leader and twenty-five participants."""
    names = [
        "Amina Diallo",
        "Kenji Watanabe",
        "Sofía Ramírez",
        "Olena Kovalenko",
        "Thabo Nkosi",
        "Priya Raman",
        "Jean-Pierre Moreau",
        "Fatima Al-Sayed",
        "Liam O'Connor",
        "Mei Lin",
        "Carlos Mendes",
        "Aisha Bello",
        "Dmitri Volkov",
        "Nadia Haddad",
        "Tomás Herrera",
        "Grace Mensah",
        "Ravi Patel",
        "Ingrid Larsen",
        "Yusuf Demir",
        "Ana Costa",
        "Samuel Okafor",
        "Hana Kim",
        "Mateo Rossi",
        "Zainab Yusuf",
        "Élodie Martin",
        "Kwame Asante",
    ]
    return [User.make(name, n) for n, name in enumerate(names)]
