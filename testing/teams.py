"""Teams-shaped activities posted to the real aiohttp app, as Teams would post them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import FLUSH, create_app
from bot.settings import Settings
from bot.teams.logs import AccessLogger

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT_ID = "28:dialogue-bot"
BOT_NAME = "Dialogue Bot"
CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class User:
    """A Teams user: MRI, Entra object id, display name and client locale."""

    name: str
    aad_id: str
    mri: str
    locale: str = "en-US"

    @classmethod
    def make(cls, name: str, n: int, locale: str = "en-US") -> User:
        """A user with stable made-up ids."""
        aad = str(uuid.uuid5(uuid.NAMESPACE_URL, f"user/{n}"))
        return cls(name=name, aad_id=aad, mri=f"29:1{aad.replace('-', '')}", locale=locale)

    def member(self) -> dict[str, Any]:
        """As the Bot Connector lists a chat member."""
        return {
            "id": self.mri,
            "name": self.name,
            "aadObjectId": self.aad_id,
            "userPrincipalName": f"{self.aad_id[:8]}@example.org",
            "userRole": "user",
        }


@dataclass
class Chat:
    """A Teams group (meeting) chat."""

    id: str = field(default_factory=lambda: f"19:meeting_{uuid.uuid4().hex}@thread.v2")
    tenant: str = TENANT
    kind: str = "groupChat"
    # A meeting's chat carries the meeting id in channelData.meeting.id; a plain group chat
    # (and the Agents Playground) none.
    meeting_id: str | None = None

    @classmethod
    def meeting(cls) -> Chat:
        """A scheduled meeting's chat, with its meeting id."""
        return cls(meeting_id=f"MCM{uuid.uuid4().hex}")


class BotUnderTest:
    """The real app on a loopback port, plus a client that speaks to it as Teams does."""

    def __init__(
        self,
        settings: Settings,
        service_url: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self.service_url = service_url
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self.url = ""
        self.cards_seen: list[dict[str, Any]] = []

    async def start(self) -> BotUnderTest:
        """Start the app (opens storage) and a client session."""
        app = (
            create_app(self.settings, clock=self._clock)
            if self._clock
            else create_app(self.settings)
        )
        self._runner = web.AppRunner(app, access_log_class=AccessLogger)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def flush(self) -> None:
        """Wait until the app's background work (card updates, totals, messages) is done."""
        assert self._runner is not None
        await self._runner.app[FLUSH]()

    async def stop(self) -> None:
        """Stop the app the way a shutdown does (pending card updates are flushed)."""
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        """POST one activity; the HTTP status and the JSON body, if any."""
        assert self._session is not None
        async with self._session.post(f"{self.url}/api/messages", json=activity) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    def activity(self, user: User, chat: Chat, **fields: Any) -> dict[str, Any]:
        """The envelope Teams puts around everything it sends."""
        return envelope(user, chat, self.service_url, f"act-{next(self._ids)}", **fields)

    async def say(self, user: User, chat: Chat, text: str, *, mention: bool = True) -> int:
        """A message typed in the chat, mentioning the bot as group chats require."""
        fields = typed(text, mention=mention)
        status, _ = await self.post(self.activity(user, chat, **fields))
        return status

    async def execute(
        self,
        user: User,
        chat: Chat,
        card_id: str,
        verb: str,
        data: dict[str, Any] | None = None,
        *,
        trigger: str = "manual",
        activity_id: str | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        """An Action.Execute click; returns the HTTP status and the card Teams would show."""
        activity = self.activity(user, chat, **clicked(card_id, verb, data or {}, trigger=trigger))
        if activity_id is not None:
            activity["id"] = activity_id
        status, body = await self.post(activity)
        if status == 200 and isinstance(body, dict) and body.get("type") == CARD:
            self.cards_seen.append(body["value"])
            return status, body["value"]
        return status, body


def elements(card: Any) -> Iterator[dict[str, Any]]:
    """Every object in a card (elements, actions, inputs, nested cards), depth first."""
    if isinstance(card, dict):
        yield card
        for value in card.values():
            yield from elements(value)
    elif isinstance(card, list):
        for item in card:
            yield from elements(item)


def card_text(card: dict[str, Any] | None) -> str:
    """Every visible string of a card (texts, titles, facts, choices), for assertions."""
    return "\n".join(
        node[key]
        for node in elements(card)
        for key in ("text", "title", "value", "label", "placeholder")
        if isinstance(node.get(key), str)
    )


def executes(card: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every Action.Execute on a card, nested ones included."""
    return [n for n in elements(card) if n.get("type") == "Action.Execute"]


def verbs(card: dict[str, Any] | None) -> set[str]:
    """Every Action.Execute verb on a card."""
    return {a["verb"] for a in executes(card) if isinstance(a.get("verb"), str)}


def data_of(card: dict[str, Any], verb: str) -> dict[str, Any]:
    """The data the card's Action.Execute with this verb carries."""
    found = next((a for a in executes(card) if a.get("verb") == verb), None)
    assert found is not None, f"card has no {verb} action"
    return dict(found.get("data") or {})


def inputs(card: dict[str, Any] | None) -> dict[str, Any]:
    """Input id -> the value the card prefills."""
    return {
        n["id"]: n.get("value")
        for n in elements(card)
        if str(n.get("type", "")).startswith("Input.") and "id" in n
    }


def card_sid(card: dict[str, Any] | None) -> str:
    """The session id the card's actions carry."""
    sid = next(
        (
            a["data"]["sid"]
            for a in executes(card)
            if isinstance(a.get("data"), dict) and a["data"].get("sid")
        ),
        None,
    )
    assert sid, "card carries no session id"
    return sid


def envelope(
    user: User, chat: Chat, service_url: str, id_prefix: str, **fields: Any
) -> dict[str, Any]:
    """The envelope Teams puts around everything it sends, with `fields` added or replaced."""
    base = {
        "id": f"{id_prefix}-{uuid.uuid4().hex[:8]}",
        "timestamp": datetime.now(UTC).isoformat(),
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user.mri, "name": user.name, "aadObjectId": user.aad_id},
        "conversation": {
            "id": chat.id,
            "conversationType": chat.kind,
            "isGroup": chat.kind != "personal",
            "tenantId": chat.tenant,
        },
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "channelData": {"tenant": {"id": chat.tenant}},
        "locale": user.locale,
    }
    if chat.meeting_id:
        base["channelData"]["meeting"] = {"id": chat.meeting_id}
    base.update(fields)
    return base


def meeting_details(
    chat: Chat, organizer: User, title: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """The Get meeting details API's answer for a scheduled meeting (Bot Connector shape)."""
    return {
        "details": {
            "id": chat.meeting_id,
            "msGraphResourceId": f"MSo{uuid.uuid4().hex}",
            "scheduledStartTime": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scheduledEndTime": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "joinUrl": "https://teams.microsoft.com/l/meetup-join/x",
            "title": title,
            "type": "Scheduled",
        },
        "conversation": {"isGroup": True, "conversationType": "groupChat", "id": chat.id},
        "organizer": {
            "id": organizer.mri,
            "aadObjectId": organizer.aad_id,
            "objectId": organizer.aad_id,
            "tenantId": chat.tenant,
        },
    }


def meeting_participant(
    chat: Chat, user: User, *, role: str = "Attendee", in_meeting: bool = True
) -> dict[str, Any]:
    """The Get participant API's answer (Bot Connector shape)."""
    return {
        "user": {**user.member(), "tenantId": chat.tenant, "email": f"{user.aad_id[:8]}@ex.org"},
        "meeting": {"role": role, "inMeeting": in_meeting},
        "conversation": {"id": chat.id, "conversationType": "groupChat", "isGroup": True},
    }


def meeting_event(kind: str, chat: Chat, at: datetime, title: str = "") -> dict[str, Any]:
    """A meetingStart or meetingEnd event's fields, as Teams sends them (`kind`: start/end)."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    value = {
        "MeetingType": "Scheduled",
        "Title": title,
        "Id": chat.meeting_id,
        "JoinUrl": "https://teams.microsoft.com/l/meetup-join/x",
        "StartTime" if kind == "start" else "EndTime": stamp,
    }
    return {
        "type": "event",
        "name": f"application/vnd.microsoft.meeting{'Start' if kind == 'start' else 'End'}",
        "value": value,
    }


def typed(text: str, *, mention: bool = True) -> dict[str, Any]:
    """A message's fields as Teams sends a typed command, mentioning the bot if asked."""
    at = f"<at>{BOT_NAME}</at>"
    fields: dict[str, Any] = {"type": "message", "text": f"{at} {text}" if mention else text}
    if mention:
        fields["entities"] = [
            {"type": "mention", "mentioned": {"id": BOT_ID, "name": BOT_NAME}, "text": at}
        ]
    return fields


def clicked(card_id: Any, verb: Any, data: Any, *, trigger: Any = "manual") -> dict[str, Any]:
    """An Action.Execute invoke's fields as Teams sends them for a click on a card."""
    return {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "replyToId": card_id,
        "value": {
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": trigger,
        },
    }


# Starts the real app, on the test's tables, with settings overrides.
StartBot = Callable[..., Awaitable[BotUnderTest]]
