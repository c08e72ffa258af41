"""Card actions of anonymous polls: open, vote, reveal, close."""

from __future__ import annotations

import logging
from typing import Any

from bot.polls.views import PollViews
from bot.session.shared_cards import SharedCards
from bot.session.views import DialogueViews
from bot.teams.context import ActionContext, Card, Command, Handler, send_card
from bot.teams.replies import Notice
from dialogs.errors import InvalidInput, WrongState
from dialogs.polls import PollService
from dialogs.session import DialogueService
from dialogs.signin import SignInService
from storage.records import Person, PollRecord, SessionRecord

log = logging.getLogger(__name__)


class PollActions:
    """Every poll action is checked: the poll belongs to this chat's session and is open."""

    def __init__(
        self,
        signin: SignInService,
        dialogue: DialogueService,
        polls: PollService,
        dialogue_views: DialogueViews,
        poll_views: PollViews,
        shared: SharedCards,
    ) -> None:
        self._signin = signin
        self._dialogue = dialogue
        self._polls = polls
        self._dialogue_views = dialogue_views
        self._poll_views = poll_views
        self._shared = shared

    def verbs(self) -> dict[str, Handler]:
        """The verbs this module answers."""
        return {
            "poll.view": self._view,
            "poll.vote": self._vote,
            "poll.reveal": self._reveal,
            "poll.close": self._close,
            "poll.open_pack": self._open_pack,
            "poll.open_adhoc": self._open_adhoc,
        }

    def commands(self) -> dict[str, Command]:
        """Polls are opened from cards only."""
        return {}

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The card the person was looking at, with the reason their action was refused."""
        session = await self._session(act)
        if act.verb.startswith("poll.open"):
            return await self._dialogue_views.scenario(
                session, str(act.data.get("scenario")), act.lang, person=act.person, notice=notice
            )
        poll = await self._polls.get(session, act.data.get("poll"))
        return await self._poll_views.poll(
            session, poll, act.lang, person=act.person, notice=notice
        )

    async def _session(self, act: ActionContext) -> SessionRecord:
        return await self._signin.for_card(act.conversation_id, act.data.get("sid"))

    async def _poll(self, act: ActionContext) -> tuple[SessionRecord, PollRecord]:
        session = await self._session(act)
        return session, await self._polls.get(session, act.data.get("poll"))

    async def _card(
        self, session: SessionRecord, poll: PollRecord, act: ActionContext, notice: Notice | None
    ) -> Card:
        return await self._poll_views.poll(
            session, poll, act.lang, person=act.person, notice=notice
        )

    async def _view(self, act: ActionContext) -> Card:
        # Teams' refresh or "Show my view": the person's own view (their vote), never a refusal.
        session, poll = await self._poll(act)
        return await self._card(session, poll, act, None)

    async def _vote(self, act: ActionContext) -> Card:
        session = await self._signin.for_vote(act.conversation_id, act.data.get("sid"))
        poll = await self._polls.for_vote(session, act.data.get("poll"))
        result = await self._polls.vote(poll, act.person, act.data.get("vote"), session)
        self._shared.poll(session, poll.poll_id)
        return await self._poll_views.poll(
            session,
            result.poll,
            act.lang,
            person=act.person,
            notice=Notice("notice.voted", {}),
            vote=result,
        )

    async def _reveal(self, act: ActionContext) -> Card:
        session, poll = await self._poll(act)
        poll = await self._polls.reveal(poll, act.person, session)
        self._shared.poll(session, poll.poll_id)
        return await self._card(session, poll, act, Notice("notice.revealed", {}))

    async def _close(self, act: ActionContext) -> Card:
        session, poll = await self._poll(act)
        poll = await self._polls.close(poll, act.person, session)
        self._shared.poll(session, poll.poll_id)
        return await self._card(session, poll, act, Notice("notice.poll_closed", {}))

    async def _open_pack(self, act: ActionContext) -> Card:
        session = await self._session(act)
        poll = await open_pack_poll(
            self._polls,
            self._dialogue,
            session,
            act.person,
            act.data.get("scenario"),
            act.data.get("pack_poll"),
        )
        await post_poll(act, self._poll_views, self._polls, session, poll, self._shared)
        return await self._opened(session, str(act.data.get("scenario")), act)

    async def _open_adhoc(self, act: ActionContext) -> Card:
        session = await self._session(act)
        scenario = self._dialogue.current_scenario(session)
        poll = await self._polls.open_adhoc(session, act.person, act.data)
        await post_poll(act, self._poll_views, self._polls, session, poll, self._shared)
        if scenario is None:
            return await self._dialogue_views.agenda(
                session, act.lang, person=act.person, notice=Notice("notice.poll_opened", {})
            )
        return await self._opened(session, scenario.id, act)

    async def _opened(self, session: SessionRecord, scenario_id: str, act: ActionContext) -> Card:
        card = await self._dialogue_views.scenario(
            session,
            scenario_id,
            act.lang,
            person=act.person,
            notice=Notice("notice.poll_opened", {}),
        )
        assert card is not None
        return card


async def open_pack_poll(
    polls: PollService,
    dialogue: DialogueService,
    session: SessionRecord,
    person: Person,
    scenario_id: Any,
    wanted: Any,
) -> PollRecord:
    """Open one of the current scenario's polls from the pack (card verb and side panel)."""
    scenario = dialogue.current_scenario(session)
    if scenario is None or scenario.id != scenario_id:
        raise WrongState("error.not_current_scenario")
    # The poll's words are the session's language: everyone votes on the same card.
    pack_scenario = dialogue.pack(session).scenario(scenario.id)
    assert pack_scenario is not None
    spec = next((p for p in pack_scenario.polls if p.id == wanted), None)
    if spec is None:
        raise InvalidInput("error.unknown_poll", field="poll")
    return await polls.open(
        session,
        person,
        kind="pack",
        question=spec.question.value,
        options=[o.value for o in spec.options],
        ref=spec.id,
    )


async def post_poll(
    act: ActionContext,
    poll_views: PollViews,
    polls: PollService,
    session: SessionRecord,
    poll: PollRecord,
    shared: SharedCards,
) -> None:
    """Post a new poll's card in the chat and remember its message."""
    if poll.card_id:
        return  # opened before (a double click): its card is already in the chat
    audience = await shared.audience(session)
    card = await poll_views.poll(session, poll, session.language, audience=audience)
    posted = await send_card(act.turn_context, card)
    if posted is not None and posted.id:
        await polls.attach_card(poll, posted.id)
