"""Keeps shared cards and derived totals current, coalescing bursts into few writes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.teams.edits import CardEdits
from storage.records import SessionRecord

log = logging.getLogger(__name__)

# Renders a shared card from storage at send time: the message id and the card, or None.
Render = Callable[[], Awaitable[tuple[str, dict[str, Any]] | None]]
Work = Callable[[], Awaitable[None]]


@dataclass
class _Pending:
    work: Work
    task: asyncio.Task[None] | None = None
    dirty: bool = False
    last_run: float = field(default=float("-inf"))


class Coalescer:
    """Runs work for a key at most once per interval; requests meanwhile fold into one run.

    The work reads what is stored when it runs, so the last run always reflects every change.
    """

    def __init__(self, interval: float, *, spread: Callable[[], int] = lambda: 1) -> None:
        self._interval = interval
        # Into how many instances the work is spread: each runs a key's work that much less
        # often, so the app as a whole still runs it about once per interval.
        self._spread = spread
        self._pending: dict[str, _Pending] = {}

    def schedule(self, key: str, work: Work) -> None:
        """Ask for `work` to run soon for this key."""
        state = self._pending.get(key)
        if state is None:
            state = self._pending[key] = _Pending(work)
        state.work = work
        if state.task is not None and not state.task.done():
            state.dirty = True
            return
        state.dirty = False
        state.task = asyncio.create_task(self._run(key, state))

    async def flush(self) -> None:
        """Wait for every scheduled run (at shutdown, and in tests)."""
        while tasks := [s.task for s in self._pending.values() if s.task and not s.task.done()]:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, key: str, state: _Pending) -> None:
        while True:
            delay = state.last_run + self._interval * self._spread() - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            state.dirty = False
            try:
                await state.work()
            except Exception:  # a background task must log, not die silently
                log.exception("background update failed key=%s", key.split(":")[-1])
            state.last_run = time.monotonic()
            if not state.dirty:
                return


class CardUpdater:
    """Schedules updates of shared cards; each is rendered from storage when it is sent."""

    # Teams allows 7 messages per second per conversation; one update per card per interval,
    # whatever the number of clicks and of instances, stays far below it. Each instance edits
    # a card after the clicks it served; with n instances each does so every n intervals.
    def __init__(
        self, edits: CardEdits, interval: float = 1.0, *, instances: Callable[[], int] = lambda: 1
    ) -> None:
        self._edits = edits
        self._coalescer = Coalescer(interval, spread=instances)

    def schedule(self, key: str, session: SessionRecord, render: Render) -> None:
        """Ask for the shared card `key` of this session's chat to show the latest state soon."""

        async def work() -> None:
            rendered = await render()
            if rendered is not None:
                card_id, card = rendered
                await self._edits.replace(
                    session.service_url, session.conversation_id, session.bot_id, card_id, card
                )

        self._coalescer.schedule(key, work)

    async def flush(self) -> None:
        """Wait for every scheduled update (at shutdown, so no update is dropped)."""
        await self._coalescer.flush()
