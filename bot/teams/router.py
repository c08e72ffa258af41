"""The Teams activity handler: hands each activity to the journey that answers it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity

from bot.teams.context import (
    IN_MEETING,
    IN_PERSONAL,
    ActionContext,
    Card,
    Command,
    Handler,
    card_response,
    send_card,
)
from bot.teams.identity import display_name, is_group_chat, person_of
from bot.teams.replies import Notice, Replies
from cards.catalog import LANGUAGES, resolve_language
from cards.content import ContentPack
from dialogs.errors import DialogueError, NoSession, NotAllowed, NotSaved
from storage.errors import StorageUnavailable
from storage.records import Person

log = logging.getLogger(__name__)

CARD_ACTION = "adaptiveCard/action"
JOIN_EVENT = "application/vnd.microsoft.meetingParticipantJoin"
# The router's own command: the help card, also its answer to anything it does not know.
HELP = "help"


def told(error: DialogueError | StorageUnavailable) -> DialogueError:
    """What the person hears: a refusal as it is, a storage failure as "not saved, try again".

    This is the one place a storage failure becomes words; the rules let it travel up.
    """
    if isinstance(error, StorageUnavailable):
        log.warning("storage unavailable: %s", error)
        return NotSaved("error.not_saved")
    return error


class Journey(Protocol):
    """One journey of the product: the card verbs and typed commands it answers."""

    def verbs(self) -> dict[str, Handler]: ...

    def commands(self) -> dict[str, Command]: ...

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The card the person was looking at, with the reason (None: the reason alone)."""
        ...


class DialogueBot(TeamsActivityHandler):
    """Routes messages, card actions and meeting events to the journeys that answer them.

    It knows no verb or command by name: each journey registers its own. Its own answer is
    the help card, for `help` and for anything it does not know.
    """

    def __init__(
        self,
        replies: Replies,
        journeys: list[Journey],
        on_join: Callable[[str, list[Person], TurnContext], Awaitable[None]],
        current_pack: Callable[[str], Awaitable[ContentPack]] | None = None,
        events: dict[str, Callable[[TurnContext], Awaitable[None]]] | None = None,
    ) -> None:
        self._replies = replies
        # Other event activities by name (meeting start and end): hints, never relied on.
        self._events = dict(events or {})
        # The cycle's pack, for the help card's tips and Ethics Office contacts.
        self._current_pack = current_pack
        self._on_join = on_join
        self._actions: dict[str, tuple[Handler, Journey]] = {}
        self._commands: dict[str, Command] = {}
        for journey in journeys:
            for verb, handler in journey.verbs().items():
                assert verb not in self._actions, f"verb {verb} handled twice"
                self._actions[verb] = (handler, journey)
            for name, command in journey.commands().items():
                assert name not in self._commands and name != HELP, f"command {name} twice"
                self._commands[name] = command
        names = (HELP, *self._commands)
        self._command_words = {
            replies.text(lang, f"command.{name}").casefold(): name
            for lang in LANGUAGES
            for name in names
        }
        self._command_langs = {
            replies.text(lang, f"command.{name}").casefold(): lang
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
        name = self._command_words.get(word, "")
        lang = resolve_language(activity.locale)
        if name and self._command_langs[word] != "en":
            # A French or Spanish command word is a clear wish for that language.
            lang = self._command_langs[word]
        log.info("command=%s", name or "unknown")
        command = self._commands.get(name)
        try:
            if command is not None:
                await command.answer(turn_context, lang)
            else:
                unknown = text if name != HELP and text else ""
                await send_card(turn_context, await self._help(lang, activity, unknown))
        except (DialogueError, StorageUnavailable) as error:
            notice = Notice.of(told(error))
            await turn_context.send_activity(self._replies.notice_text(lang, notice))

    async def _help(self, lang: str, activity: Activity, unknown: str = "") -> Card:
        """Every registered command, in the order the journeys registered them."""
        pack = None
        if self._current_pack is not None:
            try:
                pack = await self._current_pack(lang)
            except (DialogueError, StorageUnavailable):
                log.warning("help without the cycle's pack: the cycle could not be read")
        return self._replies.help(
            lang,
            in_personal=not is_group_chat(activity),
            meeting=[n for n, c in self._commands.items() if c.typed_in == IN_MEETING],
            personal=[HELP, *(n for n, c in self._commands.items() if c.typed_in == IN_PERSONAL)],
            unknown=unknown,
            pack=pack,
        )

    # Card actions ----------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Answer Action.Execute with the updated card (the SDK's own path answers 500)."""
        activity = turn_context.activity
        if activity.name != CARD_ACTION:
            # The bot offers no task modules or message extensions: say so, without letting
            # the SDK deserialize a value it would choke on.
            return InvokeResponse(status=501)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict):
            action = {}
        verb = action.get("verb")
        data = action.get("data")
        if not isinstance(data, dict):
            data = {}
        route = self._actions.get(verb) if isinstance(verb, str) else None
        lang = resolve_language(activity.locale)
        person = person_of(activity)
        log.info("card action verb=%s", verb if route else "unknown")
        if route is None or person is None:
            return card_response(self._replies.notice(lang, Notice("error.unknown_action", {})))
        handler, journey = route
        act = ActionContext(turn_context, person, str(verb), data)
        try:
            card = await handler(act)
        except (DialogueError, StorageUnavailable) as error:
            card = await self._refusal(act, journey, told(error))
        return card_response(card)

    async def _refusal(self, act: ActionContext, journey: Journey, error: DialogueError) -> Card:
        """The card the person was looking at, with the reason; a plain notice if it is gone.

        A caller lacking the role, or naming a session that is not there, gets the reason alone:
        a re-rendered card would be built from data they are not entitled to (the leader's
        Appendix C, its prefill), and what they typed needs no keeping.
        """
        notice = Notice.of(error)
        if isinstance(error, NotAllowed | NoSession):
            return self._replies.notice(act.lang, notice)
        try:
            card = await journey.refusal(act, notice)
        except (DialogueError, StorageUnavailable):
            card = None
        return card if card is not None else self._replies.notice(act.lang, notice)

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
            lang = resolve_language(activity.locale)
            await send_card(turn_context, await self._help(lang, activity))

    async def on_message_update_activity(self, turn_context: TurnContext) -> None:
        """Edited messages change nothing the bot keeps."""
        return None

    async def on_message_delete_activity(self, turn_context: TurnContext) -> None:
        """Deleted messages change nothing the bot keeps."""
        return None

    async def on_event_activity(self, turn_context: TurnContext) -> None:
        """Meeting-join events become hints the leader can confirm; nothing depends on them."""
        activity = turn_context.activity
        handler = self._events.get(activity.name) if isinstance(activity.name, str) else None
        if handler is not None:
            try:
                await handler(turn_context)
            except (DialogueError, StorageUnavailable):
                log.warning("meeting event not handled: storage or rule refused")
            return None
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
        if not people:
            return None
        try:
            await self._on_join(activity.conversation.id, people, turn_context)
        except (DialogueError, StorageUnavailable):
            log.warning("meeting join hints not stored")
        return None
