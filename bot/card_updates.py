"""Keeps each session's shared card current, coalescing bursts into few updates."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.bot_adapter import BotAdapter
from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

from bot.outbound import with_retries
from storage.records import SessionRecord

log = logging.getLogger(__name__)

# Teams allows 7 messages per second per conversation; we stay far below by sending at most
# one update per interval per card, whatever the number of clicks.

# Renders a shared card from storage at send time: the message id and the card, or None.
Render = Callable[[], Awaitable[tuple[str, dict[str, Any]] | None]]


@dataclass
class _Pending:
    render: Render
    task: asyncio.Task[None] | None = None
    dirty: bool = False
    last_sent: float = field(default=float("-inf"))


class CardUpdater:
    """Schedules updates of shared cards; each is rendered from storage when it is sent."""

    def __init__(self, adapter: BotAdapter, app_id: str, interval: float = 1.0) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._interval = interval
        self._cards: dict[str, _Pending] = {}

    def schedule(self, key: str, session: SessionRecord, render: Render) -> None:
        """Ask for the shared card `key` of this session's chat to show the latest state soon."""
        state = self._cards.get(key)
        if state is None:
            state = self._cards[key] = _Pending(render)
        state.render = render
        if state.task is not None and not state.task.done():
            state.dirty = True
            return
        state.dirty = False
        state.task = asyncio.create_task(self._run(key, session, state))

    async def flush(self) -> None:
        """Wait for every scheduled update (at shutdown, so no update is dropped)."""
        tasks = [s.task for s in self._cards.values() if s.task and not s.task.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, key: str, session: SessionRecord, state: _Pending) -> None:
        while True:
            delay = state.last_sent + self._interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            state.dirty = False
            try:
                rendered = await state.render()
                if rendered is not None:
                    await self._send(session, *rendered)
            except Exception:  # a background task must log, not die silently
                log.exception("card update failed card=%s", key)
            state.last_sent = time.monotonic()
            if not state.dirty:
                return

    async def _send(self, session: SessionRecord, card_id: str, card: dict[str, Any]) -> None:
        reference = ConversationReference(
            channel_id="msteams",
            service_url=session.service_url,
            conversation=ConversationAccount(
                id=session.conversation_id, tenant_id=session.tenant_id, is_group=True
            ),
            bot=ChannelAccount(id=session.bot_id),
        )
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        activity.id = card_id

        async def update(turn_context: TurnContext) -> None:
            await turn_context.update_activity(activity)

        await with_retries(
            lambda: self._adapter.continue_conversation(reference, update, self._app_id)
        )
