"""Keeps every shared card of a session current, through the coalescing CardUpdater."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.polls.views import PollViews
from bot.session.views import DialogueViews
from bot.signin.views import SignInViews, sheet_audience
from bot.teams.card_updates import CardUpdater, Coalescer
from bot.teams.refresh import Audience
from dialogs.rollup import RollupService
from dialogs.signin import Sheet, SignInService
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

        async def render(sheet: Sheet) -> Rendered:
            card = await self._signin_views.sheet(sheet, None, sheet.session.language)
            return sheet.session.card_id, card

        self._schedule(f"{session.session_id}:sheet", session, render)
        self.counts(session)

    async def audience(self, session: SessionRecord) -> Audience:
        """Whom a card posted now asks Teams to refresh: the leader's side, then the sheet."""
        return sheet_audience(await self._signin.sheet(session, names=False))

    def counts(self, session: SessionRecord) -> None:
        """The session's stored counts and who attended, from one read of its sheet
        (coalesced), then the entity's totals.

        Kept apart from drawing the card: a render never writes, and the counts are kept even
        when the card cannot be updated.
        """

        async def record() -> None:
            current = await self._signin.reload(session)
            if current is None:
                return
            sheet = await self._signin.sheet(current)
            if await self._rollup.record_counts(current, sheet.rows):
                self._entity_totals(current)
            # Marked whenever the sheet may have changed: one removal and one arrival leave the
            # counts as they were, but not who attended.
            await self._rollup.mark_attendance(current, sheet.rows)

        self._totals.schedule(f"counts:{session.session_id}", record)

    def totals(self, session: SessionRecord) -> None:
        """The entity's running totals, recomputed from its sessions (coalesced per entity);
        and, once the session is held, who attended it (for the cascade)."""

        async def attendance() -> None:
            current = await self._signin.reload(session)
            if current is not None:
                await self._rollup.mark_attendance(current)

        self._entity_totals(session)
        self._totals.schedule(f"held:{session.session_id}", attendance)

    def _entity_totals(self, session: SessionRecord) -> None:
        cycle, entity = session.cycle, session.entity

        async def refresh() -> None:
            await self._rollup.refresh_totals(cycle, entity)

        self._totals.schedule(f"totals:{cycle}:{entity}", refresh)

    def agenda(self, session: SessionRecord) -> None:
        """The session plan."""

        async def render(sheet: Sheet) -> Rendered:
            return await self._dialogue_views.shared_agenda(sheet.session, sheet_audience(sheet))

        self._schedule(f"{session.session_id}:agenda", session, render)

    def scenario(self, session: SessionRecord) -> None:
        """The card of the scenario under discussion now (it keeps its message and scenario)."""
        if not session.scenario_card_id or not 0 <= session.scenario_index < len(
            session.scenario_order
        ):
            return
        card_id = session.scenario_card_id
        scenario_id = session.scenario_order[session.scenario_index]

        async def render(sheet: Sheet) -> Rendered:
            current = sheet.session
            card = await self._dialogue_views.scenario(
                current, scenario_id, current.language, audience=sheet_audience(sheet)
            )
            return (card_id, card) if card else None

        self._schedule(f"{session.session_id}:scenario:{card_id}", session, render)

    def poll(self, session: SessionRecord, poll_id: str) -> None:
        """One poll."""

        async def render(sheet: Sheet) -> Rendered:
            return await self._poll_views.shared_poll(sheet.session, poll_id, sheet_audience(sheet))

        self._schedule(f"{session.session_id}:poll:{poll_id}", session, render)

    def _schedule(
        self,
        key: str,
        session: SessionRecord,
        render: Callable[[Sheet], Awaitable[Rendered]],
    ) -> None:
        async def fresh() -> Rendered:
            # Render what is stored when the update is sent, not what was true when asked; the
            # sheet says whom each shared card asks Teams to refresh into their own view.
            current = await self._signin.reload(session)
            if current is None:
                return None
            # Shared cards name nobody: a headcount says whom each one refreshes.
            return await render(await self._signin.sheet(current, names=False))

        self._updater.schedule(key, session, fresh)
        for listener in self._listeners:
            listener(session)
