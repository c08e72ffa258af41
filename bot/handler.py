"""The Teams activity handler: turns activities into service calls and results into cards."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, AdaptiveCardInvokeResponse
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.card_updates import CardUpdater
from bot.identity import is_group_chat, person_of, tenant_of
from bot.settings import Settings
from bot.views import LEADER, MONITOR, PARTICIPANT, Notice, Views, viewer_role
from cards.catalog import LANGUAGES, resolve_language
from cards.renderer import CARD_CONTENT_TYPE
from dialogs.errors import DialogueError, NoSession
from dialogs.signin import Chat, Sheet, SignInService
from storage.records import Person, SessionRecord

log = logging.getLogger(__name__)

CARD_ACTION = "adaptiveCard/action"
JOIN_EVENT = "application/vnd.microsoft.meetingParticipantJoin"
_COMMANDS = ("start", "help", "sheet", "end")
# Paged members: Teams serves at most 500 a page; a meeting chat rarely has more than a few pages.
_ROSTER_PAGE = 200
_ROSTER_MAX_PAGES = 20

Card = dict[str, Any]
Handler = Callable[["_Action"], Awaitable[Card]]


class _Action:
    """One card action being handled: who, where, what they submitted."""

    def __init__(self, turn_context: TurnContext, person: Person, data: dict[str, Any]) -> None:
        self.turn_context = turn_context
        self.person = person
        self.data = data
        activity = turn_context.activity
        self.lang = resolve_language(activity.locale)
        self.conversation_id = activity.conversation.id
        self.automatic = isinstance(activity.value, dict) and activity.value.get("trigger") == (
            "automatic"
        )


class DialogueBot(TeamsActivityHandler):
    """Routes messages, card actions and meeting events to the Dialogue's services."""

    def __init__(
        self,
        settings: Settings,
        signin: SignInService,
        views: Views,
        updater: CardUpdater,
        clock: Callable[[], datetime],
    ) -> None:
        self._settings = settings
        self._signin = signin
        self._views = views
        self._updater = updater
        self._clock = clock
        self._actions: dict[str, Handler] = {
            "setup.submit": self._setup_submit,
            "signin.view": self._view,
            "signin": self._sign_in,
            "signin.undo": self._undo,
            "attendance.add": self._add,
            "attendance.remove": self._remove,
            "attendance.import": self._import,
            "attendance.confirm_hints": self._confirm_hints,
            "session.monitor": self._monitor,
            "signin.close": self._close,
            "signin.reopen": self._reopen,
        }
        self._command_words = {
            views.text(lang, f"command.{name}").casefold(): (name, lang)
            for lang in LANGUAGES
            for name in _COMMANDS
        }

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Refuse tenants not on the allow-list before anything else runs."""
        activity = turn_context.activity
        if not self._settings.tenant_allowed(tenant_of(activity)):
            log.warning(
                "refused activity from a tenant not on the allow-list type=%s", activity.type
            )
            if activity.type == ActivityTypes.invoke:
                await _send_invoke_response(turn_context, InvokeResponse(status=403))
            return
        await super().on_turn(turn_context)

    # Messages --------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Commands typed in a chat (in a group chat only those that mention the bot arrive)."""
        activity = turn_context.activity
        text = (TurnContext.remove_recipient_mention(activity) or activity.text or "").strip()
        word = text.split()[0].casefold() if text else ""
        command, lang = self._command_words.get(word, ("", resolve_language(activity.locale)))
        if word in self._command_words and word == self._views.text("en", f"command.{command}"):
            # English words are also the fallback: answer in the person's own language.
            lang = resolve_language(activity.locale)
        log.info("command=%s", command or "unknown")
        try:
            if command == "start":
                await self._start(turn_context, lang)
            elif command == "sheet":
                await self._repost_sheet(turn_context, lang)
            elif command == "end":
                await self._end(turn_context, lang)
            else:
                card = self._views.help(
                    lang,
                    in_personal=not is_group_chat(activity),
                    unknown=text if command != "help" and text else "",
                )
                await _send_card(turn_context, card)
        except DialogueError as error:
            await turn_context.send_activity(self._views.notice_text(lang, Notice.of(error)))

    async def _start(self, turn_context: TurnContext, lang: str) -> None:
        activity = turn_context.activity
        if not is_group_chat(activity):
            await turn_context.send_activity(self._views.text(lang, "msg.start_personal"))
            return
        active = await self._signin.active(activity.conversation.id)
        if active is not None:
            raise _session_exists(active)
        await _send_card(turn_context, self._views.setup(lang, self._today(activity)))

    async def _repost_sheet(self, turn_context: TurnContext, lang: str) -> None:
        activity = turn_context.activity
        session = await self._require_active(activity)
        sheet = await self._signin.sheet(session)
        response = await _send_card(turn_context, self._views.sheet(sheet, session.language))
        if response is not None and response.id:
            # Later updates go to the newest card, the one people see at the bottom of the chat.
            await self._signin.move_card(session, response.id)

    async def _end(self, turn_context: TurnContext, lang: str) -> None:
        activity = turn_context.activity
        session = await self._require_active(activity)
        person = _require_person(activity)
        sheet = await self._signin.end(session, person)
        self._updater.schedule(sheet.session)
        await turn_context.send_activity(self._views.text(lang, "msg.ended", count=sheet.count))

    async def _require_active(self, activity: Activity) -> SessionRecord:
        if not is_group_chat(activity):
            raise NoSession("error.not_in_chat")
        session = await self._signin.active(activity.conversation.id)
        if session is None:
            raise NoSession("error.no_session")
        return session

    # Card actions ----------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Answer Action.Execute with the updated card (the SDK's own path answers 500)."""
        activity = turn_context.activity
        if activity.name != CARD_ACTION:
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        verb = action.get("verb")
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        handler = self._actions.get(verb) if isinstance(verb, str) else None
        lang = resolve_language(activity.locale)
        person = person_of(activity)
        log.info("card action verb=%s", verb if handler else "unknown")
        if handler is None or person is None:
            return _card_response(self._notice_card(lang, Notice("error.unknown_action", {})))
        act = _Action(turn_context, person, data)
        try:
            card = await handler(act)
        except DialogueError as error:
            card = await self._refusal_card(act, verb, error)
        return _card_response(card)

    async def _refusal_card(self, act: _Action, verb: str, error: DialogueError) -> Card:
        """The card the person was looking at, with the reason their action was refused."""
        notice = Notice.of(error)
        if verb == "setup.submit":
            return self._views.setup(
                act.lang, self._today(act.turn_context.activity), act.data, notice
            )
        try:
            session = await self._signin.for_card(act.conversation_id, act.data.get("sid"))
            sheet = await self._signin.sheet(session)
        except DialogueError:
            return self._notice_card(act.lang, notice)
        return self._personal_view(sheet, act, notice)

    async def _setup_submit(self, act: _Action) -> Card:
        activity = act.turn_context.activity
        if not is_group_chat(activity):
            raise NoSession("error.not_in_chat")
        card_id = activity.reply_to_id
        if not card_id:
            raise NoSession("error.unknown_action")
        chat = Chat(
            conversation_id=act.conversation_id,
            tenant_id=tenant_of(activity),
            service_url=activity.service_url,
            bot_id=activity.recipient.id,
        )
        sheet = await self._signin.start(chat, card_id, act.person, act.data, self._today(activity))
        self._updater.schedule(sheet.session)
        return self._views.sheet(
            sheet, act.lang, viewer=LEADER, notice=Notice("notice.started", {})
        )

    async def _session(self, act: _Action) -> SessionRecord:
        return await self._signin.for_card(act.conversation_id, act.data.get("sid"))

    async def _view(self, act: _Action) -> Card:
        sheet = await self._signin.sheet(await self._session(act))
        role = viewer_role(sheet, act.person)
        if role == PARTICIPANT and not act.automatic and sheet.find(act.person.aad_id) is None:
            # A participant pressed "Leader controls": say why nothing more is shown.
            return self._personal_view(sheet, act, Notice("error.leader_only", {}, "attention"))
        return self._personal_view(sheet, act)

    async def _sign_in(self, act: _Action) -> Card:
        session = await self._session(act)
        had_row = (await self._signin.sheet(session)).find(act.person.aad_id) is not None
        sheet = await self._signin.sign_in(session, act.person, act.data)
        self._updater.schedule(session)
        key = "notice.details_saved" if had_row else "notice.signed_in"
        return self._personal_view(sheet, act, Notice(key, {}))

    async def _undo(self, act: _Action) -> Card:
        session = await self._session(act)
        was_in = (await self._signin.sheet(session)).find(act.person.aad_id) is not None
        sheet = await self._signin.undo(session, act.person)
        self._updater.schedule(session)
        key = "notice.undone" if was_in else "notice.not_signed_in"
        return self._personal_view(sheet, act, Notice(key, {}))

    async def _add(self, act: _Action) -> Card:
        session = await self._session(act)
        sheet, name, added = await self._signin.add_named(session, act.person, act.data)
        self._updater.schedule(session)
        key = "notice.added" if added else "notice.already_listed"
        return self._personal_view(sheet, act, Notice(key, {"name": name}))

    async def _remove(self, act: _Action) -> Card:
        session = await self._session(act)
        sheet = await self._signin.remove(session, act.person, act.data.get("remove_key"))
        self._updater.schedule(session)
        return self._personal_view(sheet, act, Notice("notice.removed", {}))

    async def _import(self, act: _Action) -> Card:
        session = await self._session(act)
        if not session.is_leader(act.person.aad_id):
            # Check before asking Teams for the roster: a refusal costs no connector call.
            raise DialogueError("error.leader_only")
        members = await self._roster(act.turn_context)
        sheet, added = await self._signin.import_roster(session, act.person, members)
        self._updater.schedule(session)
        return self._personal_view(sheet, act, Notice("notice.imported", {"count": added}))

    async def _confirm_hints(self, act: _Action) -> Card:
        session = await self._session(act)
        sheet, added = await self._signin.confirm_hints(session, act.person)
        self._updater.schedule(session)
        return self._personal_view(sheet, act, Notice("notice.hints_confirmed", {"count": added}))

    async def _monitor(self, act: _Action) -> Card:
        session = await self._session(act)
        sheet = await self._signin.name_monitor(session, act.person, act.data.get("monitor_key"))
        self._updater.schedule(sheet.session)
        name = sheet.session.monitors[0].name if sheet.session.monitors else ""
        return self._personal_view(sheet, act, Notice("notice.monitor", {"name": name}))

    async def _close(self, act: _Action) -> Card:
        sheet = await self._signin.close(await self._session(act), act.person)
        self._updater.schedule(sheet.session)
        return self._personal_view(sheet, act, Notice("notice.closed", {}))

    async def _reopen(self, act: _Action) -> Card:
        sheet = await self._signin.reopen(await self._session(act), act.person)
        self._updater.schedule(sheet.session)
        return self._personal_view(sheet, act, Notice("notice.reopened", {}))

    def _personal_view(self, sheet: Sheet, act: _Action, notice: Notice | None = None) -> Card:
        role = viewer_role(sheet, act.person)
        me = sheet.find(act.person.aad_id) if role in (PARTICIPANT, MONITOR) else None
        if role == MONITOR:
            me = None
        return self._views.sheet(sheet, act.lang, viewer=role, me=me, notice=notice)

    def _notice_card(self, lang: str, notice: Notice) -> Card:
        return self._views.notice(lang, notice)

    async def _roster(self, turn_context: TurnContext) -> list[Person]:
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
                                (member.name or "").strip() or "?",
                            )
                        )
                token = page.continuation_token
                if not token:
                    break
        except (HttpOperationError, ClientRequestError) as error:
            log.warning("roster request failed: %s", type(error).__name__)
            raise DialogueError("error.roster_failed") from error
        return people

    async def on_teams_members_added(self, teams_members_added, team_info, turn_context):  # noqa: ANN001, ANN201 - SDK signature
        """Introduce the bot when it is added to a chat, so nobody has to guess the commands."""
        bot_id = turn_context.activity.recipient.id
        if any(member.id == bot_id for member in teams_members_added or []):
            lang = resolve_language(turn_context.activity.locale)
            card = self._views.help(lang, in_personal=not is_group_chat(turn_context.activity))
            await _send_card(turn_context, card)

    # Meeting events --------------------------------------------------------------------------

    async def on_event_activity(self, turn_context: TurnContext) -> None:
        """Meeting-join events become hints the leader can confirm; nothing depends on them."""
        activity = turn_context.activity
        if activity.name != JOIN_EVENT or not isinstance(activity.value, dict):
            return await super().on_event_activity(turn_context)
        # Read the payload directly: the SDK's MeetingParticipantsEventDetails mis-maps members.
        people = []
        for member in activity.value.get("members") or []:
            user = member.get("user") if isinstance(member, dict) else None
            if isinstance(user, dict) and user.get("aadObjectId") and user.get("id"):
                people.append(
                    Person(
                        str(user["aadObjectId"]).lower(),
                        str(user["id"]),
                        str(user.get("name") or "?")[:100],
                    )
                )
        try:
            if people and await self._signin.record_join(activity.conversation.id, people):
                session = await self._signin.active(activity.conversation.id)
                if session is not None:
                    self._updater.schedule(session)
        except DialogueError:
            log.warning("meeting join hints not stored")
        return None

    # Helpers ---------------------------------------------------------------------------------

    def _today(self, activity: Activity) -> date:
        """Today where the person is, when Teams says; else in UTC."""
        local = activity.local_timestamp
        if isinstance(local, datetime) and local.tzinfo is not None:
            return local.date()
        return self._clock().astimezone(UTC).date()


def _require_person(activity: Activity) -> Person:
    person = person_of(activity)
    if person is None:
        raise DialogueError("error.leader_only")
    return person


def _session_exists(session: SessionRecord) -> DialogueError:
    return DialogueError("error.session_exists", leader=session.leader.name)


def _card_response(card: Card) -> InvokeResponse:
    return InvokeResponse(
        status=200,
        body=AdaptiveCardInvokeResponse(status_code=200, type=CARD_CONTENT_TYPE, value=card),
    )


async def _send_card(turn_context: TurnContext, card: Card):  # noqa: ANN202 - SDK type
    return await turn_context.send_activity(
        MessageFactory.attachment(CardFactory.adaptive_card(card))
    )


async def _send_invoke_response(turn_context: TurnContext, response: InvokeResponse) -> None:
    await turn_context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))
