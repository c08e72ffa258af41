"""The Teams activity handler: turns activities into service calls and results into cards."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity

from bot.session.screens import Screens
from bot.session.shared_cards import SharedCards
from bot.settings import Settings
from bot.teams.context import ActionContext, Card, Handler, card_response, local_today, send_card
from bot.teams.identity import display_name, is_group_chat, person_of
from bot.teams.replies import Notice
from cards.catalog import LANGUAGES, resolve_language
from dialogs.errors import DialogueError, NoSession, NotAllowed, NotSaved
from dialogs.leadership import SetupRequests
from dialogs.signin import SignInService
from storage.errors import StorageUnavailable
from storage.records import Person, SessionRecord

log = logging.getLogger(__name__)

CARD_ACTION = "adaptiveCard/action"
JOIN_EVENT = "application/vnd.microsoft.meetingParticipantJoin"
_OWN_COMMANDS = ("start", "help", "sheet", "agenda", "end")


def told(error: DialogueError | StorageUnavailable) -> DialogueError:
    """What the person hears: a refusal as it is, a storage failure as "not saved, try again".

    This is the one place a storage failure becomes words; the rules let it travel up.
    """
    if isinstance(error, StorageUnavailable):
        log.warning("storage unavailable: %s", error)
        return NotSaved("error.not_saved")
    return error


class ActionModule(Protocol):
    """A group of card verbs with a way to show a refusal on the card they belong to."""

    def verbs(self) -> dict[str, Handler]: ...

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None: ...


class CommandModule(Protocol):
    """Answers typed commands the handler does not answer itself."""

    async def command(self, name: str, turn_context: TurnContext, lang: str) -> None: ...


class DialogueBot(TeamsActivityHandler):
    """Routes messages, card actions and meeting events to the Dialogue's services."""

    def __init__(
        self,
        settings: Settings,
        signin: SignInService,
        screens: Screens,
        shared: SharedCards,
        modules: list[ActionModule],
        commands: dict[str, CommandModule],
        clock: Callable[[], datetime],
        setups: SetupRequests,
    ) -> None:
        self._commands = commands
        self._setups = setups
        self._settings = settings
        self._signin = signin
        self._screens = screens
        self._views = screens.views
        self._shared = shared
        self._clock = clock
        self._actions: dict[str, tuple[Handler, ActionModule]] = {}
        for module in modules:
            for verb, handler in module.verbs().items():
                assert verb not in self._actions, f"verb {verb} handled twice"
                self._actions[verb] = (handler, module)
        names = (*_OWN_COMMANDS, *commands)
        self._command_words = {
            self._views.text(lang, f"command.{name}").casefold(): name
            for lang in LANGUAGES
            for name in names
        }
        self._command_langs = {
            self._views.text(lang, f"command.{name}").casefold(): lang
            for lang in reversed(LANGUAGES)
            for name in names
        }

    @property
    def verbs(self) -> tuple[str, ...]:
        """Every card verb this bot answers."""
        return tuple(self._actions)

    # Messages --------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Commands typed in a chat (in a group chat only those that mention the bot arrive)."""
        activity = turn_context.activity
        raw = activity.text if isinstance(activity.text, str) else ""
        text = ((TurnContext.remove_recipient_mention(activity) if raw else "") or raw).strip()
        word = text.split()[0].casefold() if text else ""
        command = self._command_words.get(word, "")
        lang = resolve_language(activity.locale)
        if command and self._command_langs[word] != "en":
            # A French or Spanish command word is a clear wish for that language.
            lang = self._command_langs[word]
        log.info("command=%s", command or "unknown")
        try:
            if command == "start":
                await self._start(turn_context, lang)
            elif command == "sheet":
                await self._repost_sheet(turn_context)
            elif command == "agenda":
                await self._repost_agenda(turn_context)
            elif command == "end":
                await self._end(turn_context, lang)
            elif command in self._commands:
                await self._commands[command].command(command, turn_context, lang)
            else:
                card = self._views.help(
                    lang,
                    in_personal=not is_group_chat(activity),
                    unknown=text if command != "help" and text else "",
                )
                await send_card(turn_context, card)
        except (DialogueError, StorageUnavailable) as error:
            notice = Notice.of(told(error))
            await turn_context.send_activity(self._views.notice_text(lang, notice))

    async def _start(self, turn_context: TurnContext, lang: str) -> None:
        activity = turn_context.activity
        if not is_group_chat(activity):
            await turn_context.send_activity(self._views.text(lang, "msg.start_personal"))
            return
        person = person_of(activity)
        if person is None:
            raise NotAllowed("error.leader_only")
        active = await self._signin.active(activity.conversation.id)
        if active is not None:
            raise DialogueError("error.session_exists", leader=active.leader.name)
        posted = await send_card(
            turn_context, await self._screens.setup(lang, local_today(turn_context, self._clock))
        )
        if posted is None or not posted.id:
            # Without the message id the card cannot be tied to who asked for it.
            raise NotSaved("error.not_saved")
        # Only the person who typed `start` may submit this card (and so become its leader).
        await self._setups.asked(activity.conversation.id, posted.id, person)

    async def _repost_sheet(self, turn_context: TurnContext) -> None:
        session = await self._require_active(turn_context.activity)
        sheet = await self._signin.sheet(session)
        posted = await send_card(
            turn_context, await self._screens.sheet_for(sheet, None, session.language)
        )
        if posted is not None and posted.id:
            # Later updates go to the newest card, the one people see at the bottom of the chat.
            await self._signin.move_card(session, posted.id)

    async def _repost_agenda(self, turn_context: TurnContext) -> None:
        session = await self._require_active(turn_context.activity)
        posted = await send_card(
            turn_context, await self._screens.agenda(session, session.language)
        )
        if posted is not None and posted.id:
            await self._signin.move_agenda(session, posted.id)

    async def _end(self, turn_context: TurnContext, lang: str) -> None:
        activity = turn_context.activity
        session = await self._require_active(activity)
        person = person_of(activity)
        if person is None:
            raise NotAllowed("error.leader_only")
        sheet = await self._signin.end(session, person)
        self._shared.sheet(sheet.session)
        self._shared.agenda(sheet.session)
        self._shared.totals(sheet.session)
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
            # The bot offers no task modules or message extensions: say so, without letting
            # the SDK deserialize a value it would choke on.
            return InvokeResponse(status=501)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        verb = action.get("verb")
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        route = self._actions.get(verb) if isinstance(verb, str) else None
        lang = resolve_language(activity.locale)
        person = person_of(activity)
        log.info("card action verb=%s", verb if route else "unknown")
        if route is None or person is None:
            return card_response(self._views.notice(lang, Notice("error.unknown_action", {})))
        handler, module = route
        act = ActionContext(turn_context, person, verb, data)
        try:
            card = await handler(act)
        except (DialogueError, StorageUnavailable) as error:
            card = await self._refusal(act, module, told(error))
        return card_response(card)

    async def _refusal(
        self, act: ActionContext, module: ActionModule, error: DialogueError
    ) -> Card:
        """The card the person was looking at, with the reason; a plain notice if it is gone.

        A caller lacking the role, or naming a session that is not there, gets the reason alone:
        a re-rendered card would be built from data they are not entitled to (the leader's
        Appendix C, its prefill), and what they typed needs no keeping.
        """
        notice = Notice.of(error)
        if isinstance(error, NotAllowed | NoSession):
            return self._views.notice(act.lang, notice)
        try:
            card = await module.refusal(act, notice)
        except (DialogueError, StorageUnavailable):
            card = None
        return card if card is not None else self._views.notice(act.lang, notice)

    # Installation and meeting events ---------------------------------------------------------

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """Introduce the bot when it is added to a chat; ignore other membership changes.

        The SDK's own handler looks every added member up and deserializes channelData.team:
        neither is needed here, and both fail on odd payloads.
        """
        activity = turn_context.activity
        bot_id = getattr(activity.recipient, "id", None)
        added = activity.members_added if isinstance(activity.members_added, list) else []
        if bot_id and any(getattr(member, "id", None) == bot_id for member in added):
            lang = resolve_language(turn_context.activity.locale)
            card = self._views.help(lang, in_personal=not is_group_chat(turn_context.activity))
            await send_card(turn_context, card)

    async def on_message_update_activity(self, turn_context: TurnContext) -> None:
        """Edited messages change nothing the bot keeps."""
        return None

    async def on_message_delete_activity(self, turn_context: TurnContext) -> None:
        """Deleted messages change nothing the bot keeps."""
        return None

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
                        display_name(user.get("name")),
                    )
                )
        try:
            if people and await self._signin.record_join(activity.conversation.id, people):
                session = await self._signin.active(activity.conversation.id)
                if session is not None:
                    self._shared.sheet(session)
        except (DialogueError, StorageUnavailable):
            log.warning("meeting join hints not stored")
        return None
