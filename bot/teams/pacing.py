"""Keeps the bot's own messages under Teams' limits: per conversation, and for the whole app."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from botbuilder.core import Middleware, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

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
# Every instance renews its lease this often and counts the live ones; a lease not renewed for
# _LEASE_SECONDS (an instance that died) stops counting, and the others take up its share.
_BEAT_SECONDS = 1.0
_LEASE_SECONDS = 3.5


class Leases(Protocol):
    """The instances' lease rows in the storage they share (storage/instances.py)."""

    async def renew(self, instance_id: str, until: datetime) -> None: ...

    async def live(self, now: datetime) -> set[str]: ...

    async def leave(self, instance_id: str) -> None: ...


class Fleet:
    """The bot instances serving the app now, so each sends only its share of Teams' limits.

    Teams counts the limits for the app, whatever instance sends. Each instance holds a lease
    row in the tables they already share, renews it every second and counts the live leases;
    with n alive, each allows itself 1/n of the per-chat and per-app rates. A new instance
    waits until the others have counted it before it sends. An instance that dies stops
    sending, so the others lose nothing by keeping the smaller share until its lease runs out.
    """

    def __init__(
        self,
        leases: Leases,
        clock: Callable[[], datetime],
        *,
        beat: float = _BEAT_SECONDS,
        lease: float = _LEASE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.instance_id = uuid.uuid4().hex
        self._leases = leases
        self._clock = clock
        self._beat = beat
        self._lease = lease
        self._monotonic = monotonic
        self._count = 1
        self._renewed = float("-inf")
        self.ready_at = 0.0

    def shares(self) -> int:
        """Into how many shares the limits are cut: the live instances (this one included)."""
        if self._monotonic() - self._renewed > self._lease:
            # Our own lease ran out (storage unreachable): the others may no longer count us,
            # so take less than before rather than more.
            return self._count + 1
        return self._count

    async def join(self) -> None:
        """Take a lease and count the instances; sending waits until the others saw this one."""
        await self.beat()
        if self._count > 1:
            # The others count this lease at their next beat, at most a beat and a request away;
            # until then they may still be sending their larger shares.
            self.ready_at = self._monotonic() + 2 * self._beat

    async def beat(self) -> None:
        """Renew the lease and count the live instances."""
        now = self._clock()
        await self._leases.renew(self.instance_id, now + timedelta(seconds=self._lease))
        renewed = self._monotonic()
        live = await self._leases.live(now)
        count = len(live | {self.instance_id})
        if count != self._count:
            log.info("pacing shared by %d instances", count)
        self._count = count
        self._renewed = renewed

    async def run(self) -> None:
        """Beat every second until cancelled; a failed beat is retried at the next."""
        while True:
            await asyncio.sleep(self._beat)
            try:
                await self.beat()
            except StorageUnavailable as error:
                log.warning("pacing lease not renewed: %s", error)

    async def leave(self) -> None:
        """Give the lease up on a clean stop, so the others take up the share at once."""
        try:
            await self._leases.leave(self.instance_id)
        except StorageUnavailable as error:
            log.warning("pacing lease not released: %s", error)


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
        fleet: Fleet | None = None,
    ) -> None:
        self._per_window = per_window
        self._window = window
        self._app_per_window = app_per_window
        self._app_window = app_window
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._app: deque[float] = deque()
        self._fleet = fleet

    def shares(self) -> int:
        """Into how many shares the app's limits are cut now (1 without a fleet)."""
        return self._fleet.shares() if self._fleet is not None else 1

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
            shares = 1
            if self._fleet is not None:
                if now < self._fleet.ready_at:
                    await asyncio.sleep(self._fleet.ready_at - now)
                    continue
                shares = self._fleet.shares()
            per_window = max(1, self._per_window // shares)
            app_per_window = max(1, self._app_per_window // shares)
            sent = self._sent.get(conversation_id)
            if sent is None:
                self._forget_idle(now)
                sent = self._sent[conversation_id] = deque()
            while sent and sent[0] <= now - self._window:
                sent.popleft()
            while self._app and self._app[0] <= now - self._app_window:
                self._app.popleft()
            waits = []
            if len(sent) >= per_window:
                waits.append(sent[len(sent) - per_window] + self._window - now)
            if len(self._app) >= app_per_window:
                waits.append(self._app[len(self._app) - app_per_window] + self._app_window - now)
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
