"""Teams' meeting APIs through the Bot Connector: details, participants, targeted notifications.

Every call here is a hint the bot can live without: a refusal (403 without the RSC permission,
404 outside a meeting), a timeout or a network error gives None or False, and the caller carries
on as in a plain group chat. The SDK's `TeamsConnectorClient` is requests-based, so each call
runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.teams.identity import display_name, tenant_of

log = logging.getLogger(__name__)

# Teams' targeted meeting notification takes a list of recipients per request; the platform
# documents no higher bound we could rely on, so batches stay small (each batch is one request).
NOTIFY_BATCH = 50
# A meeting hint must not hold up a reply: Teams wants an answer within seconds.
_TIMEOUT_SECONDS = 5.0
# Errors that mean "not available here": no RSC consent, not a meeting, nobody found.
_FRACTION = re.compile(r"(\.\d+)")


@dataclass(frozen=True)
class MeetingDetails:
    """A meeting's static details, as the Get meeting details API gives them."""

    title: str
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    organizer_aad_id: str
    organizer_mri: str


@dataclass(frozen=True)
class MeetingParticipant:
    """One participant as the Get participant API gives them."""

    aad_id: str
    mri: str
    name: str
    role: str
    in_meeting: bool


def meeting_id_of(activity: Activity) -> str | None:
    """The meeting id Teams puts in channelData.meeting.id (None: not a meeting chat)."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    meeting = channel_data.get("meeting")
    meeting_id = meeting.get("id") if isinstance(meeting, dict) else None
    if isinstance(meeting_id, str) and 0 < len(meeting_id) <= 1024:
        return meeting_id
    return None


class MeetingApi:
    """The meeting calls the bot makes, each off the event loop and bounded in time."""

    def __init__(self, timeout: float = _TIMEOUT_SECONDS, batch: int = NOTIFY_BATCH) -> None:
        self._timeout = timeout
        self._batch = batch

    async def details(self, turn_context: TurnContext) -> MeetingDetails | None:
        """The meeting's title, scheduled times and organizer; None where unavailable."""
        meeting_id = meeting_id_of(turn_context.activity)
        if meeting_id is None:
            return None
        body = await self._get(turn_context, lambda c: c.teams.fetch_meeting(meeting_id, raw=True))
        if not isinstance(body, dict):
            return None
        details = _object(body.get("details"))
        organizer = _object(body.get("organizer"))
        title = details.get("title")
        return MeetingDetails(
            title=" ".join(title.split())[:200] if isinstance(title, str) else "",
            scheduled_start=parse_instant(details.get("scheduledStartTime")),
            scheduled_end=parse_instant(details.get("scheduledEndTime")),
            organizer_aad_id=str(organizer.get("aadObjectId") or "").lower(),
            organizer_mri=str(organizer.get("id") or ""),
        )

    async def participant(
        self, turn_context: TurnContext, aad_id: str
    ) -> MeetingParticipant | None:
        """One person's role and whether they are in the meeting now; None where unavailable."""
        meeting_id = meeting_id_of(turn_context.activity)
        tenant = tenant_of(turn_context.activity)
        if meeting_id is None or not aad_id or not tenant:
            return None
        # botbuilder 4.17's fetch_participant sends GET /v1/meetings/{id} (its URL metadata is
        # overwritten by fetch_meeting's), so the documented request is made here.
        target = (
            f"{self._base(turn_context)}/v1/meetings/{quote(meeting_id, safe='')}"
            f"/participants/{quote(aad_id, safe='')}?tenantId={quote(tenant, safe='')}"
        )
        status, body = await self._send(turn_context, "GET", target)
        if status != 200:
            log.info("meeting participant unavailable status=%s", status)
            return None
        if not isinstance(body, dict):
            return None
        user = _object(body.get("user"))
        meeting = _object(body.get("meeting"))
        found = str(user.get("aadObjectId") or "").lower()
        if found != aad_id.lower():
            return None  # an answer about someone else is no answer
        return MeetingParticipant(
            aad_id=found,
            mri=str(user.get("id") or ""),
            name=display_name(user.get("name")),
            role=str(meeting.get("role") or ""),
            in_meeting=meeting.get("inMeeting") is True,
        )

    async def notify(
        self, turn_context: TurnContext, recipients: Sequence[str], url: str, title: str
    ) -> bool:
        """A targeted in-meeting notification to exactly these MRIs, in batches.

        False when the API is unavailable (not a meeting, no RSC consent): the caller falls
        back to the chat. True once every batch was accepted (202, or 207 for some).
        """
        meeting_id = meeting_id_of(turn_context.activity)
        if meeting_id is None:
            return False
        unique = list(dict.fromkeys(r for r in recipients if r))
        if not unique:
            return True
        target = f"{self._base(turn_context)}/v1/meetings/{quote(meeting_id, safe='')}/notification"
        for start in range(0, len(unique), self._batch):
            body = notification_body(unique[start : start + self._batch], url, title)
            status, _ = await self._send(turn_context, "POST", target, body)
            if status not in (200, 201, 202, 207):
                log.info("meeting notification not sent status=%s", status)
                return False
        log.info("meeting notification sent recipients=%d", len(unique))
        return True

    async def _get(self, turn_context: TurnContext, call: Callable[[Any], Any]) -> Any:
        """Run a TeamsConnectorClient call in a thread; its JSON, or None on any failure."""
        try:
            client = await TeamsInfo.get_teams_connector_client(turn_context)
            raw = await asyncio.wait_for(asyncio.to_thread(call, client), self._timeout)
            return raw.response.json()
        except HttpOperationError as error:
            status = getattr(getattr(error, "response", None), "status_code", None)
            log.info("meeting API unavailable status=%s", status)
        except (ClientRequestError, TimeoutError, ValueError, TypeError, AttributeError) as error:
            log.info("meeting API failed: %s", type(error).__name__)
        return None

    @staticmethod
    def _base(turn_context: TurnContext) -> str:
        return str(turn_context.activity.service_url or "").rstrip("/")

    async def _send(
        self, turn_context: TurnContext, method: str, target: str, body: Any = None
    ) -> tuple[int | None, Any]:
        """One request with the Bot Connector's credentials; its status and JSON (None, None
        when it could not be made).

        The SDK's notification models lose `type` and the surface's content when serialized,
        and its participant URL is wrong, so the documented requests are made as they are.
        """
        try:
            client = await TeamsInfo.get_teams_connector_client(turn_context)
        except (HttpOperationError, ClientRequestError, TypeError, AttributeError):
            return None, None

        def call() -> tuple[int, Any]:
            session = client.config.credentials.signed_session()
            try:
                response = session.request(method, target, json=body, timeout=self._timeout)
                try:
                    payload = response.json() if response.content else None
                except ValueError:
                    payload = None
                return response.status_code, payload
            finally:
                session.close()

        try:
            return await asyncio.wait_for(asyncio.to_thread(call), self._timeout + 1)
        except (requests.RequestException, TimeoutError, AttributeError) as error:
            log.info("meeting API failed: %s", type(error).__name__)
            return None, None


def notification_body(recipients: list[str], url: str, title: str) -> dict[str, Any]:
    """The documented targetedMeetingNotification payload: a content bubble with a page."""
    return {
        "type": "targetedMeetingNotification",
        "value": {
            "recipients": recipients,
            "surfaces": [
                {
                    "surface": "meetingStage",
                    "contentType": "task",
                    "content": {
                        "value": {"height": "300", "width": "400", "title": title, "url": url}
                    },
                }
            ],
        },
    }


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from Teams, or an empty one."""
    return value if isinstance(value, dict) else {}


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 time from Teams, as an aware UTC datetime (None if it is not one)."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    # Teams writes seven fractional digits ("16:17:17.4388966Z"); Python reads up to six.
    text = _FRACTION.sub(lambda m: m.group(1)[:7], value.replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
