"""Page tests' fixtures: one headless Chromium per module, Entra and Teams host stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from bot.settings import Settings
from testing.browser import Browser, available
from testing.cardcheck import CardLog
from testing.connector import FakeConnector
from testing.openid import OpenIdServer, TokenFactory
from testing.teams import BotUnderTest
from testing.teamshost import TeamsHost

RESOURCE = "api://127.0.0.1/dialogue-bot-test"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A fresh headless Chromium; fails (never skips) when the Debian packages are missing."""
    assert available(), "install chromium and chromium-driver (apt-get), as .ci/run does"
    instance = Browser()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def entra() -> Iterator[OpenIdServer]:
    """Entra's OpenID metadata and signing keys, on loopback."""
    with OpenIdServer(issuer="https://login.microsoftonline.com/{tenantid}/v2.0") as server:
        yield server


@pytest.fixture
def sso_tokens(entra: OpenIdServer) -> TokenFactory:
    """Mints Teams SSO tokens signed with the key Entra's stand-in publishes."""
    return TokenFactory(entra.keys[0])


@pytest.fixture
async def web_bot(
    make_settings: Callable[..., Settings],
    entra: OpenIdServer,
    connector: FakeConnector,
    card_log: CardLog,
    request: pytest.FixtureRequest,
) -> AsyncIterator[BotUnderTest]:
    """The real app (--dev) whose pages check tokens against the Entra stand-in."""
    connector.reset()
    settings = make_settings(WEB_SSO_RESOURCE=RESOURCE, WEB_OPENID_METADATA_URL=entra.metadata_url)
    harness = BotUnderTest(settings, connector.url)
    await harness.start()
    yield harness
    await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


@pytest.fixture
async def host(sso_tokens: TokenFactory) -> AsyncIterator[TeamsHost]:
    """The Teams client stand-in that frames the app's pages."""
    instance = TeamsHost(sso_tokens, RESOURCE)
    await instance.start()
    yield instance
    await instance.stop()
