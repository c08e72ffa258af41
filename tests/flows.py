"""Steps of the Teams journeys that many tests share."""

from __future__ import annotations

from typing import Any

from tests.support.connector import REPLY, SEND, FakeConnector, adaptive_cards
from tests.support.teams import BotUnderTest, Chat, User

SETUP = {
    "entity": "DESA",
    "unit": "Statistics Division, Data Section",
    "personnel": "30",
    "language": "en",
    "date": "2026-11-20",
}


def last_card_message(connector: FakeConnector, chat: Chat) -> tuple[str, dict[str, Any]]:
    """The id and card of the newest card message the bot posted in the chat."""
    for op in reversed(connector.calls((SEND, REPLY), chat.id)):
        cards = adaptive_cards(op.body)
        if cards:
            assert op.activity_id
            return op.activity_id, cards[0]
    raise AssertionError("the bot posted no card in this chat")


async def start_session(
    bot: BotUnderTest,
    connector: FakeConnector,
    chat: Chat,
    leader: User,
    **form: Any,
) -> tuple[str, dict[str, Any]]:
    """`@bot start`, then the leader submits the setup card; the card id and leader's view."""
    assert await bot.say(leader, chat, "start") == 201
    card_id, card = last_card_message(connector, chat)
    assert any(el.get("id") == "entity" for el in card["body"]), (
        "the bot did not answer start with the setup card"
    )
    status, view = await bot.execute(leader, chat, card_id, "setup.submit", {**SETUP, **form})
    assert status == 200 and view is not None
    return card_id, view
