"""Card actions of the sign-in sheet (Appendix A)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.session.reminders import leader_zone
from bot.session.shared_cards import SharedCards
from bot.session.views import DialogueViews
from bot.signin.views import PARTICIPANT, MeetingHint, SignInViews, sheet_audience, viewer_role
from bot.teams.context import (
    IN_MEETING,
    ActionContext,
    Card,
    Command,
    Handler,
    local_today,
    send_card,
)
from bot.teams.graph import CHANNEL, NOT_CONFIGURED, GraphClient, GraphError
from bot.teams.identity import display_name, is_group_chat, person_of, tenant_of
from bot.teams.meetings import MeetingApi
from bot.teams.replies import Notice, Replies
from dialogs.attendance_report import AttendanceReconciler, ReportAttendee
from dialogs.common import require_leader
from dialogs.errors import DialogueError, NoSession, NotAllowed, NotSaved
from dialogs.leadership import SetupRequests
from dialogs.session import DialogueService
from dialogs.signin import Chat, Sheet, SignInService
from storage.errors import StorageUnavailable
from storage.records import Person, SessionRecord

log = logging.getLogger(__name__)

# Paged members: Teams serves at most 500 a page; a meeting chat rarely has more than a few pages.
_ROSTER_PAGE = 200
_ROSTER_MAX_PAGES = 20


class SignInActions:
    """Setup, sign-in, undo, the leader's and monitor's controls."""

    def __init__(
        self,
        signin: SignInService,
        dialogue: DialogueService,
        signin_views: SignInViews,
        dialogue_views: DialogueViews,
        shared: SharedCards,
        clock: Callable[[], datetime],
        setups: SetupRequests,
        replies: Replies,
        meetings: MeetingApi | None = None,
        graph: GraphClient | None = None,
    ) -> None:
        # The meeting APIs, where the app has them (None: every chat is a plain group chat).
        self._meetings = meetings
        self._replies = replies
        # None without app credentials (--dev): the comparison says it is unavailable.
        self._graph = graph
        self._reconciler = AttendanceReconciler(signin)
        self._setups = setups
        self._signin = signin
        self._dialogue = dialogue
        self._signin_views = signin_views
        self._dialogue_views = dialogue_views
        self._shared = shared
        self._clock = clock

    def verbs(self) -> dict[str, Handler]:
        """The verbs this module answers."""
        return {
            "setup.submit": self._setup_submit,
            "signin.view": self._view,
            "signin": self._sign_in,
            "signin.undo": self._undo,
            "attendance.add": self._add,
            "attendance.remove": self._remove,
            "attendance.import": self._import,
            "attendance.import_confirm": self._import_confirm,
            "attendance.confirm_hints": self._confirm_hints,
            "session.monitor": self._monitor,
            "session.facilitator": self._facilitator,
            "signin.close": self._close,
            "signin.reopen": self._reopen,
            "attendance.report": self._report,
            "attendance.report_add": self._report_add,
        }

    def commands(self) -> dict[str, Command]:
        """`start` (the setup card) and `sheet` (the sheet again, at the bottom of the chat)."""
        return {
            "start": Command(self._start, IN_MEETING),
            "sheet": Command(self._repost_sheet, IN_MEETING),
        }

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The card the person was looking at, as their role shows it, with the reason.

        The setup form comes back only to whoever asked for it (others are refused before).
        """
        if act.verb == "setup.submit":
            return await self._signin_views.setup(
                act.lang, local_today(act.turn_context, self._clock), act.data, notice
            )
        if act.verb == "attendance.import_confirm":
            session = await self._signin.for_card(act.conversation_id, act.data.get("sid"))
            if session.is_leader(act.person.aad_id):
                # Nothing ticked: the checklist again, the reason above it.
                members = await chat_roster(act.turn_context)
                candidates = await self._signin.roster_candidates(session, act.person, members)
                return self._signin_views.roster_card(session, candidates, act.lang, notice)
        sheet = await self._signin.sheet_for_card(act.conversation_id, act.data.get("sid"))
        return await self._signin_views.sheet(sheet, act.person, act.lang, notice)

    async def _session(self, act: ActionContext) -> SessionRecord:
        return await self._signin.for_card(act.conversation_id, act.data.get("sid"))

    async def _setup_submit(self, act: ActionContext) -> Card:
        activity = act.turn_context.activity
        if not is_group_chat(activity):
            raise NoSession("error.not_in_chat")
        card_id = activity.reply_to_id
        if not card_id:
            raise NoSession("error.unknown_action")
        # Before anything is read from the card: whoever submits it becomes the leader.
        await self._setups.require_requester(act.conversation_id, card_id, act.person)
        chat = Chat(
            conversation_id=act.conversation_id,
            tenant_id=tenant_of(activity),
            service_url=activity.service_url,
            bot_id=activity.recipient.id,
        )
        sheet = await self._signin.start(
            chat, card_id, act.person, act.data, local_today(act.turn_context, self._clock)
        )
        await self._setups.used(act.conversation_id)
        session = sheet.session
        self._shared.sheet(session)
        if not session.agenda_card_id:
            # The session plan follows the sheet as its own message; the clock starts now.
            agenda = await self._dialogue_views.agenda(
                session, session.language, audience=sheet_audience(sheet)
            )
            posted = await send_card(act.turn_context, agenda)
            if posted is not None and posted.id:
                session = await self._dialogue.begin(session, posted.id)
        notice = Notice("notice.started", {})
        split = await self._signin.split_warning(session)
        if split:
            # A notice, not a refusal: only the leader and the focal point can judge the split.
            notice = Notice("notice.started_split", {"units": ", ".join(split)}, "warning")
        return await self._signin_views.sheet(
            Sheet(session, sheet.rows), act.person, act.lang, notice
        )

    async def _view(self, act: ActionContext) -> Card:
        # Teams' refresh ("automatic") or "Show my view": each person's own view, never a
        # refusal; the session and the sheet are read together.
        sheet = await self._signin.sheet_for_card(act.conversation_id, act.data.get("sid"))
        return await self._signin_views.sheet(sheet, act.person, act.lang, None)

    async def _sign_in(self, act: ActionContext) -> Card:
        # The session and its headcount in one round trip, then the write: two in all. The
        # participant's card shows the count and their own row, which the write gave.
        before = await self._signin.sheet_for_card(
            act.conversation_id, act.data.get("sid"), names=False
        )
        session = before.session
        sheet, had_row = await self._signin.sign_in(session, act.person, act.data, before=before)
        self._shared.sheet(session)
        key = "notice.details_saved" if had_row else "notice.signed_in"
        viewer = None
        if viewer_role(sheet, act.person) != PARTICIPANT:
            try:
                sheet = await self._signin.sheet(session)  # a monitor's card names everyone
            except StorageUnavailable:
                viewer = PARTICIPANT  # they are signed in: say so rather than fail
        return await self._signin_views.sheet(
            sheet, act.person, act.lang, Notice(key, {}), viewer=viewer
        )

    async def _undo(self, act: ActionContext) -> Card:
        session = await self._session(act)
        was_in = (await self._signin.sheet(session)).find(act.person.aad_id) is not None
        sheet = await self._signin.undo(session, act.person)
        self._shared.sheet(session)
        key = "notice.undone" if was_in else "notice.not_signed_in"
        return await self._signin_views.sheet(sheet, act.person, act.lang, Notice(key, {}))

    async def _add(self, act: ActionContext) -> Card:
        session = await self._session(act)
        sheet, name, added = await self._signin.add_named(session, act.person, act.data)
        self._shared.sheet(session)
        key = "notice.added" if added else "notice.already_listed"
        return await self._signin_views.sheet(
            sheet, act.person, act.lang, Notice(key, {"name": name})
        )

    async def _remove(self, act: ActionContext) -> Card:
        session = await self._session(act)
        sheet = await self._signin.remove(session, act.person, act.data.get("remove_key"))
        self._shared.sheet(session)
        return await self._signin_views.sheet(
            sheet, act.person, act.lang, Notice("notice.removed", {})
        )

    async def _import(self, act: ActionContext) -> Card:
        """The chat's members as a checklist: being in the chat is not being in the session."""
        session = await self._session(act)
        # Checked before asking Teams for the roster: a refusal costs no connector call.
        require_leader(session, act.person)
        members = await chat_roster(act.turn_context)
        candidates = await self._signin.roster_candidates(session, act.person, members)
        return self._signin_views.roster_card(session, candidates, act.lang)

    async def _import_confirm(self, act: ActionContext) -> Card:
        session = await self._session(act)
        require_leader(session, act.person)
        chosen = str(act.data.get("roster_pick") or "").split(",")
        # The roster is read again: the ticked ids must still be the chat's members.
        members = await chat_roster(act.turn_context)
        sheet, added = await self._signin.import_roster(session, act.person, members, chosen)
        self._shared.sheet(session)
        notice = Notice("notice.imported", {"count": added})
        return await self._signin_views.sheet(sheet, act.person, act.lang, notice)

    async def _confirm_hints(self, act: ActionContext) -> Card:
        session = await self._session(act)
        sheet, added = await self._signin.confirm_hints(session, act.person)
        self._shared.sheet(session)
        notice = Notice("notice.hints_confirmed", {"count": added})
        return await self._signin_views.sheet(sheet, act.person, act.lang, notice)

    async def _monitor(self, act: ActionContext) -> Card:
        session = await self._session(act)
        sheet = await self._signin.name_monitor(session, act.person, act.data.get("monitor_key"))
        self._shared.sheet(sheet.session)
        name = sheet.session.monitors[0].name if sheet.session.monitors else ""
        notice = Notice("notice.monitor", {"name": name})
        return await self._signin_views.sheet(sheet, act.person, act.lang, notice)

    async def _facilitator(self, act: ActionContext) -> Card:
        session = await self._session(act)
        # The sheet's one chooser (`monitor_key`) names the monitor or the facilitator; the
        # withdraw button carries `facilitator_key`.
        key = act.data.get("facilitator_key", act.data.get("monitor_key"))
        sheet = await self._signin.name_facilitator(session, act.person, key)
        self._shared.sheet(sheet.session)
        # The plan, scenario and poll cards now ask Teams for the facilitator's view too.
        self._shared.agenda(sheet.session)
        self._shared.scenario(sheet.session)
        named = sheet.session.facilitator
        notice = (
            Notice("notice.facilitator", {"name": named.name})
            if named
            else Notice("notice.facilitator_withdrawn", {})
        )
        return await self._signin_views.sheet(sheet, act.person, act.lang, notice)

    async def _close(self, act: ActionContext) -> Card:
        sheet = await self._signin.close(await self._session(act), act.person)
        self._shared.sheet(sheet.session)
        self._shared.totals(sheet.session)
        return await self._signin_views.sheet(
            sheet, act.person, act.lang, Notice("notice.closed", {})
        )

    async def _reopen(self, act: ActionContext) -> Card:
        sheet = await self._signin.reopen(await self._session(act), act.person)
        self._shared.sheet(sheet.session)
        self._shared.totals(sheet.session)
        return await self._signin_views.sheet(
            sheet, act.person, act.lang, Notice("notice.reopened", {})
        )

    async def _report(self, act: ActionContext) -> Card:
        session = await self._session(act)
        try:
            compared = await self._reconciler.compare(
                session, act.person, self._fetch(act, session)
            )
        except GraphError as error:
            return await self._report_failed(act, session, error)
        return await self._signin_views.report(compared, act.lang)

    async def _report_add(self, act: ActionContext) -> Card:
        session = await self._session(act)
        try:
            compared = await self._reconciler.add(
                session, act.person, act.data.get("report_key"), self._fetch(act, session)
            )
        except GraphError as error:
            return await self._report_failed(act, session, error)
        if not compared.already:
            self._shared.sheet(session)
        added = compared.added
        name = added.name if added else ""
        key = "notice.already_listed" if compared.already else "notice.added"
        return await self._signin_views.report(compared, act.lang, Notice(key, {"name": name}))

    def _fetch(self, act: ActionContext, session: SessionRecord) -> Callable[..., Any]:
        graph = self._graph
        kind = getattr(act.turn_context.activity.conversation, "conversation_type", None)

        async def fetch() -> list[ReportAttendee]:
            if graph is None:
                raise GraphError(NOT_CONFIGURED)
            # A channel's meetings share one report list (Graph lists every meeting's).
            if kind == "channel":
                raise GraphError(CHANNEL)
            return await graph.attendance(session.tenant_id, session.conversation_id)

        return fetch

    async def _report_failed(
        self, act: ActionContext, session: SessionRecord, error: GraphError
    ) -> Card:
        log.info("attendance report not read reason=%s status=%s", error.reason, error.status)
        sheet = await self._signin.sheet(session)
        notice = Notice(f"attreport.{error.reason}", {}, "attention")
        return await self._signin_views.sheet(sheet, act.person, act.lang, notice)

    # Typed commands --------------------------------------------------------------------------

    async def _start(self, turn_context: TurnContext, lang: str) -> None:
        activity = turn_context.activity
        if not is_group_chat(activity):
            await turn_context.send_activity(self._replies.text(lang, "msg.start_personal"))
            return
        person = person_of(activity)
        if person is None:
            raise NotAllowed("error.leader_only")
        active = await self._signin.active(activity.conversation.id)
        if active is not None:
            raise DialogueError("error.session_exists", leader=active.leader.name)
        today = local_today(turn_context, self._clock)
        values, hint = await self._meeting_prefill(turn_context, person)
        setup = await self._signin_views.setup(lang, today, values, meeting=hint)
        posted = await send_card(turn_context, setup)
        if posted is None or not posted.id:
            # Without the message id the card cannot be tied to who asked for it.
            raise NotSaved("error.not_saved")
        # Only the person who typed `start` may submit this card (and so become its leader).
        await self._setups.asked(activity.conversation.id, posted.id, person)

    async def _meeting_prefill(
        self, turn_context: TurnContext, person: Person
    ) -> tuple[dict[str, Any] | None, MeetingHint | None]:
        """The setup form's date and hints from the meeting; nothing when Teams says nothing."""
        if self._meetings is None:
            return None, None
        details = await self._meetings.details(turn_context)
        if details is None:
            return None, None
        zone = leader_zone(turn_context)
        start = details.scheduled_start.astimezone(zone) if details.scheduled_start else None
        end = details.scheduled_end.astimezone(zone) if details.scheduled_end else None
        is_requester = bool(details.organizer_aad_id) and details.organizer_aad_id == person.aad_id
        organizer_name = ""
        if details.organizer_aad_id and not is_requester:
            found = await self._meetings.participant(turn_context, details.organizer_aad_id)
            organizer_name = found.name if found is not None else ""
        hint = MeetingHint(details.title, start, end, organizer_name, is_requester)
        return ({"date": start.date().isoformat()} if start else None), hint

    async def _repost_sheet(self, turn_context: TurnContext, lang: str) -> None:
        session = await active_session(self._signin, turn_context.activity)
        sheet = await self._signin.sheet(session)
        posted = await send_card(
            turn_context, await self._signin_views.sheet(sheet, None, session.language)
        )
        if posted is not None and posted.id:
            # Later updates go to the newest card, the one people see at the bottom of the chat.
            await self._signin.move_card(session, posted.id)

    # Meeting events --------------------------------------------------------------------------

    async def joined(
        self, conversation_id: str, people: list[Person], turn_context: TurnContext | None = None
    ) -> None:
        """People who joined the meeting become hints on the sheet the leader can confirm.

        Where Teams' participant API says a person is in the meeting, their hint says so.
        """
        meetings = self._meetings

        async def in_meeting(person: Person) -> bool:
            if meetings is None or turn_context is None:
                return False
            found = await meetings.participant(turn_context, person.aad_id)
            return found is not None and found.in_meeting

        if await self._signin.record_join(conversation_id, people, in_meeting):
            session = await self._signin.active(conversation_id)
            if session is not None:
                self._shared.sheet(session)


async def active_session(signin: SignInService, activity: Activity) -> SessionRecord:
    """The session under way in the chat a command was typed in."""
    if not is_group_chat(activity):
        raise NoSession("error.not_in_chat")
    session = await signin.active(activity.conversation.id)
    if session is None:
        raise NoSession("error.no_session")
    return session


async def chat_roster(turn_context: TurnContext) -> list[Person]:
    """The chat's members, page by page, as Teams' Bot Connector lists them."""
    people: list[Person] = []
    token: str | None = None
    try:
        for _ in range(_ROSTER_MAX_PAGES):
            page = await TeamsInfo.get_paged_members(turn_context, token, _ROSTER_PAGE)
            for member in page.members or []:
                if member.aad_object_id and member.id != turn_context.activity.recipient.id:
                    people.append(
                        Person(
                            str(member.aad_object_id).lower(),
                            member.id,
                            display_name(member.name),
                        )
                    )
            token = page.continuation_token
            if not token:
                break
    except (HttpOperationError, ClientRequestError) as error:
        log.warning("roster request failed: %s", type(error).__name__)
        raise DialogueError("error.roster_failed") from error
    return people
