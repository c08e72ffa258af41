"""Inbound authentication in production mode: every Bot Framework token checked, over HTTP.

The app runs with a real MicrosoftAppId against a local OpenID metadata + JWKS server (in its
own thread), so key fetching is real HTTP. Refused requests carry a setup submission, which
would store a session and a chat row and post the sign-in sheet if it got through: the tests
check that nothing reached the tables or the Bot Connector stand-in.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from azure.data.tables.aio import TableServiceClient

from bot.settings import Settings
from testing.azurite import Azurite
from testing.cardcheck import CardLog
from testing.connector import FakeConnector
from testing.env import ENTITIES, ROOT, bot_env
from testing.flows import SETUP
from testing.openid import (
    BOT_FRAMEWORK_ISSUER,
    CONFIG_PATH,
    KEYS_PATH,
    OpenIdServer,
    SignedBot,
    SigningKey,
    TokenFactory,
)
from testing.teams import CARD, TENANT, BotUnderTest, Chat, User, card_text, clicked, typed

APP_ID = "5f6c1a2e-8d3b-4c7a-9e10-3b2d4f6a8c01"
OTHER_APP_ID = "0d9e8f7a-6b5c-4d3e-8f21-a1b2c3d4e5f6"
OTHER_TENANT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
# What a token for the Bot Connector's Americas endpoint would carry: not our activity's.
FOREIGN_SERVICE_URL = "https://smba.trafficmanager.net/amer/"
SKEW = 5 * 60
# Words that would tell a caller why its token failed; a refusal says only that it failed.
DETAIL_WORDS = (
    "signature",
    "expir",
    "audience",
    "issuer",
    "kid",
    "key",
    "endorse",
    "tenant",
    "serviceurl",
    "service_url",
    "alg",
    "nbf",
    "claim",
    "jwks",
    "metadata",
    "traceback",
)
STORED_TABLES = ("sessions", "attendance", "chats")
LEADER = User.make("Amina Diallo", 0)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def openid() -> Iterator[OpenIdServer]:
    """A fresh OpenID metadata + JWKS server (one key, endorsed for msteams) for each test."""
    with OpenIdServer(issuer=BOT_FRAMEWORK_ISSUER) as server:
        yield server


@pytest.fixture
def tokens(openid: OpenIdServer) -> TokenFactory:
    """Mints tokens signed with the server's published key."""
    return TokenFactory(openid.keys[0], issuer=BOT_FRAMEWORK_ISSUER)


@pytest.fixture
def production_settings(azurite: Azurite, openid: OpenIdServer) -> Callable[..., Settings]:
    """Production-mode Settings (a real app id, dev off) on fresh tables, keys from `openid`."""
    prefix = "t" + uuid.uuid4().hex[:12]

    def make(**overrides: str) -> Settings:
        # The same test settings as conftest's make_settings, plus what production requires.
        env = {
            **bot_env(azurite, prefix),
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": "not-a-real-password",
            "MicrosoftAppType": "MultiTenant",
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": openid.metadata_url,
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": BOT_FRAMEWORK_ISSUER,
            "PUBLIC_BASE_URL": "https://dialogue.example.org",
        }
        env.update(overrides)
        return Settings.from_env(env, dev=False)

    return make


@pytest.fixture
async def prod(
    production_settings: Callable[..., Settings],
    connector: FakeConnector,
    card_log: CardLog,
    request: pytest.FixtureRequest,
) -> AsyncIterator[SignedBot]:
    """The real app in production mode on a loopback port."""
    connector.reset()
    settings = production_settings()
    assert not settings.dev and settings.app_id == APP_ID
    harness = SignedBot(settings, connector.url)
    await harness.start()
    yield harness
    await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


# --------------------------------------------------------------------------- helpers


async def rows(bot: BotUnderTest, table: str) -> list[dict]:
    """Every entity of one of the bot's tables, read straight from Azurite."""
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        client = service.get_table_client(bot.settings.table_prefix + table)
        return [entity async for entity in client.list_entities()]


def setup_submission(bot: BotUnderTest, chat: Chat, **fields: Any) -> dict[str, Any]:
    """The leader submitting the setup card: accepted, it stores a session and posts a sheet."""
    activity = bot.activity(LEADER, chat, **clicked("1700000000001", "setup.submit", dict(SETUP)))
    activity.update(fields)
    return activity


def start_message(bot: BotUnderTest, chat: Chat, **fields: Any) -> dict[str, Any]:
    """`@Dialogue Bot start`: accepted, it posts the setup card to the connector."""
    activity = bot.activity(LEADER, chat, **typed("start"))
    activity.update(fields)
    return activity


def probe(bot: BotUnderTest, chat: Chat, **fields: Any) -> dict[str, Any]:
    """An invoke with an unknown verb: answered in the HTTP response, nothing sent or stored."""
    activity = bot.activity(LEADER, chat, **clicked("1700000000002", "auth.probe", {}))
    activity.update(fields)
    return activity


async def assert_nothing_happened(bot: BotUnderTest, connector: FakeConnector) -> None:
    """No row in the tables the refused activity would have written, no call to Teams."""
    await bot.flush()
    for table in STORED_TABLES:
        assert await rows(bot, table) == [], f"a refused request stored rows in {table}"
    assert connector.operations == [], "a refused request reached the Bot Connector"
    assert connector.failures == [], "a refused request reached the Bot Connector"


def assert_no_details(body: Any) -> None:
    """A refusal's body is JSON that does not say why the token failed."""
    assert isinstance(body, dict), f"expected a JSON object, got {body!r}"
    text = json.dumps(body).lower()
    assert len(text) < 200, text
    leaked = [word for word in DETAIL_WORDS if word in text]
    assert not leaked, f"the refusal names {leaked}: {text}"
    assert APP_ID not in text


async def assert_refused(
    bot: SignedBot,
    connector: FakeConnector,
    activity: dict[str, Any],
    headers: dict[str, str],
    expected: int,
) -> None:
    """POST and expect this refusal, with nothing stored and nothing sent."""
    status, body = await bot.post(activity, headers)
    assert status == expected, f"expected {expected}, got {status}: {body!r}"
    if expected == 401:
        assert_no_details(body)
    elif body is not None:
        assert_no_details(body)
    await assert_nothing_happened(bot, connector)


async def assert_accepted(
    bot: SignedBot, connector: FakeConnector, activity: dict[str, Any], token: str
) -> dict[str, Any]:
    """POST the probe with this token: 200 and the bot's card, nothing sent or stored."""
    status, body = await bot.post_token(activity, token)
    assert status == 200, f"a valid token was refused: {status} {body!r}"
    assert isinstance(body, dict) and body.get("type") == CARD, body
    bot.cards_seen.append(body["value"])
    assert "not available" in card_text(body["value"])
    await assert_nothing_happened(bot, connector)
    return body["value"]


def bearer(token: str) -> dict[str, str]:
    """The Authorization header Teams sends."""
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- the control


async def test_the_refused_payloads_store_and_send_when_accepted(bot, connector):
    # Dev mode takes no token: shows "nothing stored, nothing sent" below is not vacuous.
    status, _ = await bot.post(setup_submission(bot, Chat()))
    assert status == 200
    await bot.flush()
    assert len(await rows(bot, "sessions")) == 1
    assert len(await rows(bot, "chats")) == 1
    assert connector.operations, "the setup submission posted nothing"
    connector.clear()
    assert await bot.post(start_message(bot, Chat())) == (201, None)
    assert connector.operations, "`start` posted nothing"


# --------------------------------------------------------------------------- accepted


async def test_valid_token_is_accepted(prod, connector, tokens, openid):
    token = tokens.mint(APP_ID, prod.service_url)
    await assert_accepted(prod, connector, probe(prod, Chat()), token)
    assert openid.metadata_fetches >= 1 and openid.jwks_fetches >= 1, "keys were never fetched"


async def test_token_signed_by_the_second_published_key_is_accepted(prod, connector, openid):
    # Key rollover: the JWKS lists old and new keys; either may sign.
    second = openid.add_key()
    token = TokenFactory(second).mint(APP_ID, prod.service_url)
    await assert_accepted(prod, connector, probe(prod, Chat()), token)


async def test_token_expired_within_clock_skew_is_accepted(prod, connector, tokens):
    token = tokens.mint(APP_ID, prod.service_url, exp_offset=-(SKEW - 60))
    await assert_accepted(prod, connector, probe(prod, Chat()), token)


async def test_token_not_yet_valid_within_clock_skew_is_accepted(prod, connector, tokens):
    token = tokens.mint(APP_ID, prod.service_url, nbf_offset=SKEW - 60)
    await assert_accepted(prod, connector, probe(prod, Chat()), token)


# --------------------------------------------------------------------------- 401

# Each case: (tokens, openid server, the activity's serviceUrl) -> the Authorization header.
HeaderCase = Callable[[TokenFactory, OpenIdServer, str], dict[str, str]]

UNAUTHORIZED: dict[str, HeaderCase] = {
    "no_authorization_header": lambda t, o, url: {},
    "basic_scheme": lambda t, o, url: {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
    "valid_token_under_another_scheme": lambda t, o, url: {
        "Authorization": f"Token {t.mint(APP_ID, url)}"
    },
    "bearer_without_token": lambda t, o, url: {"Authorization": "Bearer"},
    "malformed_token": lambda t, o, url: {"Authorization": "Bearer not.a.jwt"},
    "wrong_audience": lambda t, o, url: bearer(t.mint(OTHER_APP_ID, url)),
    "wrong_issuer": lambda t, o, url: bearer(
        t.mint(APP_ID, url, issuer="https://sts.windows.net/evil/")
    ),
    "service_url_differs": lambda t, o, url: bearer(t.mint(APP_ID, FOREIGN_SERVICE_URL)),
    "no_serviceurl_claim": lambda t, o, url: bearer(t.mint(APP_ID, url, omit=("serviceurl",))),
    "expired_beyond_clock_skew": lambda t, o, url: bearer(
        t.mint(APP_ID, url, exp_offset=-(SKEW + 60))
    ),
    "not_yet_valid_beyond_clock_skew": lambda t, o, url: bearer(
        t.mint(APP_ID, url, nbf_offset=SKEW + 60)
    ),
    "signed_with_another_key_under_a_known_kid": lambda t, o, url: bearer(
        t.mint(APP_ID, url, key=SigningKey.generate(), kid=o.keys[0].kid)
    ),
    "unknown_kid": lambda t, o, url: bearer(t.mint(APP_ID, url, key=SigningKey.generate())),
    # Not named in the contract, but a token without either can never be tied to a key or
    # would never expire: both are as good as forged.
    "no_kid": lambda t, o, url: bearer(t.mint(APP_ID, url, kid=None)),
    "no_exp_claim": lambda t, o, url: bearer(t.mint(APP_ID, url, omit=("exp",))),
    "alg_none": lambda t, o, url: bearer(t.unsigned(APP_ID, url)),
    "hs256_keyed_with_the_public_key": lambda t, o, url: bearer(
        t.hs256_with_public_key(APP_ID, url)
    ),
}


@pytest.mark.parametrize("case", list(UNAUTHORIZED))
async def test_bad_token_on_an_invoke_is_401(prod, connector, tokens, openid, case):
    headers = UNAUTHORIZED[case](tokens, openid, prod.service_url)
    await assert_refused(prod, connector, setup_submission(prod, Chat()), headers, 401)


@pytest.mark.parametrize(
    "case", ["no_authorization_header", "signed_with_another_key_under_a_known_kid"]
)
async def test_bad_token_on_a_message_is_401(prod, connector, tokens, openid, case):
    headers = UNAUTHORIZED[case](tokens, openid, prod.service_url)
    await assert_refused(prod, connector, start_message(prod, Chat()), headers, 401)


async def test_key_not_endorsed_for_the_activitys_channel_is_401(prod, connector, tokens):
    # The key is endorsed for ["msteams"]; a Web Chat activity must not ride on it.
    headers = bearer(tokens.mint(APP_ID, prod.service_url))
    activity = setup_submission(prod, Chat(), channelId="webchat")
    await assert_refused(prod, connector, activity, headers, 401)


async def test_teams_activity_signed_by_a_key_endorsed_only_for_webchat_is_401(
    prod, connector, openid
):
    webchat_key = openid.add_key(endorsements=["webchat"])
    headers = bearer(TokenFactory(webchat_key).mint(APP_ID, prod.service_url))
    await assert_refused(prod, connector, setup_submission(prod, Chat()), headers, 401)


# --------------------------------------------------------------------------- 403


async def test_valid_token_from_a_tenant_not_allowed_is_403_on_an_invoke(prod, connector, tokens):
    headers = bearer(tokens.mint(APP_ID, prod.service_url))
    activity = setup_submission(prod, Chat(tenant=OTHER_TENANT))
    await assert_refused(prod, connector, activity, headers, 403)


async def test_valid_token_from_a_tenant_not_allowed_is_403_on_a_message(prod, connector, tokens):
    headers = bearer(tokens.mint(APP_ID, prod.service_url))
    activity = start_message(prod, Chat(tenant=OTHER_TENANT))
    await assert_refused(prod, connector, activity, headers, 403)


# --------------------------------------------------------------------------- 503


async def test_metadata_endpoint_unreachable_is_503(prod, connector, tokens, openid):
    openid.stop()  # connection refused from now on
    headers = bearer(tokens.mint(APP_ID, prod.service_url))
    await assert_refused(prod, connector, setup_submission(prod, Chat()), headers, 503)


async def test_metadata_endpoint_failing_is_503(prod, connector, tokens, openid):
    openid.fail_status = 500
    headers = bearer(tokens.mint(APP_ID, prod.service_url))
    await assert_refused(prod, connector, setup_submission(prod, Chat()), headers, 503)
    assert openid.metadata_fetches >= 1, "the bot never asked the metadata endpoint"


async def test_requests_are_accepted_again_once_the_metadata_endpoint_is_back(
    prod, connector, tokens, openid
):
    # Beyond the letter of the contract: a blip at the key endpoint must not lock Teams out.
    openid.stop()
    headers = bearer(tokens.mint(APP_ID, prod.service_url))
    await assert_refused(prod, connector, setup_submission(prod, Chat()), headers, 503)
    openid.start()
    await assert_accepted(
        prod, connector, probe(prod, Chat()), tokens.mint(APP_ID, prod.service_url)
    )


# --------------------------------------------------------------------------- the event loop


async def test_slow_metadata_endpoint_does_not_freeze_the_event_loop(
    prod, connector, tokens, openid
):
    openid.delays = {CONFIG_PATH: 3.0}
    token = tokens.mint(APP_ID, prod.service_url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(prod.post_token(probe(prod, Chat()), token))
    # The app serves on this very loop: a blocking fetch would stall the probes' own timers,
    # so each probe is timed from when it was due, not from when it got to run.
    for n in (1, 2, 3):
        due = started + 0.3 * n
        await asyncio.sleep(max(0.0, due - loop.time()))
        status, _ = await prod.get("/healthz")
        late = loop.time() - due
        assert status == 200
        assert late < 0.5, f"/healthz answered {late:.2f}s late while keys were being fetched"
    assert openid.metadata_fetches == 1, "the request did not ask for the metadata"
    # The scenario is only real if the token check was still waiting on the metadata.
    assert not waiting.done(), "the request was not waiting on the slow metadata endpoint"
    status, body = await waiting
    assert status == 200, f"the request that waited for keys was refused: {status} {body!r}"
    prod.cards_seen.append(body["value"])
    await assert_nothing_happened(prod, connector)


# --------------------------------------------------------------------------- key cache


async def test_unknown_kids_cannot_make_the_bot_hammer_the_metadata_endpoint(
    prod, connector, tokens, openid
):
    await assert_accepted(
        prod, connector, probe(prod, Chat()), tokens.mint(APP_ID, prod.service_url)
    )
    rogue = SigningKey.generate()
    url = prod.service_url

    def forged() -> dict[str, str]:
        return bearer(tokens.mint(APP_ID, url, key=rogue, kid=secrets.token_urlsafe(12)))

    # A burst, as an attacker would send it, then a trickle.
    burst = await asyncio.gather(
        *(prod.post(setup_submission(prod, Chat()), forged()) for _ in range(20))
    )
    trickle = [await prod.post(setup_submission(prod, Chat()), forged()) for _ in range(10)]
    statuses = [status for status, _ in burst + trickle]
    assert statuses == [401] * 30, statuses
    assert openid.metadata_fetches <= 2, openid.hit_counts()
    assert openid.jwks_fetches <= 2, openid.hit_counts()
    await assert_nothing_happened(prod, connector)
    # The cache still serves the real key.
    await assert_accepted(
        prod, connector, probe(prod, Chat()), tokens.mint(APP_ID, prod.service_url)
    )
    assert openid.hits(CONFIG_PATH) <= 2 and openid.hits(KEYS_PATH) <= 2, openid.hit_counts()


# --------------------------------------------------------------------------- start-up refusals

# tests/app/test_settings.py already runs `python -m bot` with an empty MicrosoftAppId and checks
# every rule through Settings.from_env; these two refusals were not yet checked end to end.
PRODUCTION_ENV = {
    "MicrosoftAppId": APP_ID,
    "MicrosoftAppPassword": "pw",
    "MicrosoftAppType": "SingleTenant",
    "MicrosoftAppTenantId": TENANT,
    "TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true",
    "ANONYMITY_SECRET": "k" * 48,
    "ENTITIES": ENTITIES,
    "ALLOWED_TENANT_IDS": TENANT,
    "PUBLIC_BASE_URL": "https://dialogue.example.org",
}
SETTING_NAMES = (
    *PRODUCTION_ENV,
    "ETHICS_ADMIN_IDS",
    "TABLE_PREFIX",
    "DIALOGUE_CYCLE",
    "PORT",
    "CARD_UPDATE_INTERVAL_SECONDS",
    "CONTENT_PACK",
    "ASSESSMENT_MIN_ANSWERS",
    "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL",
    "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER",
)


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("MicrosoftAppTenantId", "MicrosoftAppTenantId is required when MicrosoftAppType="),
        ("ANONYMITY_SECRET", "ANONYMITY_SECRET must be at least 32"),
    ],
)
def test_python_m_bot_refuses_to_start(remove, message):
    # The developer's own shell must not fill in what the test leaves out.
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update({k: v for k, v in PRODUCTION_ENV.items() if k != remove})
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "Dialogue Bot cannot start" in result.stderr
    assert message in result.stderr
