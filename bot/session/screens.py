"""Every card of a session, built from what is stored now, for a viewer and a language."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.session.views import DialogueViews
from bot.teams.replies import LEADER, MONITOR, PARTICIPANT, Notice, Views, viewer_role
from cards.renderer import Card
from dialogs.directory import Directory
from dialogs.polls import PollService, VoteResult
from dialogs.session import DialogueService
from dialogs.signin import Sheet, SignInService
from storage.records import Person, PollRecord, SessionRecord


class Screens:
    """Reads what a card shows and renders it; the same code serves shared and personal views."""

    def __init__(
        self,
        views: Views,
        dialogue_views: DialogueViews,
        signin: SignInService,
        dialogue: DialogueService,
        polls: PollService,
        directory: Directory,
    ) -> None:
        self.directory = directory
        self.views = views
        self._dviews = dialogue_views
        self._signin = signin
        self._dialogue = dialogue
        self._polls = polls

    def _notice(self, lang: str, notice: Notice | None) -> tuple[str | None, str]:
        if notice is None:
            return None, "good"
        return self.views.notice_text(lang, notice), notice.style

    # Sign-in sheet ---------------------------------------------------------------------------

    async def setup(
        self,
        lang: str,
        today: date,
        values: dict[str, Any] | None = None,
        notice: Notice | None = None,
    ) -> Card:
        """The setup form with the entities a session may be reported under."""
        entities = [(e.code, e.name) for e in await self.directory.entities()]
        return self.views.setup(lang, today, entities, values, notice)

    async def sheet_for(
        self, sheet: Sheet, person: Person | None, lang: str, notice: Notice | None = None
    ) -> Card:
        """The sheet as this person may see it (None: the shared view everyone sees)."""
        name = (await self.directory.names()).get(sheet.session.entity, "")
        if person is None:
            return self.views.sheet(sheet, lang, notice=notice, entity_name=name)
        role = viewer_role(sheet, person)
        me = sheet.find(person.aad_id) if role == PARTICIPANT else None
        return self.views.sheet(sheet, lang, viewer=role, me=me, notice=notice, entity_name=name)

    # Agenda ----------------------------------------------------------------------------------

    async def agenda(
        self,
        session: SessionRecord,
        lang: str,
        *,
        person: Person | None = None,
        notice: Notice | None = None,
    ) -> Card:
        """The session plan; the leader's view adds prompts, warnings and the questions."""
        leader = person is not None and session.is_leader(person.aad_id)
        questions = await self._dialogue.questions(session) if leader else []
        text, style = self._notice(lang, notice)
        return self._dviews.agenda(
            session,
            self._dialogue.pack(session, lang),
            self._dialogue.progress(session),
            lang,
            leader=leader,
            questions=questions,
            notice_text=text,
            notice_style=style,
        )

    async def shared_agenda(self, session: SessionRecord) -> tuple[str, Card] | None:
        """The shared agenda card, if it was posted."""
        if not session.agenda_card_id:
            return None
        return session.agenda_card_id, await self.agenda(session, session.language)

    # Scenario --------------------------------------------------------------------------------

    def scenario(
        self,
        session: SessionRecord,
        scenario_id: str,
        lang: str,
        *,
        person: Person | None = None,
        notice: Notice | None = None,
    ) -> Card | None:
        """A scenario card; None when the pack has no such scenario."""
        pack = self._dialogue.pack(session, lang)
        scenario = pack.scenario(scenario_id)
        if scenario is None:
            return None
        progress = self._dialogue.progress(session)
        seconds = (
            progress.scenario_seconds
            if progress.scenario and progress.scenario.id == (scenario_id)
            else session.scenario_seconds.get(scenario_id, 0.0)
        )
        text, style = self._notice(lang, notice)
        return self._dviews.scenario(
            session,
            scenario,
            lang,
            leader=person is not None and session.is_leader(person.aad_id),
            seconds=seconds,
            notice_text=text,
            notice_style=style,
        )

    # Poll ------------------------------------------------------------------------------------

    async def poll(
        self,
        session: SessionRecord,
        poll: PollRecord,
        lang: str,
        *,
        person: Person | None = None,
        notice: Notice | None = None,
        vote: VoteResult | None = None,
    ) -> Card:
        """A poll as a person sees it (their own vote, results once voted), or the shared view.

        `vote`: the person's vote just stored, with the tally it was counted in.
        """
        leader = person is not None and session.is_leader(person.aad_id)
        if vote is not None:
            my_vote, tally = vote.choices, vote.tally
        else:
            my_vote = await self._polls.my_vote(poll, person) if person and not leader else None
            tally = await self._polls.tally(poll)
        text, style = self._notice(lang, notice)
        return self._dviews.poll(
            session,
            poll,
            tally,
            lang,
            leader=leader,
            my_vote=my_vote,
            personal=person is not None,
            notice_text=text,
            notice_style=style,
        )

    async def shared_poll(self, session: SessionRecord, poll_id: str) -> tuple[str, Card] | None:
        """The shared poll card in the session's language."""
        poll = await self._polls.get(session, poll_id)
        if not poll.card_id:
            return None
        return poll.card_id, await self.poll(session, poll, session.language)


__all__ = ["LEADER", "MONITOR", "PARTICIPANT", "Screens"]
