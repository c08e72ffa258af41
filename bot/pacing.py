"""Keeps the bot's own messages in each conversation under Teams' per-conversation limit."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from botbuilder.core import Middleware, TurnContext
from botbuilder.schema import Activity, ActivityTypes

# Teams allows a bot 7 messages a second in one conversation. Counted here when each message
# leaves, not when it arrives: requests that left spread out may arrive bunched, so the bot
# allows itself 6 in 1.2 s, which still arrive as at most 7 in any second.
_PER_WINDOW = 6
_WINDOW_SECONDS = 1.2
# Conversations remembered at once before idle ones are forgotten.
_TRACKED = 5_000


class ChatPacer(Middleware):
    """Delays a send or edit that would be the 7th in a second in its conversation."""

    # Every card update, posted card and personal message passes through a turn's send and
    # update hooks, so pacing them here covers all of them: a burst of 25 clicks that touches
    # the sheet, the poll and the plan at once waits a moment instead of meeting a 429.

    def __init__(
        self,
        per_window: int = _PER_WINDOW,
        window: float = _WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_window = per_window
        self._window = window
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        """Pace every message this turn sends or edits in its conversation."""
        conversation = context.activity.conversation
        conversation_id = conversation.id if conversation is not None else None
        if conversation_id:

            async def paced_send(
                _: TurnContext, activities: list[Activity], send: Callable[[], Awaitable[None]]
            ) -> None:
                # An invoke response is the HTTP answer to the click, not a connector request.
                for activity in activities:
                    if activity.type != ActivityTypes.invoke_response:
                        await self.slot(conversation_id)
                await send()

            async def paced_update(
                _: TurnContext, __: Activity, update: Callable[[], Awaitable[None]]
            ) -> None:
                await self.slot(conversation_id)
                await update()

            context.on_send_activities(paced_send)
            context.on_update_activity(paced_update)
        await logic()

    async def slot(self, conversation_id: str) -> None:
        """Return when one more message may go to this conversation now."""
        while True:
            now = self._clock()
            sent = self._sent.get(conversation_id)
            if sent is None:
                self._forget_idle(now)
                sent = self._sent[conversation_id] = deque()
            while sent and sent[0] <= now - self._window:
                sent.popleft()
            if len(sent) < self._per_window:
                sent.append(now)
                return
            await asyncio.sleep(sent[0] + self._window - now)

    def _forget_idle(self, now: float) -> None:
        if len(self._sent) < _TRACKED:
            return
        idle = [c for c, sent in self._sent.items() if not sent or sent[-1] <= now - self._window]
        for conversation_id in idle:
            del self._sent[conversation_id]
