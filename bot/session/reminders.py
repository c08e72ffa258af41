"""The leader's reminder before the session, and the job that posts it in the meeting chat."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

from botbuilder.core import TurnContext

from bot.session.views import DialogueViews
from bot.teams.context import ActionContext, Card, Command, Handler
from bot.teams.outbound import Outbound
from bot.teams.replies import Notice, Replies
from dialogs.jobs import PreReadingReminders
from dialogs.session import DialogueService
from dialogs.signin import SignInService
from storage.records import Job, SessionRecord

log = logging.getLogger(__name__)


def leader_zone(turn_context: TurnContext) -> tzinfo:
    """The clicker's UTC offset, when Teams says (localTimestamp); else UTC."""
    local = turn_context.activity.local_timestamp
    if isinstance(local, datetime) and local.tzinfo is not None:
        return local.tzinfo
    return UTC


class ReminderActions:
    """Schedule and cancel the reminder from the session plan; post it when its job runs."""

    def __init__(
        self,
        signin: SignInService,
        dialogue: DialogueService,
        reminders: PreReadingReminders,
        views: DialogueViews,
        replies: Replies,
        outbound: Outbound,
    ) -> None:
        self._signin = signin
        self._dialogue = dialogue
        self._reminders = reminders
        self._views = views
        self._replies = replies
        self._outbound = outbound

    def verbs(self) -> dict[str, Handler]:
        """The verbs this module answers."""
        return {"reminder.schedule": self._schedule, "reminder.cancel": self._cancel}

    def commands(self) -> dict[str, Command]:
        """Scheduled from the session plan only."""
        return {}

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The session plan as this person sees it, with the reason."""
        session = await self._session(act)
        return await self._views.agenda(session, act.lang, person=act.person, notice=notice)

    async def _session(self, act: ActionContext) -> SessionRecord:
        return await self._signin.for_card(act.conversation_id, act.data.get("sid"))

    async def _schedule(self, act: ActionContext) -> Card:
        session = await self._session(act)
        scheduled = await self._reminders.schedule(
            session, act.person, act.data, leader_zone(act.turn_context)
        )
        notice = Notice(
            "notice.reminder_scheduled",
            {"when": self._views.reminder_when(act.lang, scheduled)},
            "good",
        )
        return await self._views.agenda(session, act.lang, person=act.person, notice=notice)

    async def _cancel(self, act: ActionContext) -> Card:
        session = await self._session(act)
        await self._reminders.cancel(session, act.person)
        notice = Notice("notice.reminder_cancelled", {})
        return await self._views.agenda(session, act.lang, person=act.person, notice=notice)

    async def send(self, job: Job) -> bool:
        """Post a due reminder in its session's meeting chat; False if Teams did not take it."""
        session = await self._reminders.session_of(job)
        if session is None:
            log.info("reminder not sent: the session began, ended or is gone")
            return True  # nothing left to do: the job is finished
        lang = session.language
        card = self._views.prereading_card(self._dialogue.pack(session), lang, session)
        text = self._replies.text(
            lang, "reminder.chat_text", date=self._replies.date(lang, session.session_date)
        )
        # Through the conversation reference the session stores, as the shared cards are.
        return await self._outbound.to_chat(
            service_url=session.service_url,
            tenant_id=session.tenant_id,
            bot_id=session.bot_id,
            conversation_id=session.conversation_id,
            card=card,
            text=text,
        )
