"""Card actions of the Dialogue: agenda, scenario choice, scenarios, questions, conclusion."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from botbuilder.core import TurnContext

from bot.polls.actions import post_poll
from bot.polls.views import PollViews
from bot.session.shared_cards import SharedCards
from bot.session.views import DialogueViews
from bot.signin.actions import active_session
from bot.teams.context import IN_MEETING, ActionContext, Card, Command, Handler, send_card
from bot.teams.identity import person_of
from bot.teams.replies import Notice, Replies
from dialogs.errors import InvalidInput, NotAllowed
from dialogs.polls import PollService
from dialogs.session import DialogueService, choice_poll_closes_at, require_choice_poll
from dialogs.signin import SignInService
from storage.records import SessionRecord

log = logging.getLogger(__name__)

CHOICE = "choice"


class DialogueActions:
    """Moves the session along the guide's plan and shows each step to everyone."""

    def __init__(
        self,
        signin: SignInService,
        dialogue: DialogueService,
        polls: PollService,
        dialogue_views: DialogueViews,
        poll_views: PollViews,
        replies: Replies,
        shared: SharedCards,
        on_conclude: Callable[[TurnContext, SessionRecord], Awaitable[None]],
    ) -> None:
        self._on_conclude = on_conclude
        self._signin = signin
        self._dialogue = dialogue
        self._polls = polls
        self._dialogue_views = dialogue_views
        self._poll_views = poll_views
        self._replies = replies
        self._shared = shared

    def verbs(self) -> dict[str, Handler]:
        """The verbs this module answers."""
        return {
            "agenda.view": self._agenda_view,
            "agenda.prereading": self._prereading,
            "agenda.next": self._next_section,
            "scenarios.choose": self._choose,
            "scenarios.poll": self._choice_poll,
            "scenarios.from_poll": self._from_poll,
            "scenario.next": self._next_scenario,
            "scenario.view": self._scenario_view,
            "scenario.wrap": self._wrap,
            "question.log": self._log_question,
            "dialogue.conclude": self._conclude,
        }

    def commands(self) -> dict[str, Command]:
        """`agenda` and `poll` (the plan, or the open polls and scenario, again at the bottom of
        the chat) and `end` (the session ends)."""
        return {
            "agenda": Command(self._repost_agenda, IN_MEETING),
            "poll": Command(self._repost_polls, IN_MEETING),
            "end": Command(self._end, IN_MEETING),
        }

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The card the person was looking at, with the reason their action was refused."""
        session = await self._session(act)
        if act.verb.startswith("scenario.") and isinstance(act.data.get("scenario"), str):
            card = await self._dialogue_views.scenario(
                session, act.data["scenario"], act.lang, person=act.person, notice=notice
            )
            if card is not None:
                return card
        return await self._agenda(session, act, notice)

    async def _session(self, act: ActionContext) -> SessionRecord:
        return await self._signin.for_card(act.conversation_id, act.data.get("sid"))

    async def _agenda(
        self, session: SessionRecord, act: ActionContext, notice: Notice | None = None
    ) -> Card:
        return await self._dialogue_views.agenda(
            session, act.lang, person=act.person, notice=notice
        )

    async def _agenda_view(self, act: ActionContext) -> Card:
        # Teams' refresh or "Show my view": the person's own view, read from the session only.
        return await self._agenda(await self._session(act), act)

    async def _prereading(self, act: ActionContext) -> Card:
        # Everyone's: Appendix D is what participants read before the session.
        return self._dialogue_views.prereading(await self._session(act), act.lang)

    async def _next_section(self, act: ActionContext) -> Card:
        session = await self._session(act)
        if act.data.get("stage") != session.stage:
            # A second click on a card that already moved on: show where things stand.
            return await self._agenda(session, act)
        session = await self._dialogue.next_section(session, act.person)
        self._shared.agenda(session)
        self._shared.scenario(session)
        section = next(
            (s for s in self._dialogue.pack(session, act.lang).agenda if s.id == session.stage),
            None,
        )
        notice = Notice("notice.section_moved", {"section": section.title.value if section else ""})
        return await self._agenda(session, act, notice)

    async def _choose(self, act: ActionContext) -> Card:
        session = await self._session(act)
        session = await self._dialogue.choose_scenarios(
            session, act.person, act.data.get("scenarios")
        )
        self._shared.agenda(session)
        return await self._agenda(session, act, Notice("notice.order_set", {}))

    async def _choice_poll(self, act: ActionContext) -> Card:
        session = await self._session(act)
        require_choice_poll(session, act.person)
        pack = self._dialogue.pack(session)
        poll = await self._polls.open(
            session,
            act.person,
            kind=CHOICE,
            question=self._replies.text(session.language, "poll.choice_question"),
            options=[
                self._replies.text(
                    session.language, "agenda.scenario_choice", number=s.number, title=s.title.value
                )
                for s in pack.scenarios
            ],
            ref=CHOICE,
            multiple=True,
            closes_at=choice_poll_closes_at(session),
        )
        await post_poll(act, self._poll_views, self._polls, session, poll, self._shared)
        return await self._agenda(session, act, Notice("notice.poll_opened", {}))

    async def _from_poll(self, act: ActionContext) -> Card:
        session = await self._session(act)
        poll = await self._polls.get(session, act.data.get("poll"))
        if poll.kind != CHOICE or poll.status != "closed":
            raise InvalidInput("error.not_choice_poll", field="poll")
        tally = await self._polls.tally(poll)
        pack = self._dialogue.pack(session)
        counts = {
            s.id: tally.counts[i] for i, s in enumerate(pack.scenarios) if i < len(tally.counts)
        }
        session = await self._dialogue.order_from_votes(session, act.person, counts)
        self._shared.agenda(session)
        self._shared.poll(session, poll.poll_id)
        return await self._poll_views.poll(
            session, poll, act.lang, person=act.person, notice=Notice("notice.order_set", {})
        )

    async def _next_scenario(self, act: ActionContext) -> Card:
        session = await self._session(act)
        previous = session
        session = await self._dialogue.next_scenario(session, act.person)
        if session.scenario_index != previous.scenario_index:
            # The previous scenario's card keeps its message and shows its final state.
            self._shared.scenario(previous)
            scenario_id = session.scenario_order[session.scenario_index]
            card = await self._dialogue_views.scenario(
                session,
                scenario_id,
                session.language,
                audience=await self._shared.audience(session),
            )
            posted = await send_card(act.turn_context, card) if card else None
            if posted is not None and posted.id:
                session = await self._dialogue.attach_scenario_card(session, posted.id)
        self._shared.agenda(session)
        scenario = self._dialogue.current_scenario(session)
        notice = Notice("notice.scenario_started", {"number": scenario.number if scenario else 0})
        return await self._agenda(session, act, notice)

    async def _scenario_view(self, act: ActionContext) -> Card:
        session = await self._session(act)
        card = await self._dialogue_views.scenario(
            session, str(act.data.get("scenario")), act.lang, person=act.person
        )
        if card is None:
            raise InvalidInput("error.unknown_action", field="scenarios")
        return card

    async def _wrap(self, act: ActionContext) -> Card:
        session = await self._session(act)
        session = await self._dialogue.wrap_up(session, act.person, act.data.get("scenario"))
        self._shared.scenario(session)
        self._shared.agenda(session)
        card = await self._dialogue_views.scenario(
            session,
            str(act.data.get("scenario")),
            act.lang,
            person=act.person,
            notice=Notice("notice.wrapped", {}),
        )
        assert card is not None
        return card

    async def _log_question(self, act: ActionContext) -> Card:
        session = await self._session(act)
        await self._dialogue.log_question(session, act.data)
        self._shared.agenda(session)
        return await self._agenda(session, act, Notice("notice.question_logged", {}))

    async def _conclude(self, act: ActionContext) -> Card:
        session = await self._session(act)
        was_held = session.held_at is not None
        session = await self._dialogue.conclude(session, act.person)
        self._shared.agenda(session)
        self._shared.sheet(session)  # sign-in closed with the conclusion
        self._shared.totals(session)
        if not was_held:
            await self._on_conclude(act.turn_context, session)
        return await self._agenda(session, act, Notice("notice.concluded", {}))

    # Typed commands --------------------------------------------------------------------------

    async def _repost_agenda(self, turn_context: TurnContext, lang: str) -> None:
        session = await active_session(self._signin, turn_context.activity)
        audience = await self._shared.audience(session)
        posted = await send_card(
            turn_context,
            await self._dialogue_views.agenda(session, session.language, audience=audience),
        )
        if posted is not None and posted.id:
            # Later updates go to the newest card, the one people see at the bottom of the chat.
            await self._signin.move_agenda(session, posted.id)

    async def _repost_polls(self, turn_context: TurnContext, lang: str) -> None:
        """The open polls and the scenario under discussion, again at the bottom of the chat.

        For whoever joined late: a poll opened before they came is otherwise out of reach.
        """
        session = await active_session(self._signin, turn_context.activity)
        audience = await self._shared.audience(session)
        scenario = self._dialogue.current_scenario(session)
        posted_any = False
        if scenario is not None and session.scenario_card_id:
            card = await self._dialogue_views.scenario(
                session, scenario.id, session.language, audience=audience
            )
            posted = await send_card(turn_context, card) if card else None
            posted_any = True
            if posted is not None and posted.id:
                session = await self._dialogue.attach_scenario_card(session, posted.id)
        for poll in await self._polls.open_polls(session):
            card = await self._poll_views.poll(session, poll, session.language, audience=audience)
            posted = await send_card(turn_context, card)
            posted_any = True
            if posted is not None and posted.id:
                await self._polls.attach_card(poll, posted.id)
        if not posted_any:
            await turn_context.send_activity(self._replies.text(lang, "msg.nothing_to_repost"))

    async def _end(self, turn_context: TurnContext, lang: str) -> None:
        session = await active_session(self._signin, turn_context.activity)
        person = person_of(turn_context.activity)
        if person is None:
            raise NotAllowed("error.leader_only")
        sheet = await self._signin.end(session, person)
        self._shared.sheet(sheet.session)
        self._shared.agenda(sheet.session)
        self._shared.totals(sheet.session)
        await turn_context.send_activity(self._replies.text(lang, "msg.ended", count=sheet.count))
