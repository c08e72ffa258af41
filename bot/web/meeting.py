"""The meeting's side panel (leader and facilitator) and shared stage (everyone), over the rules.

The panel's controls call the same services as the card verbs (dialogs/session.py,
dialogs/polls.py, with their require_director / require_leader checks) and tell the same
SharedCards, so the chat's cards move exactly as when the card buttons are used. The stage
shows only what every person in the meeting may see: no names, no counts before the poll is
closed and never below the anonymity minimum (dialogs.polls.results_shown, as the poll card).
Views render and never write; the panel's actions are the only writes here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.polls.actions import open_pack_poll
from bot.polls.views import PollViews
from bot.session.shared_cards import SharedCards
from bot.session.views import DialogueViews
from bot.teams.outbound import Outbound
from bot.teams.replies import Replies
from bot.web.identity import WebCaller, WebIdentity
from cards.catalog import resolve_language
from cards.content import Scenario
from dialogs.common import require_director
from dialogs.errors import DialogueError, NotAllowed
from dialogs.polls import PollService, results_shown
from dialogs.session import SCENARIOS, DialogueService
from dialogs.signin import SignInService
from storage import StorageUnavailable
from storage.records import PollRecord, SessionRecord

log = logging.getLogger(__name__)

# The stage re-reads storage this often while someone watches, for changes made through another
# instance of the bot; changes made through this one are pushed at once.
REFRESH_SECONDS = 5.0
HEARTBEAT_SECONDS = 15.0
STAGE_POLLS = 2
MAX_CHAT_ID = 512


class MeetingPages:
    """The panel's state and actions, the stage's state, and the stage's event stream."""

    def __init__(
        self,
        identity: WebIdentity,
        signin: SignInService,
        dialogue: DialogueService,
        polls: PollService,
        dialogue_views: DialogueViews,
        poll_views: PollViews,
        shared: SharedCards,
        outbound: Outbound,
        replies: Replies,
        clock: Callable[[], datetime],
    ) -> None:
        self._identity = identity
        self._signin = signin
        self._dialogue = dialogue
        self._polls = polls
        self._dialogue_views = dialogue_views
        self._poll_views = poll_views
        self._shared = shared
        self._outbound = outbound
        self._replies = replies
        self._clock = clock
        self._watchers: dict[str, set[asyncio.Queue[None]]] = {}
        self._closing = False
        shared.listen(self._changed)

    # HTTP ------------------------------------------------------------------------------------

    async def panel(self, request: web.Request) -> web.Response:
        """GET: the plan, the current scenario with the leader's notes, the polls, the controls."""
        caller = await self._identity.require(request)
        lang = resolve_language(request.query.get("lang"))
        session = await self._director_session(caller, request.query.get("chat"))
        if session is None:
            return web.json_response({"state": "none"})
        return web.json_response(await self._panel_state(session, caller, lang))

    async def act(self, request: web.Request) -> web.Response:
        """POST: one control of the panel; the new panel state, or the refusal's reason."""
        caller = await self._identity.require(request)
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="bad request") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="bad request")
        lang = resolve_language(str(body.get("lang") or ""))
        session = await self._director_session(caller, body.get("chat"))
        if session is None:
            raise web.HTTPNotFound(text="no session")
        try:
            session = await self._run(session, caller, str(body.get("verb") or ""), body)
        except DialogueError as refusal:
            state = await self._panel_state(session, caller, lang)
            state["error"] = self._replies.text(lang, refusal.key, **refusal.fields)
            return web.json_response(state, status=409)
        except StorageUnavailable:
            state = {"error": self._replies.text(lang, "error.not_saved")}
            return web.json_response(state, status=503)
        return web.json_response(await self._panel_state(session, caller, lang))

    async def stage(self, request: web.Request) -> web.Response:
        """GET: what the meeting's shared stage shows now."""
        caller = await self._identity.require(request)
        lang = resolve_language(request.query.get("lang"))
        chat = _chat(request.query.get("chat"))
        return web.json_response(await self._stage_state(chat, lang, caller.tenant_id))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """GET (EventSource): the stage's state, again each time it changes."""
        chat = _chat(request.query.get("chat"))
        lang = resolve_language(request.query.get("lang"))
        caller = self._identity.from_ticket(request.query.get("ticket", ""), stream_of(chat))
        if caller is None:
            raise web.HTTPUnauthorized(text="unauthorized")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                # A reverse proxy must pass each event on at once, not buffer the stream.
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        wake: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._watchers.setdefault(chat, set()).add(wake)
        sent = ""
        try:
            while not self._closing:
                try:
                    state = json.dumps(
                        await self._stage_state(chat, lang, caller.tenant_id), ensure_ascii=False
                    )
                except StorageUnavailable:
                    state = sent  # keep showing what was shown; the next round tries again
                if state != sent:
                    await response.write(f"event: state\ndata: {state}\n\n".encode())
                    sent = state
                else:
                    await response.write(b": still here\n\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.get(), REFRESH_SECONDS)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            watchers = self._watchers.get(chat, set())
            watchers.discard(wake)
            if not watchers:
                self._watchers.pop(chat, None)
        return response

    # Actions ---------------------------------------------------------------------------------

    async def _run(
        self, session: SessionRecord, caller: WebCaller, verb: str, body: dict[str, Any]
    ) -> SessionRecord:
        person = caller.person()
        if verb == "next_section":
            if body.get("stage") != session.stage:
                return session  # a second click on a panel that already moved on
            session = await self._dialogue.next_section(session, person)
            self._shared.agenda(session)
            self._shared.scenario(session)
        elif verb == "next_scenario":
            previous = session
            session = await self._dialogue.next_scenario(session, person)
            if session.scenario_index != previous.scenario_index:
                self._shared.scenario(previous)
                session = await self._post_scenario(session)
            self._shared.agenda(session)
        elif verb == "wrap":
            session = await self._dialogue.wrap_up(session, person, body.get("scenario"))
            self._shared.scenario(session)
            self._shared.agenda(session)
        elif verb == "open_poll":
            poll = await open_pack_poll(
                self._polls,
                self._dialogue,
                session,
                person,
                body.get("scenario"),
                body.get("pack_poll"),
            )
            await self._post_poll(session, poll)
            self._shared.scenario(session)
        elif verb == "close_poll":
            poll = await self._polls.get(session, body.get("poll"))
            poll = await self._polls.close(poll, person, session)
            self._shared.poll(session, poll.poll_id)
        else:
            raise web.HTTPBadRequest(text="unknown action")
        return session

    async def _post_scenario(self, session: SessionRecord) -> SessionRecord:
        """The new scenario's card in the chat, as the card verb posts it, remembered."""
        scenario_id = session.scenario_order[session.scenario_index]
        card = await self._dialogue_views.scenario(session, scenario_id, session.language)
        posted = await self._outbound.chat_card(**_where(session), card=card) if card else None
        if posted:
            session = await self._dialogue.attach_scenario_card(session, posted)
        return session

    async def _post_poll(self, session: SessionRecord, poll: PollRecord) -> None:
        if poll.card_id:
            return  # opened before (a double click): its card is already in the chat
        card = await self._poll_views.poll(session, poll, session.language)
        posted = await self._outbound.chat_card(**_where(session), card=card)
        if posted:
            await self._polls.attach_card(poll, posted)

    # Views -----------------------------------------------------------------------------------

    async def _director_session(self, caller: WebCaller, chat: Any) -> SessionRecord | None:
        """The chat's session, if the caller directs it (leader or facilitator); else 403."""
        session = await self._signin.active(_chat(chat))
        if session is None:
            return None
        try:
            require_director(session, caller.person())
        except NotAllowed:
            raise web.HTTPForbidden(text="forbidden") from None
        if session.tenant_id and session.tenant_id.lower() != caller.tenant_id:
            raise web.HTTPForbidden(text="forbidden")
        return session

    async def _panel_state(
        self, session: SessionRecord, caller: WebCaller, lang: str
    ) -> dict[str, Any]:
        pack = self._dialogue.pack(session, lang)
        progress = self._dialogue.progress(session)
        ids = [s.id for s in pack.agenda]
        scenario = self._dialogue.current_scenario(session)
        local = pack.scenario(scenario.id) if scenario else None
        polls = await self._scenario_polls(session, scenario)
        open_refs = {p.ref: p for p in polls}
        wrapped = self._dialogue.wrapped(session)
        following = session.scenario_order[session.scenario_index + 1 :]
        return {
            "state": "done" if session.concluded else "running",
            "as_of": self._clock().isoformat(),
            "stage": session.stage,
            "leader": session.is_leader(caller.aad_object_id),
            "sections": [
                {
                    "id": section.id,
                    "title": section.title.value,
                    "planned": section.minutes,
                    "used_seconds": round(time.used_seconds),
                    "current": time.current,
                    "finished": time.finished,
                }
                for section, time in zip(pack.agenda, progress.sections, strict=False)
            ],
            "over_time": progress.over_time,
            "scenario": _scenario(local, progress.scenario_seconds, leader_notes=True)
            if local
            else None,
            "wrapped": bool(scenario and scenario.id in wrapped),
            "pack_polls": [
                {
                    "id": spec.id,
                    "question": spec.question.value,
                    "poll": await self._poll(open_refs[spec.id]) if spec.id in open_refs else None,
                }
                for spec in (local.polls if local else ())
            ],
            "can": {
                "next_section": session.stage in ids and session.stage != ids[-1],
                "next_scenario": session.stage == SCENARIOS and bool(following),
                "wrap": bool(scenario and scenario.id not in wrapped),
            },
        }

    async def _stage_state(self, chat: str, lang: str, tenant: str) -> dict[str, Any]:
        """Everyone's view: section and timer, the scenario, closed polls' results, key messages."""
        session = await self._signin.active(chat)
        # A chat of another tenant is, to this caller, a chat without a session.
        if session is None or (session.tenant_id and session.tenant_id.lower() != tenant):
            return {"state": "none"}
        pack = self._dialogue.pack(session, lang)
        progress = self._dialogue.progress(session)
        current = next((t for t in progress.sections if t.current), None)
        section = next((s for s in pack.agenda if current and s.id == current.id), None)
        scenario = self._dialogue.current_scenario(session)
        local = pack.scenario(scenario.id) if scenario else None
        wrapped = bool(scenario and scenario.id in self._dialogue.wrapped(session))
        polls = (await self._scenario_polls(session, scenario))[-STAGE_POLLS:]
        return {
            "state": "done" if session.concluded else "running",
            "as_of": self._clock().isoformat(),
            "section": {
                "title": section.title.value,
                "planned": section.minutes,
                "used_seconds": round(current.used_seconds),
                "running": session.stage_started_at is not None,
            }
            if section and current
            else None,
            "scenario": _scenario(local, progress.scenario_seconds, leader_notes=False)
            if local
            else None,
            "running": bool(local and not wrapped and session.scenario_started_at),
            "key_messages": [m.value for m in local.key_messages] if local and wrapped else [],
            "recap": [m.value for m in pack.key_messages_recap] if session.concluded else [],
            "polls": [await self._poll(p) for p in polls],
        }

    async def _scenario_polls(
        self, session: SessionRecord, scenario: Scenario | None
    ) -> list[PollRecord]:
        """The session's polls that belong with what is discussed now, oldest first."""
        polls = await self._polls.of_session(session)
        if scenario is not None:
            refs = {p.id for p in scenario.polls}
            polls = [p for p in polls if p.ref in refs or p.kind == "adhoc"]
        return sorted(polls, key=lambda p: p.created_at)

    async def _poll(self, poll: PollRecord) -> dict[str, Any]:
        """A poll as anyone may see it: the voters so far; counts only by the cards' rule."""
        tally = await self._polls.tally(poll)
        shown = results_shown(poll, tally)
        return {
            "id": poll.poll_id,
            "question": poll.question,
            "status": "open" if poll.status == "open" else "closed",
            "voters": tally.voters,
            "results": [
                {
                    "option": option,
                    "count": tally.counts[i] if i < len(tally.counts) else 0,
                    "percent": round(100 * tally.counts[i] / tally.voters)
                    if tally.voters and i < len(tally.counts)
                    else 0,
                }
                for i, option in enumerate(poll.options)
            ]
            if shown
            else None,
            "too_few": poll.status != "open" and not shown,
        }

    async def close(self) -> None:
        """End every open event stream (the app is stopping)."""
        self._closing = True
        for watchers in self._watchers.values():
            for wake in watchers:
                with contextlib.suppress(asyncio.QueueFull):
                    wake.put_nowait(None)

    # Change notices --------------------------------------------------------------------------

    def _changed(self, session: SessionRecord) -> None:
        """A shared card of this session changed: the stages watching its chat look again."""
        for wake in self._watchers.get(session.conversation_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                wake.put_nowait(None)


def stream_of(chat: str) -> str:
    """The ticket's stream name for a chat's stage."""
    return f"stage:{chat}"


def _chat(raw: Any) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_CHAT_ID:
        raise web.HTTPBadRequest(text="chat required")
    return raw


def _where(session: SessionRecord) -> dict[str, str]:
    return {
        "service_url": session.service_url,
        "tenant_id": session.tenant_id,
        "bot_id": session.bot_id,
        "conversation_id": session.conversation_id,
    }


def _scenario(scenario: Scenario, seconds: float, *, leader_notes: bool) -> dict[str, Any]:
    """A scenario's words; the follow-ups and important points only for the leader's panel."""
    return {
        "id": scenario.id,
        "number": scenario.number,
        "title": scenario.title.value,
        "introduction": scenario.introduction.value,
        "text": [t.value for t in scenario.text]
        + [f"{line.speaker.value}: {line.line.value}" for line in scenario.script],
        "suggested": list(scenario.suggested_minutes),
        "used_seconds": round(seconds),
        "questions": [
            {
                "text": q.text.value,
                "follow_ups": [f.value for f in q.follow_ups] if leader_notes else [],
                "points": [p.text.value for p in q.important_points] if leader_notes else [],
            }
            for q in scenario.questions
        ],
    }
