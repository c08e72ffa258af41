"""Keeps the bot's own messages under Teams' limits: per conversation, and for the whole app."""

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
# Teams allows an app 30 requests a second. Messages and edits take at most 22 of them a second
# here (bunched arrivals stay under 30); opening personal chats for a broadcast takes its own.
_APP_PER_WINDOW = 22
_APP_WINDOW_SECONDS = 1.0
# Conversations remembered at once before idle ones are forgotten.
_TRACKED = 5_000


class ChatPacer(Middleware):
    """Delays a send or edit that would break the per-conversation or the app's rate."""

    # Every card update, posted card and personal message passes through a turn's send and
    # update hooks, so pacing them here covers all of them: a burst of 25 clicks that touches
    # the sheet, the poll and the plan at once waits a moment instead of meeting a 429.

    def __init__(
        self,
        per_window: int = _PER_WINDOW,
        window: float = _WINDOW_SECONDS,
        *,
        app_per_window: int = _APP_PER_WINDOW,
        app_window: float = _APP_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_window = per_window
        self._window = window
        self._app_per_window = app_per_window
        self._app_window = app_window
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._app: deque[float] = deque()

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
        """Return when one more message may go to this conversation, and from this app, now."""
        while True:
            now = self._clock()
            sent = self._sent.get(conversation_id)
            if sent is None:
                self._forget_idle(now)
                sent = self._sent[conversation_id] = deque()
            while sent and sent[0] <= now - self._window:
                sent.popleft()
            while self._app and self._app[0] <= now - self._app_window:
                self._app.popleft()
            waits = []
            if len(sent) >= self._per_window:
                waits.append(sent[0] + self._window - now)
            if len(self._app) >= self._app_per_window:
                waits.append(self._app[0] + self._app_window - now)
            if not waits:
                sent.append(now)
                self._app.append(now)
                return
            await asyncio.sleep(max(waits))

    def _forget_idle(self, now: float) -> None:
        if len(self._sent) < _TRACKED:
            return
        idle = [c for c, sent in self._sent.items() if not sent or sent[-1] <= now - self._window]
        for conversation_id in idle:
            del self._sent[conversation_id]
