"""End to end in the Microsoft 365 Agents Playground: a group chat's whole sign-in."""

from __future__ import annotations

import pytest

from tests.e2e.playground import PlaygroundProcess
from tests.flows import SETUP
from tests.support.teams import BotUnderTest, card_sid, card_text, verbs
from tests.test_signin import rows

pytestmark = pytest.mark.e2e

PLAYGROUND_TENANT = "7d3c1f0e-5a2b-4c8d-9e6f-0a1b2c3d4e5f"


async def test_five_users_sign_in_through_the_playground(make_settings, card_log):
    bot = BotUnderTest(make_settings(ALLOWED_TENANT_IDS=PLAYGROUND_TENANT), "")
    await bot.start()
    try:
        async with PlaygroundProcess(f"{bot.url}/api/messages") as playground:
            async with playground.client() as client:
                config = await client.config()
                chat = config.group_chat_id
                leader = config.current_user
                others = [u for u in config.users if u["id"] != leader["id"]]
                assert len(others) >= 5

                await client.send(chat, leader["id"], "start")
                setup = await client.wait_for_message(
                    lambda m: (
                        m.conversation_id == chat
                        and m.card is not None
                        and "setup.submit" in verbs(m.card)
                    ),
                    timeout=15,
                )
                view = await client.invoke(chat, leader["id"], setup.id, "setup.submit", SETUP)
                assert "Sign-in is open" in card_text(view)
                sid = card_sid(view)

                for user in others[:5]:
                    card = await client.invoke(chat, user["id"], setup.id, "signin", {"sid": sid})
                    assert f"You are signed in as {user['name']}" in card_text(card)
                    card_log.add("playground-signin", card)

                # The shared card, updated in place through the Playground's connector.
                updated = await client.wait_for_message(
                    lambda m: (
                        m.action == "updateMessage"
                        and m.id == setup.id
                        and m.card is not None
                        and "5 participants signed in" in card_text(m.card)
                    ),
                    timeout=15,
                )
                assert all(u["name"] not in card_text(updated.card) for u in others)

                closed = await client.invoke(
                    chat, leader["id"], setup.id, "signin.close", {"sid": sid}
                )
                text = card_text(closed)
                assert "Sign-in is closed" in text
                assert all(u["name"] in text for u in others[:5])
                for message in client.messages(chat):
                    if message.card:
                        card_log.add("playground-stream", message.card)

        stored = await rows(bot, "attendance")
        assert sorted(r["AadId"] for r in stored) == sorted(u["aadObjectId"] for u in others[:5])
    finally:
        await bot.stop()
