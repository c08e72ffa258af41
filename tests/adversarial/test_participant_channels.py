"""Someone posts activities to the bot from a channel other than Teams.

The Bot Framework signs activities of every channel (Web Chat, Direct Line, Slack…) with the
same keys, and the real keys are endorsed for many channels: a validly signed Web Chat activity
would otherwise run Teams commands with a made-up `from` and tenant. Production refuses every
channel but `msteams`, before anything is stored or sent; `--dev` keeps the Agents Playground
(which posts as `msteams`) and the Bot Framework Emulator working.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from testing.auth import (
    APP_ID,
    assert_accepted,
    assert_nothing_happened,
    assert_refused,
    bearer,
    probe,
    setup_submission,
    start_message,
)
from testing.azurite import Azurite
from testing.cardcheck import CardLog
from testing.connector import FakeConnector
from testing.env import bot_env
from testing.flows import rows
from testing.openid import BOT_FRAMEWORK_ISSUER, OpenIdServer, SignedBot, TokenFactory
from testing.teams import Chat

# Endorsed the way the public Bot Framework keys are: for Teams and many other channels.
MANY_CHANNELS = ("msteams", "webchat", "directline", "slack", "emulator", "skype")
# Channels the key is endorsed for are refused by the channel rule (403); the others already
# by the endorsement check (401). Either way nothing is stored or sent.
FOREIGN_CHANNELS = {
    "webchat": 403,
    "directline": 403,
    "slack": 403,
    "emulator": 403,
    "skype": 403,
    "MSTeams": 401,
    "": 401,
}


@pytest.fixture
async def signed(
    azurite: Azurite, connector: FakeConnector, card_log: CardLog, request
) -> AsyncIterator[tuple[SignedBot, TokenFactory]]:
    """The app in production mode, trusting a key endorsed for many channels."""
    connector.reset()
    with OpenIdServer(issuer=BOT_FRAMEWORK_ISSUER) as openid:
        key = openid.add_key(endorsements=MANY_CHANNELS)
        env = {
            **bot_env(azurite, "t" + uuid.uuid4().hex[:12]),
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": "not-a-real-password",
            "MicrosoftAppType": "MultiTenant",
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": openid.metadata_url,
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": BOT_FRAMEWORK_ISSUER,
            "PUBLIC_BASE_URL": "https://dialogue.example.org",
        }
        harness = SignedBot(Settings.from_env(env, dev=False), connector.url)
        await harness.start()
        yield harness, TokenFactory(key, issuer=BOT_FRAMEWORK_ISSUER)
        await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


@pytest.mark.parametrize("channel", list(FOREIGN_CHANNELS))
async def test_a_signed_activity_from_another_channel_is_refused(signed, connector, channel):
    bot, tokens = signed
    headers = bearer(tokens.mint(APP_ID, bot.service_url))
    expected = FOREIGN_CHANNELS[channel]
    activity = setup_submission(bot, Chat(), channelId=channel)
    await assert_refused(bot, connector, activity, headers, expected)
    message = start_message(bot, Chat(), channelId=channel)
    await assert_refused(bot, connector, message, headers, expected)
    delivered = await rows(bot, "deliveries")
    assert delivered == [], "a refused message was remembered as delivered"


async def test_the_same_key_still_serves_teams(signed, connector):
    bot, tokens = signed
    await assert_accepted(bot, connector, probe(bot, Chat()), tokens.mint(APP_ID, bot.service_url))


@pytest.mark.parametrize("channel", ["webchat", "directline", "slack"])
async def test_dev_mode_refuses_other_channels_too(bot, connector, channel):
    status, _ = await bot.post(setup_submission(bot, Chat(), channelId=channel))
    assert status == 403
    await assert_nothing_happened(bot, connector)


@pytest.mark.parametrize("channel", ["msteams", "emulator"])
async def test_dev_mode_serves_the_playground_and_the_emulator(bot, connector, channel):
    status, _ = await bot.post(start_message(bot, Chat(), channelId=channel))
    assert status == 201
    await bot.flush()
    assert connector.operations, "the bot did not answer"
