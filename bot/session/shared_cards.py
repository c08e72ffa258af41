"""Keeps every shared card of a session current, through the coalescing CardUpdater."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.polls.views import PollViews
from bot.session.views import DialogueViews
from bot.signin.views import SignInViews
from bot.teams.card_updates import CardUpdater, Coalescer
from dialogs.rollup import RollupService
from dialogs.signin import SignInService
from storage.records import SessionRecord

Rendered = tuple[str, dict[str, Any]] | None


class SharedCards:
    """One method per kind of shared card; each renders from storage when the update is sent."""

    def __init__(
        self,
        updater: CardUpdater,
        signin_views: SignInViews,
        dialogue_views: DialogueViews,
        poll_views: PollViews,
        signin: SignInService,
        rollup: RollupService,
        totals: Coalescer,
    ) -> None:
        self._updater = updater
        self._signin_views = signin_views
        self._dialogue_views = dialogue_views
        self._poll_views = poll_views
        self._signin = signin
        self._rollup = rollup
        self._totals = totals
        self._listeners: list[Callable[[SessionRecord], None]] = []

    def listen(self, listener: Callable[[SessionRecord], None]) -> None:
        """Be told whenever a session's shared cards change (the meeting stage follows them)."""
        self._listeners.append(listener)

    def sheet(self, session: SessionRecord) -> None:
        """The sign-in sheet; the session's counts follow it, and the entity's totals follow."""

        async def render(current: SessionRecord) -> Rendered:
            sheet = await self._signin.sheet(current)
            return current.card_id, await self._signin_views.sheet(sheet, None, current.language)

        self._schedule(f"{session.session_id}:sheet", session, render)
        self.counts(session)

    def counts(self, session: SessionRecord) -> None:
        """The session's stored counts from its sheet (coalesced), then the entity's totals.

        Kept apart from drawing the card: a render never writes, and the counts are kept even
        when the card cannot be updated.
        """

        async def record() -> None:
            current = await self._signin.reload(session)
            if current is None:
                return
            sheet = await self._signin.sheet(current)
            if await self._rollup.record_counts(current, sheet.rows):
                self.totals(current)

        self._totals.schedule(f"counts:{session.session_id}", record)

    def totals(self, session: SessionRecord) -> None:
        """The entity's running totals, recomputed from its sessions (coalesced per entity);
        and, once the session is held, who attended it (for the cascade)."""
        cycle, entity = session.cycle, session.entity

        async def refresh() -> None:
            await self._rollup.refresh_totals(cycle, entity)

        async def attendance() -> None:
            current = await self._signin.reload(session)
            if current is not None:
                await self._rollup.mark_attendance(current)

        self._totals.schedule(f"totals:{cycle}:{entity}", refresh)
        self._totals.schedule(f"held:{session.session_id}", attendance)

    def agenda(self, session: SessionRecord) -> None:
        """The session plan."""
        self._schedule(f"{session.session_id}:agenda", session, self._dialogue_views.shared_agenda)

    def scenario(self, session: SessionRecord) -> None:
        """The card of the scenario under discussion now (it keeps its message and scenario)."""
        if not session.scenario_card_id or not 0 <= session.scenario_index < len(
            session.scenario_order
        ):
            return
        card_id = session.scenario_card_id
        scenario_id = session.scenario_order[session.scenario_index]

        async def render(current: SessionRecord) -> Rendered:
            card = await self._dialogue_views.scenario(current, scenario_id, current.language)
            return (card_id, card) if card else None

        self._schedule(f"{session.session_id}:scenario:{card_id}", session, render)

    def poll(self, session: SessionRecord, poll_id: str) -> None:
        """One poll."""

        async def render(current: SessionRecord) -> Rendered:
            return await self._poll_views.shared_poll(current, poll_id)

        self._schedule(f"{session.session_id}:poll:{poll_id}", session, render)

    def _schedule(
        self,
        key: str,
        session: SessionRecord,
        render: Callable[[SessionRecord], Awaitable[Rendered]],
    ) -> None:
        async def fresh() -> Rendered:
            # Render what is stored when the update is sent, not what was true when asked.
            current = await self._signin.reload(session)
            return await render(current) if current is not None else None

        self._updater.schedule(key, session, fresh)
        for listener in self._listeners:
            listener(session)
