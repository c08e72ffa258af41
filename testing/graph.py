"""A local stand-in for Microsoft Graph v1.0: a meeting chat's online meeting and its reports.

It answers what the bot asks, in Graph's own shapes: ``GET /chats/{id}`` (``onlineMeetingInfo``
with ``joinWebUrl`` and the organizer), ``GET /users/{organizer}/onlineMeetings?$filter=
JoinWebUrl eq '…'``, ``…/onlineMeetings/{id}/attendanceReports`` and ``…/attendanceReports/{id}/
attendanceRecords`` (paged with ``@odata.nextLink``). Every request needs a bearer token the
local token authority (:mod:`testing.authority`) issued for this Graph's origin. Switches:
``consented`` (False: 403 as Graph answers an app without the permission or policy),
:meth:`throttle` (429 with ``Retry-After``), ``fail_status`` (every answer that status) and
``delay``; :meth:`hits` counts requests per kind, :meth:`tokens_seen` the distinct tokens.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testing.authority import check_token

ODATA = "https://graph.microsoft.com/v1.0/$metadata"


@dataclass
class Meeting:
    """An online meeting behind a meeting chat, with its attendance reports (newest last)."""

    chat_id: str
    organizer_id: str
    meeting_id: str
    join_url: str
    reports: list[dict[str, Any]] = field(default_factory=list)


def record(aad_id: str | None, name: str, seconds: int = 3600, role: str = "Attendee") -> dict:
    """An attendanceRecord as Graph returns it (a phone attendee has no Entra id)."""
    return {
        "id": f"rec-{aad_id or name}",
        "emailAddress": f"{(aad_id or 'phone')[:8]}@example.org" if aad_id else None,
        "role": role,
        "identity": {"id": aad_id, "displayName": name, "tenantId": None},
        "totalAttendanceInSeconds": seconds,
        "attendanceIntervals": [
            {
                "joinDateTime": "2026-11-20T09:00:00Z",
                "leaveDateTime": "2026-11-20T10:30:00Z",
                "durationInSeconds": seconds,
            }
        ],
    }


class GraphStandIn:
    """Microsoft Graph v1.0 over real HTTP on 127.0.0.1, on the loop that starts it."""

    def __init__(self, authority_secret: str, app_id: str, *, page_size: int = 10) -> None:
        self._secret = authority_secret
        self._app_id = app_id
        self.page_size = page_size
        self._meetings: dict[str, Meeting] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._tokens: set[str] = set()
        self._throttle: list[float] = []
        self.consented = True
        self.fail_status: int | None = None
        self.delay = 0.0

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``: the audience of its tokens."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        """The base URL to give the bot as ``GRAPH_BASE_URL``."""
        return f"{self.origin}/v1.0"

    def add(self, meeting: Meeting) -> Meeting:
        """Serve this meeting (by its chat and its organizer's join URL)."""
        self._meetings[meeting.chat_id] = meeting
        return meeting

    def throttle(self, times: int, retry_after: float) -> None:
        """Answer the next `times` requests 429 with this Retry-After (seconds)."""
        with self._lock:
            self._throttle.extend([retry_after] * times)

    def hits(self) -> dict[str, int]:
        """Requests answered, by kind (chat, lookup, reports, records, refused, …)."""
        with self._lock:
            return dict(self._hits)

    def tokens_seen(self) -> int:
        """How many distinct bearer tokens reached Graph."""
        with self._lock:
            return len(self._tokens)

    def reset(self) -> None:
        """Forget counts, faults and throttling (meetings stay)."""
        with self._lock:
            self._hits.clear()
            self._tokens.clear()
            self._throttle.clear()
        self.consented, self.fail_status, self.delay = True, None, 0.0

    async def start(self) -> GraphStandIn:
        """Listen on a free loopback port."""
        app = web.Application(middlewares=[self._guard])
        base = "/v1.0"
        app.router.add_get(base + "/chats/{chat}", self._chat)
        app.router.add_get(base + "/users/{user}/onlineMeetings", self._lookup)
        app.router.add_get(
            base + "/users/{user}/onlineMeetings/{meeting}/attendanceReports", self._reports
        )
        app.router.add_get(
            base + "/users/{user}/onlineMeetings/{meeting}/attendanceReports/{report}"
            "/attendanceRecords",
            self._records,
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _count(self, kind: str) -> None:
        with self._lock:
            self._hits[kind] += 1

    @staticmethod
    def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
        return web.json_response(
            {"error": {"code": code, "message": message, "innerError": {}}},
            status=status,
            headers=headers,
        )

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        if not check_token(authorization, self._secret, self._app_id, audience=self.origin):
            self._count("unauthenticated")
            return self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
        with self._lock:
            self._tokens.add(str(authorization))
            retry_after = self._throttle.pop(0) if self._throttle else None
        if self.delay:
            await asyncio.sleep(self.delay)
        if retry_after is not None:
            self._count("throttled")
            return self._error(
                429, "TooManyRequests", "Too many requests.", **{"Retry-After": f"{retry_after:g}"}
            )
        if self.fail_status is not None:
            self._count("failed")
            return self._error(self.fail_status, "ServiceNotAvailable", "Try again later.")
        if not self.consented:
            self._count("refused")
            return self._error(
                403,
                "Forbidden",
                "No application access policy found for this app.",
            )
        return await handler(request)

    def _meeting_of(self, request: web.Request) -> Meeting | None:
        user, mid = request.match_info["user"], request.match_info["meeting"]
        return next(
            (m for m in self._meetings.values() if m.organizer_id == user and m.meeting_id == mid),
            None,
        )

    async def _chat(self, request: web.Request) -> web.Response:
        self._count("chat")
        meeting = self._meetings.get(request.match_info["chat"])
        if meeting is None:
            return self._error(404, "NotFound", "Chat not found.")
        return web.json_response(
            {
                "@odata.context": f"{ODATA}#chats/$entity",
                "id": meeting.chat_id,
                "chatType": "meeting",
                "onlineMeetingInfo": {
                    "calendarEventId": None,
                    "joinWebUrl": meeting.join_url,
                    "organizer": {
                        "id": meeting.organizer_id,
                        "displayName": None,
                        "userIdentityType": "aadUser",
                    },
                },
            }
        )

    async def _lookup(self, request: web.Request) -> web.Response:
        self._count("lookup")
        wanted = request.query.get("$filter", "")
        prefix = "JoinWebUrl eq '"
        if not (wanted.startswith(prefix) and wanted.endswith("'")):
            return self._error(400, "BadRequest", "Filter is required.")
        join_url = wanted[len(prefix) : -1].replace("''", "'")
        user = request.match_info["user"]
        found = [
            {"id": m.meeting_id, "joinWebUrl": m.join_url, "subject": "Leadership Dialogue"}
            for m in self._meetings.values()
            if m.organizer_id == user and m.join_url == join_url
        ]
        return web.json_response({"@odata.context": f"{ODATA}#onlineMeetings", "value": found})

    async def _reports(self, request: web.Request) -> web.Response:
        self._count("reports")
        meeting = self._meeting_of(request)
        if meeting is None:
            return self._error(404, "NotFound", "Meeting not found.")
        value = [
            {
                "id": r["id"],
                "totalParticipantCount": len(r["records"]),
                "meetingStartDateTime": r["start"],
                "meetingEndDateTime": r["end"],
            }
            for r in meeting.reports
        ]
        return web.json_response({"@odata.context": f"{ODATA}#reports", "value": value})

    async def _records(self, request: web.Request) -> web.Response:
        self._count("records")
        meeting = self._meeting_of(request)
        wanted = request.match_info["report"]
        report = next((r for r in (meeting.reports if meeting else []) if r["id"] == wanted), None)
        if report is None:
            return self._error(404, "NotFound", "Report not found.")
        skip = int(request.query.get("$skiptoken", "0") or 0)
        page = report["records"][skip : skip + self.page_size]
        body: dict[str, Any] = {"@odata.context": f"{ODATA}#attendanceRecords", "value": page}
        if skip + self.page_size < len(report["records"]):
            body["@odata.nextLink"] = (
                f"{self.origin}{request.path}?$skiptoken={skip + self.page_size}"
            )
        return web.json_response(body)
