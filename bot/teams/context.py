"""One card action being handled, and the helpers every action module shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.schema import AdaptiveCardInvokeResponse, ResourceResponse
from msrest.serialization import Model

from bot.teams.outbound import with_retries
from cards.catalog import resolve_language
from cards.renderer import CARD_CONTENT_TYPE, Card
from storage.records import Person


class ActionContext:
    """Who clicked what, where, with which inputs; identity comes from the envelope only."""

    def __init__(
        self, turn_context: TurnContext, person: Person, verb: str, data: dict[str, Any]
    ) -> None:
        self.turn_context = turn_context
        self.person = person
        self.verb = verb
        self.data = data
        activity = turn_context.activity
        self.lang = resolve_language(activity.locale)
        self.conversation_id = activity.conversation.id
        value = activity.value if isinstance(activity.value, dict) else {}
        # Teams sends "automatic" when it refreshes a card for a user listed in refresh.userIds.
        self.automatic = value.get("trigger") == "automatic"


Handler = Callable[[ActionContext], Awaitable[Card]]

# A typed command's answer: it sends what it has to say itself (a card, a line, nothing).
CommandHandler = Callable[[TurnContext, str], Awaitable[None]]

# Where a command is typed, for the help card's two lists.
IN_MEETING = "meeting"
IN_PERSONAL = "personal"


@dataclass(frozen=True)
class Command:
    """A typed command a journey answers; its word and help line come from the catalogs."""

    answer: CommandHandler
    typed_in: str = IN_PERSONAL


def local_today(turn_context: TurnContext, clock: Callable[[], datetime]) -> date:
    """Today where the person is, when Teams says (localTimestamp); else in UTC."""
    local = turn_context.activity.local_timestamp
    if isinstance(local, datetime) and local.tzinfo is not None:
        return local.date()
    return clock().astimezone(UTC).date()


class AnsweredCard(dict[str, Any]):
    """A rendered card on its way back to the person who clicked; nothing changes it after."""

    # botbuilder deep-copies every activity a turn sends, the invoke response too: for a card
    # of a few hundred nodes that is a noticeable share of a click's CPU, copying what nobody
    # will modify.
    def __deepcopy__(self, memo: dict[int, Any]) -> AnsweredCard:
        return self


def card_response(card: Card) -> InvokeResponse:
    """The invoke response that shows this card to the person who clicked."""
    return InvokeResponse(
        status=200,
        body=AdaptiveCardInvokeResponse(
            status_code=200, type=CARD_CONTENT_TYPE, value=AnsweredCard(card)
        ),
    )


def invoke_body(body: Any) -> Any:
    """The JSON of an invoke response's body."""
    if isinstance(body, AdaptiveCardInvokeResponse) and isinstance(body.value, dict):
        # msrest would walk the whole card node by node to learn it is plain JSON already.
        return {"statusCode": body.status_code, "type": body.type, "value": body.value}
    return body.serialize() if isinstance(body, Model) else body


async def send_card(turn_context: TurnContext, card: Card) -> ResourceResponse | None:
    """Post a card as a new message in the conversation, retrying on 429 and 5xx."""
    message = MessageFactory.attachment(CardFactory.adaptive_card(card))
    return await with_retries(lambda: turn_context.send_activity(message))
