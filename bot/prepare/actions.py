"""`prepare` in personal chat, and the same card from the leader's sign-in sheet.

A journey of its own rather than part of session/: it needs no session (a leader prepares one
to two weeks before the meeting chat has one), it is typed in personal chat, and it only reads
the cycle's pack, so it shares no state with the session's verbs.
"""

from __future__ import annotations

from botbuilder.core import TurnContext

from bot.prepare.views import PrepareViews
from bot.teams.context import IN_PERSONAL, ActionContext, Card, Command, Handler, send_card
from bot.teams.replies import Notice
from cards.library import PackLibrary
from dialogs.common import require_leader
from dialogs.directory import Directory
from dialogs.session import DialogueService
from dialogs.signin import SignInService


class PrepareActions:
    """The leader's preparation card, from the cycle's pack or from the session's."""

    def __init__(
        self,
        directory: Directory,
        library: PackLibrary,
        signin: SignInService,
        dialogue: DialogueService,
        views: PrepareViews,
    ) -> None:
        self._directory = directory
        self._library = library
        self._signin = signin
        self._dialogue = dialogue
        self._views = views

    def verbs(self) -> dict[str, Handler]:
        """`prepare.view`: the card in place of the leader's sign-in sheet."""
        return {"prepare.view": self._from_sheet}

    def commands(self) -> dict[str, Command]:
        """`prepare`, typed in personal chat."""
        return {"prepare": Command(self._prepare, IN_PERSONAL)}

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The reason alone: the card holds nothing the person was typing."""
        return None

    async def _prepare(self, turn_context: TurnContext, lang: str) -> None:
        # Anyone may read the guide's preparation: it is the Leader's Guide, public material.
        cycle = await self._directory.cycle()
        await send_card(
            turn_context, self._views.prepare_card(self._library.get(cycle.pack, lang), lang)
        )

    async def _from_sheet(self, act: ActionContext) -> Card:
        session = await self._signin.for_card(act.conversation_id, act.data.get("sid"))
        require_leader(session, act.person)
        pack = self._dialogue.pack(session, act.lang)
        return self._views.prepare_card(pack, act.lang, sid=session.session_id)
