"""After the session: Appendix C, Appendix F with reminders, and the questions' path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from botbuilder.core import TurnContext

from bot.after.views import AfterViews
from bot.session.views import DialogueViews
from bot.settings import Settings
from bot.signin.actions import active_session
from bot.teams.context import (
    IN_MEETING,
    IN_PERSONAL,
    ActionContext,
    Card,
    Command,
    Handler,
    send_card,
)
from bot.teams.identity import person_of
from bot.teams.outbound import Outbound, PersonalMessage
from bot.teams.replies import Notice, Replies
from dialogs.assessment import CLOSED, AssessmentService
from dialogs.common import require_leader
from dialogs.directory import Directory
from dialogs.errors import InvalidInput, NotAllowed
from dialogs.feedback import LeaderFeedbackService
from dialogs.queue import QuestionQueue
from dialogs.rollup import RollupService
from dialogs.session import DialogueService
from dialogs.signin import SignInService
from storage.records import Person, SessionRecord

log = logging.getLogger(__name__)


class AfterActions:
    """The forms the guide asks for after the session, where the session happened."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        rollup: RollupService,
        signin: SignInService,
        dialogue: DialogueService,
        feedback: LeaderFeedbackService,
        assessment: AssessmentService,
        queue: QuestionQueue,
        dialogue_views: DialogueViews,
        replies: Replies,
        views: AfterViews,
        outbound: Outbound,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._rollup = rollup
        self._signin = signin
        self._dialogue = dialogue
        self._feedback = feedback
        self._assessment = assessment
        self._queue = queue
        self._dialogue_views = dialogue_views
        self._replies = replies
        self._views = views
        self._outbound = outbound

    def verbs(self) -> dict[str, Handler]:
        """The verbs this module answers."""
        return {
            "feedback.open": self._feedback_open,
            "feedback.submit": self._feedback_submit,
            "assess.open": self._assess_open,
            "assess.submit": self._assess_submit,
            "assess.results": self._results,
            "assess.remind": self._remind,
            "questions.forward": self._forward,
            "queue.answer": self._answer,
            "queue.share": self._share,
        }

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The form the person was filling, with the reason, and what they typed kept.

        Only to whom the form belongs: Appendix C to the leader, Appendix F to a participant on
        the sheet, the queue to an admin; anyone else gets the reason alone.
        """
        if act.verb == "queue.answer":
            if not self._directory.is_admin(act.person):
                return None
            return await self._queue_card(act.person, act.lang, notice)
        if act.verb == "queue.share":
            return None  # the reason alone: the reply card is re-sent only once allowed

        session = await self._signin.by_keys(act.data)
        if act.verb == "feedback.submit" and session.is_leader(act.person.aad_id):
            return await self._feedback_card(session, act.lang, entered=act.data, notice=notice)
        # Past the "held" check, AssessmentService.submit refuses anyone but a participant on the
        # sheet (NotAllowed, a plain notice) before it reads an answer: what reaches here from a
        # held session is a participant's own answer refused (or the assessment closed), and
        # costs no second sheet read. Closed: the form without its inputs.
        if (
            (act.verb == "assess.submit" or notice.key == CLOSED)
            and session.concluded
            and not session.is_leader(act.person.aad_id)
        ):
            return self._views.assessment_form(
                session,
                self._dialogue.pack(session, act.lang),
                act.lang,
                open_=notice.key != CLOSED,
                notice=notice,
            )
        return None

    # Appendix C ------------------------------------------------------------------------------

    async def _feedback_card(
        self,
        session: SessionRecord,
        lang: str,
        *,
        entered: dict[str, Any] | None = None,
        notice: Notice | None = None,
    ) -> Card:
        pack = self._dialogue.pack(session, lang)
        sheet = await self._signin.sheet(session)
        questions = await self._dialogue.questions(session)
        names = await self._directory.names()
        prefill = self._feedback.prefill(
            session, pack, names.get(session.entity, session.entity), sheet.count, questions
        )
        return self._views.feedback_form(
            session,
            pack,
            lang,
            prefill,
            await self._feedback.latest(session),
            has_questions=bool(questions),
            entered=entered,
            notice=notice,
        )

    async def _feedback_open(self, act: ActionContext) -> Card:
        session = await self._signin.by_keys(act.data)
        require_leader(session, act.person)
        return await self._feedback_card(session, act.lang)

    async def _feedback_submit(self, act: ActionContext) -> Card:
        session = await self._signin.by_keys(act.data)
        pack = self._dialogue.pack(session, act.lang)
        locked = await self._rollup.is_certified(session.cycle, session.entity)
        version = await self._feedback.submit(
            session, act.person.aad_id, pack, act.data, locked=locked
        )
        if act.data.get("forward_questions") == "true":
            questions = await self._dialogue.questions(session)
            await self._queue.forward(session, act.person, questions)
        return await self._feedback_card(
            session, act.lang, notice=Notice("notice.feedback_saved", {"version": version.version})
        )

    # Appendix F ------------------------------------------------------------------------------

    async def _assess_open(self, act: ActionContext) -> Card:
        session = await self._signin.concluded_by_keys(act.data)
        await self._assessment.require_assessor(session, act.person)
        pack = self._dialogue.pack(session, act.lang)
        if await self._assessment.has_answered(session, act.person):
            return self._views.assessment_form(
                session, pack, act.lang, open_=False, notice=Notice("error.already_assessed", {})
            )
        return self._views.assessment_form(session, pack, act.lang, open_=True)

    async def _assess_submit(self, act: ActionContext) -> Card:
        session = await self._signin.concluded_by_keys(act.data)
        pack = self._dialogue.pack(session, act.lang)
        await self._assessment.submit(session, act.person, pack, act.data)
        return self._views.assessment_form(
            session, pack, act.lang, open_=False, notice=Notice("notice.assessed", {})
        )

    async def _results(self, act: ActionContext) -> Card:
        session = await self._signin.by_keys(act.data)
        pack = self._dialogue.pack(session, act.lang)
        results = await self._assessment.results(session, act.person, pack)
        return self._views.results(session, pack, act.lang, results)

    async def _remind(self, act: ActionContext) -> Card:
        session = await self._signin.by_keys(act.data)
        sent = await self.start_reminders(session, act.person)
        notice = (
            Notice("notice.reminders", {})
            if sent
            else Notice("notice.reminders_closed", {}, "warning")
        )
        return await self._dialogue_views.agenda(
            session, act.lang, person=act.person, notice=notice
        )

    async def start_reminders(self, session: SessionRecord, caller: Person) -> bool:
        """Remind, in personal chat, those who signed in and have not answered (leader only).

        False, and nobody reminded, once the assessment is closed.
        """
        if not await self._assessment.may_remind(session, caller):
            return False
        self.send_reminders([session])
        return True

    def remindable(self, session: SessionRecord) -> bool:
        """Whether reminding the session's participants may bring answers (without a read)."""
        return self._assessment.remindable(session)

    def send_reminders(self, sessions: list[SessionRecord]) -> None:
        """In the background, remind each held session's participants who have not answered."""

        async def messages() -> AsyncIterator[PersonalMessage]:
            for session in sessions:
                pending = await self._assessment.not_answered(session)
                card = self._views.reminder(session, session.language)
                for row in pending:
                    yield PersonalMessage(
                        service_url=session.service_url,
                        tenant_id=session.tenant_id,
                        bot_id=session.bot_id,
                        user_mri=row.mri,
                        card=card,
                    )

        async def send() -> None:
            sent = await self._outbound.broadcast(messages())
            log.info("assessment reminders sessions=%d sent=%d", len(sessions), sent)

        self._outbound.run(send())

    # Questions -------------------------------------------------------------------------------

    async def _forward(self, act: ActionContext) -> Card:
        session = await self._signin.by_keys(act.data)
        questions = await self._dialogue.questions(session)
        added = await self._queue.forward(session, act.person, questions)
        return await self._dialogue_views.agenda(
            session,
            act.lang,
            person=act.person,
            notice=Notice("notice.forwarded", {"count": added}),
        )

    async def _queue_card(self, person: Person, lang: str, notice: Notice | None = None) -> Card:
        cycle = await self._directory.cycle()
        items = await self._queue.items(person, cycle.year)
        names = await self._directory.names()
        return self._views.queue(items, lang, names, notice)

    async def _answer(self, act: ActionContext) -> Card:
        field = act.data.get("field")
        if not isinstance(field, str) or not field.startswith("reply_") or len(field) > 12:
            raise InvalidInput("error.unknown_question", field="question")
        cycle = act.data.get("cycle")
        if isinstance(cycle, str) and cycle.isdecimal():
            cycle = int(cycle)
        if not isinstance(cycle, int) or isinstance(cycle, bool):
            raise InvalidInput("error.unknown_question", field="question")
        item = await self._queue.answer(
            act.person, cycle, act.data.get("key"), {"reply": act.data.get(field)}
        )
        delivered = await self._outbound.personal(
            service_url=item.service_url,
            tenant_id=item.tenant_id,
            bot_id=act.turn_context.activity.recipient.id,
            user_mri=item.leader_mri,
            card=self._views.reply(item, act.lang),
        )
        key = "notice.answer_sent" if delivered else "notice.answer_stored"
        return await self._queue_card(
            act.person,
            act.lang,
            Notice(key, {"leader": item.leader_name}, "good" if delivered else "warning"),
        )

    async def _share(self, act: ActionContext) -> Card:
        """The leader shares the Ethics Office's answer with the session's meeting chat."""
        item, session, claimed = await self._queue.share(
            act.person, act.data.get("cycle"), act.data.get("key")
        )
        if not claimed:
            return self._views.reply(item, act.lang, Notice("notice.reply_already_shared", {}))
        delivered = await self._outbound.to_chat(
            service_url=session.service_url,
            tenant_id=session.tenant_id,
            bot_id=session.bot_id,
            conversation_id=session.conversation_id,
            card=self._views.shared_answer(item, session.language),
        )
        if not delivered:
            # Not posted: the claim goes back, and the button stays for another try.
            item = await self._queue.unshare(item)
            return self._views.reply(
                item, act.lang, Notice("notice.reply_not_shared", {}, "warning")
            )
        return self._views.reply(item, act.lang, Notice("notice.reply_shared", {}, "good"))

    # Commands --------------------------------------------------------------------------------

    def commands(self) -> dict[str, Command]:
        """`remind` (leader, meeting chat), `feedback` (leader), `questions` (Ethics Office)."""
        return {
            "remind": Command(self._remind_command, IN_MEETING),
            "feedback": Command(self._feedback_command, IN_PERSONAL),
            "questions": Command(self._questions_command, IN_PERSONAL),
        }

    async def _feedback_command(self, turn_context: TurnContext, lang: str) -> None:
        person = _typed_by(turn_context)
        sessions = await self._signin.led_by(person)
        rows = [(s, await self._feedback.latest(s)) for s in sessions]
        names = await self._directory.names()
        await send_card(turn_context, self._views.my_sessions(rows, lang, names))

    async def _questions_command(self, turn_context: TurnContext, lang: str) -> None:
        await send_card(turn_context, await self._queue_card(_typed_by(turn_context), lang))

    async def _remind_command(self, turn_context: TurnContext, lang: str) -> None:
        person = _typed_by(turn_context)
        session = await active_session(self._signin, turn_context.activity)
        sent = await self.start_reminders(session, person)
        key = "notice.reminders" if sent else "notice.reminders_closed"
        await turn_context.send_activity(self._replies.text(lang, key))

    async def post_conclusion_reminder(
        self, turn_context: TurnContext, session: SessionRecord
    ) -> None:
        """At conclusion, a card in the meeting chat asks participants to assess the facilitator."""
        await send_card(turn_context, self._views.reminder(session, session.language))


def _typed_by(turn_context: TurnContext) -> Person:
    """Who typed the command; a message without a Teams user id can do nothing here."""
    person = person_of(turn_context.activity)
    if person is None:
        raise NotAllowed("error.leader_only")
    return person
