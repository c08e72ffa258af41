"""Teams' meeting start and end events, the leader's meeting-end card, the in-meeting nudges.

Teams sends `meetingStart` and `meetingEnd` to a bot installed in a scheduled meeting's chat
(RSC `OnlineMeeting.ReadBasic.Chat`). They are unreliable: duplicated, late or missing. So each
does its work at most once per session (an insert-only marker per session and kind of work),
and nothing in the Dialogue waits for them: without them the chat works as a plain group chat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from botbuilder.core import TurnContext

from bot.meeting.views import ASSESS_BUBBLE, SIGNIN_BUBBLE, MeetingViews, bubble_url
from bot.session.shared_cards import SharedCards
from bot.session.views import DialogueViews
from bot.signin.actions import chat_roster
from bot.signin.views import SignInViews
from bot.teams.context import ActionContext, Card, Command, Handler, send_card
from bot.teams.identity import is_group_chat
from bot.teams.meetings import MeetingApi, meeting_id_of, parse_instant
from bot.teams.outbound import Outbound
from bot.teams.replies import Notice
from dialogs.assessment import AssessmentService
from dialogs.errors import DialogueError
from dialogs.meeting import (
    ASSESS_NUDGE,
    ENDED_PROMPT,
    SIGNIN_NUDGE,
    STARTED,
    event_marker,
    needs_end_prompt,
    planned_ahead,
)
from dialogs.session import DialogueService
from dialogs.signin import ENDED, SIGNIN, SignInService
from storage.records import SessionRecord

log = logging.getLogger(__name__)

START_EVENT = "application/vnd.microsoft.meetingStart"
END_EVENT = "application/vnd.microsoft.meetingEnd"

# Claims a marker: True the first time for (conversation, key), False ever after.
FirstTime = Callable[[str, str, datetime], Awaitable[bool]]
# The Appendix F card for the meeting chat, as the conclusion posts it.
ChatReminder = Callable[[SessionRecord], Card]


class MeetingActions:
    """What the meeting's start and end do, and the two verbs of the leader's end card."""

    def __init__(
        self,
        signin: SignInService,
        dialogue: DialogueService,
        assessment: AssessmentService,
        signin_views: SignInViews,
        dialogue_views: DialogueViews,
        views: MeetingViews,
        shared: SharedCards,
        outbound: Outbound,
        meetings: MeetingApi,
        first_time: FirstTime,
        chat_reminder: ChatReminder,
        public_base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._signin = signin
        self._dialogue = dialogue
        self._assessment = assessment
        self._signin_views = signin_views
        self._dialogue_views = dialogue_views
        self._views = views
        self._shared = shared
        self._outbound = outbound
        self._meetings = meetings
        self._first_time = first_time
        self._chat_reminder = chat_reminder
        self._base = public_base_url
        self._clock = clock

    def verbs(self) -> dict[str, Handler]:
        """The leader's meeting-end card: close sign-in, conclude."""
        return {"meeting.close_signin": self._close, "meeting.conclude": self._conclude}

    def commands(self) -> dict[str, Command]:
        """None: the meeting drives these."""
        return {}

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The meeting-end card as it stands now, with the reason."""
        session = await self._signin.by_keys(act.data)
        return self._views.end_prompt(session, act.lang, notice)

    def events(self) -> dict[str, Callable[[TurnContext], Awaitable[None]]]:
        """The event activities this journey answers, by name."""
        return {START_EVENT: self.started, END_EVENT: self.ended}

    # Events ----------------------------------------------------------------------------------

    async def started(self, turn_context: TurnContext) -> None:
        """Post a pre-planned session's sheet and plan again; nudge who has not signed in."""
        session = await self._session(turn_context)
        if session is None:
            return
        value = turn_context.activity.value if isinstance(turn_context.activity.value, dict) else {}
        started_at = parse_instant(value.get("StartTime")) or self._clock()
        first = self._dialogue.pack(session).agenda[0].id
        if planned_ahead(session, started_at, first) and await self._claim(session, STARTED):
            session = await self._post_sheet_and_plan(turn_context, session)
        if session.status == SIGNIN and await self._claim(session, SIGNIN_NUDGE):
            await self._nudge_signin(turn_context, session)

    async def ended(self, turn_context: TurnContext) -> None:
        """Ask the leader to close sign-in and conclude; nudge who has not assessed yet."""
        session = await self._session(turn_context)
        if session is None:
            return
        if needs_end_prompt(session) and await self._claim(session, ENDED_PROMPT):
            delivered = await self._outbound.personal(
                service_url=session.service_url,
                tenant_id=session.tenant_id,
                bot_id=session.bot_id,
                user_mri=session.leader.mri,
                card=self._views.end_prompt(session, session.language),
            )
            log.info("meeting end prompt delivered=%s", delivered)
        if session.concluded and await self._claim(session, ASSESS_NUDGE):
            await self._nudge_assessment(turn_context, session)

    async def _session(self, turn_context: TurnContext) -> SessionRecord | None:
        """The session the event's meeting chat runs; None for any other chat."""
        activity = turn_context.activity
        if not is_group_chat(activity) or meeting_id_of(activity) is None:
            return None
        session = await self._signin.active(activity.conversation.id)
        if session is None or session.status == ENDED:
            return None
        return session

    async def _claim(self, session: SessionRecord, kind: str) -> bool:
        return await self._first_time(
            session.conversation_id, event_marker(session, kind), self._clock()
        )

    async def _post_sheet_and_plan(
        self, turn_context: TurnContext, session: SessionRecord
    ) -> SessionRecord:
        """The sheet and the plan at the bottom of the chat; later updates go to these."""
        sheet = await self._signin.sheet(session)
        card = await self._signin_views.sheet(sheet, None, session.language)
        posted = await send_card(turn_context, card)
        if posted is not None and posted.id:
            session = await self._signin.move_card(session, posted.id)
        agenda = await self._dialogue_views.agenda(session, session.language)
        posted = await send_card(turn_context, agenda)
        if posted is not None and posted.id:
            session = await self._dialogue.replan(session, posted.id)
        log.info("meeting start: sheet and plan posted session=%s", session.session_id)
        return session

    async def _nudge_signin(self, turn_context: TurnContext, session: SessionRecord) -> None:
        """A private bubble for each chat member who has not signed in (never the leader)."""
        try:
            members = await chat_roster(turn_context)
        except DialogueError:
            return  # no roster, no nudge: the sheet in the chat is there for everyone
        sheet = await self._signin.sheet(session)
        recipients = [
            m.mri
            for m in members
            if not session.is_leader(m.aad_id) and sheet.find(m.aad_id) is None
        ]
        await self._notify(turn_context, session, SIGNIN_BUBBLE, recipients, session.card_id)

    async def _nudge_assessment(self, turn_context: TurnContext, session: SessionRecord) -> None:
        """The Appendix F bubble for each person on the sheet who has not answered."""
        recipients = [row.mri for row in await self._assessment.not_answered(session) if row.mri]
        await self._notify(turn_context, session, ASSESS_BUBBLE, recipients, "")

    async def _notify(
        self,
        turn_context: TurnContext,
        session: SessionRecord,
        kind: str,
        recipients: list[str],
        message_id: str,
    ) -> None:
        if not recipients:
            return
        lang = session.language
        url = bubble_url(self._base, kind, lang, session.conversation_id, message_id)
        sent = await self._meetings.notify(
            turn_context, recipients, url, self._views.bubble_title(kind, lang)
        )
        if not sent:
            # Today's behaviour: the card in the meeting chat (the sheet, the Appendix F card
            # the conclusion posted) is where everyone finds it.
            log.info("meeting nudge unavailable kind=%s: the chat card stands", kind)

    # The leader's meeting-end card -----------------------------------------------------------

    async def _close(self, act: ActionContext) -> Card:
        session = await self._signin.by_keys(act.data)
        sheet = await self._signin.close(session, act.person)
        self._shared.sheet(sheet.session)
        self._shared.totals(sheet.session)
        return self._views.end_prompt(sheet.session, act.lang, Notice("notice.closed", {}))

    async def _conclude(self, act: ActionContext) -> Card:
        session = await self._signin.by_keys(act.data)
        was_held = session.held_at is not None
        session = await self._dialogue.conclude(session, act.person)
        self._shared.agenda(session)
        self._shared.sheet(session)
        self._shared.totals(session)
        if not was_held:
            # As the conclusion from the plan does: Appendix F asked for in the meeting chat.
            await self._outbound.to_chat(
                service_url=session.service_url,
                tenant_id=session.tenant_id,
                bot_id=session.bot_id,
                conversation_id=session.conversation_id,
                card=self._chat_reminder(session),
            )
        # The leader's plan, concluded: it offers Appendix C, as in the meeting chat.
        return await self._dialogue_views.agenda(
            session, act.lang, person=act.person, notice=Notice("notice.concluded", {})
        )
