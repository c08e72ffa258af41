"""Messages the bot starts itself: personal-chat notes, with Teams' limits and retries."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.bot_adapter import BotAdapter
from botbuilder.schema import (
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_ATTEMPTS = 5
# Teams allows an app 30 requests a second; a personal message is two (open the 1:1 chat, then
# post). Starting one every 1/14 s uses 28 of the 30 and leaves room for card updates.
_SPACING_SECONDS = 1 / 14
# Messages in flight at once in a broadcast: enough to keep the pace while each waits ~100 ms.
_IN_FLIGHT = 8


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot Connector call, honouring 429 Retry-After and backing off on 5xx with jitter."""
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        try:
            return await call()
        except (HttpOperationError, ClientRequestError) as error:
            # ClientRequestError: the client's own retries of a 5xx ran out (no status).
            response = getattr(error, "response", None)
            status = getattr(response, "status_code", None)
            retryable = status is None or status == 429 or status >= 500
            if not retryable or attempt == _MAX_ATTEMPTS:
                raise
            await asyncio.sleep(backoff(response, attempt))
    raise AssertionError("unreachable")


def backoff(response: Any, attempt: int, *, first: float = 0.5, longest: float = 30.0) -> float:
    """Seconds to wait: the connector's Retry-After when given, else exponential with jitter."""
    headers = getattr(response, "headers", None) or {}
    retry_after = headers.get("Retry-After")
    doubling = min(first * 2 ** (attempt - 1), longest)
    try:
        base = float(retry_after) if retry_after is not None else doubling
    except ValueError:
        base = doubling
    return min(base, 30.0) + random.uniform(0, 0.25 * base)


@dataclass(frozen=True)
class PersonalMessage:
    """A card for one person's personal chat with the bot."""

    service_url: str
    tenant_id: str
    bot_id: str
    user_mri: str
    card: dict[str, Any]


class Outbound:
    """Sends personal-chat cards and runs slow sends in the background, tracked for shutdown."""

    def __init__(self, adapter: BotAdapter, app_id: str) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._tasks: set[asyncio.Task[Any]] = set()
        self._next_start = 0.0

    async def personal(
        self,
        *,
        service_url: str,
        tenant_id: str,
        bot_id: str,
        user_mri: str,
        card: dict[str, Any],
    ) -> bool:
        """Open (or reuse) the 1:1 chat with a user and post a card there; False on failure."""
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=bot_id),
            members=[ChannelAccount(id=user_mri)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )

        delivered = False

        async def post(turn_context: TurnContext) -> None:
            nonlocal delivered
            # Errors inside the turn go to the adapter's error handler, not to us: retry here
            # and remember whether the message went out.
            message = MessageFactory.attachment(CardFactory.adaptive_card(card))
            await with_retries(lambda: turn_context.send_activity(message))
            delivered = True

        await self._slot()
        try:
            await with_retries(
                lambda: self._adapter.create_conversation(
                    self._app_id, post, parameters, "msteams", service_url
                )
            )
        except (HttpOperationError, ClientRequestError) as error:
            log.warning("personal message not delivered: %s", type(error).__name__)
            return False
        if not delivered:
            log.warning("personal message not delivered")
        return delivered

    async def to_chat(
        self,
        *,
        service_url: str,
        tenant_id: str,
        bot_id: str,
        conversation_id: str,
        card: dict[str, Any],
        text: str = "",
    ) -> bool:
        """Post a card (a line of text above it) into a chat the bot is in; False on failure."""
        posted = await self.chat_card(
            service_url=service_url,
            tenant_id=tenant_id,
            bot_id=bot_id,
            conversation_id=conversation_id,
            card=card,
            text=text,
        )
        return posted is not None

    async def chat_card(
        self,
        *,
        service_url: str,
        tenant_id: str,
        bot_id: str,
        conversation_id: str,
        card: dict[str, Any],
        text: str = "",
    ) -> str | None:
        """Post a card into a chat the bot is in; the new message's id ("" if none), or None."""
        reference = ConversationReference(
            channel_id="msteams",
            service_url=service_url,
            conversation=ConversationAccount(
                id=conversation_id, tenant_id=tenant_id, is_group=True
            ),
            bot=ChannelAccount(id=bot_id),
        )
        posted: str | None = None

        async def post(turn_context: TurnContext) -> None:
            nonlocal posted
            message = MessageFactory.attachment(CardFactory.adaptive_card(card), text=text or None)
            sent = await with_retries(lambda: turn_context.send_activity(message))
            posted = (sent.id if sent is not None else "") or ""

        await self._slot()
        try:
            await self._adapter.continue_conversation(reference, post, self._app_id)
        except (HttpOperationError, ClientRequestError) as error:
            log.warning("chat message not delivered: %s", type(error).__name__)
            return None
        if posted is None:
            log.warning("chat message not delivered")
        return posted

    async def broadcast(self, messages: AsyncIterator[PersonalMessage]) -> int:
        """Send each message as `personal` does, several in flight; how many were delivered."""
        in_flight = asyncio.Semaphore(_IN_FLIGHT)

        async def one(message: PersonalMessage) -> bool:
            try:
                return await self.personal(**asdict(message))
            finally:
                in_flight.release()

        sends: list[asyncio.Task[bool]] = []
        try:
            async for message in messages:
                await in_flight.acquire()
                sends.append(asyncio.create_task(one(message)))
        finally:
            # Reading who to remind may fail part-way: what was started still finishes.
            delivered = await asyncio.gather(*sends)
        return sum(delivered)

    async def _slot(self) -> None:
        """Wait for this message's start time: one every `_SPACING_SECONDS`, app-wide."""
        # Reserving a start time never awaits, so no lock is needed; the sends overlap, so the
        # pace does not drop by the time each request takes.
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self._next_start)
        self._next_start = start + _SPACING_SECONDS
        await asyncio.sleep(start - loop.time())

    def run(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run slow work (a broadcast) after the click is answered; failures are logged."""

        async def guarded() -> None:
            try:
                await work
            except Exception:  # a background task must log, not die silently
                log.exception("background work failed")

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Wait for background work at shutdown."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
