"""What the authentication suites share: a production app id, activities that would store or
send if let through, and assertions that a refusal stored, sent and said nothing."""

from __future__ import annotations

import json
from typing import Any

from testing.connector import FakeConnector
from testing.flows import SETUP, rows
from testing.openid import SignedBot
from testing.teams import CARD, BotUnderTest, Chat, User, card_text, clicked, typed

APP_ID = "5f6c1a2e-8d3b-4c7a-9e10-3b2d4f6a8c01"
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
