"""Microsoft Graph: the meeting's attendance report, read with an app-only token from msal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import msal
import requests

from dialogs.attendance_report import ReportAttendee, attendee

log = logging.getLogger(__name__)

# Why the report could not be read; each has a sentence for the leader (`report.<reason>`).
UNAVAILABLE = "unavailable"
THROTTLED = "throttled"
NOT_CONSENTED = "not_consented"
NOT_FOUND = "not_found"
NO_REPORT = "no_report"
CHANNEL = "channel"
NOT_CONFIGURED = "not_configured"

# Graph's Retry-After is honoured up to this many seconds in all, then the leader is told.
RETRY_AFTER_BOUND = 5.0
_TIMEOUT = aiohttp.ClientTimeout(total=10)
# A report of a large meeting is a few pages; this bounds a nextLink loop.
_MAX_PAGES = 50


class GraphError(Exception):
    """The report could not be read; `reason` says why (status codes only, never names)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason if status is None else f"{reason} status={status}")
        self.reason = reason
        self.status = status


class GraphTokens:
    """App-only Graph tokens through msal's client-credentials flow, one app per tenant.

    msal is blocking (requests): every call runs in a worker thread. Each tenant's app keeps
    msal's token cache, so a token is fetched about once an hour per process, not per call.
    """

    def __init__(
        self,
        app_id: str,
        app_password: str,
        authority: str,
        scope: str,
        *,
        validate_authority: bool = True,
        build: Callable[..., Any] = msal.ConfidentialClientApplication,
    ) -> None:
        self._app_id = app_id
        self._password = app_password
        self._authority = authority.rstrip("/")
        self._scope = scope
        self._validate = validate_authority
        self._build = build
        self._apps: dict[str, Any] = {}
        # One fetch at a time: callers arriving together share the token the first one gets.
        self._lock = asyncio.Lock()

    async def token(self, tenant_id: str) -> str:
        """A bearer token for Graph in this tenant (msal's cached one while it is valid)."""
        async with self._lock:
            return await asyncio.to_thread(self._acquire, tenant_id)

    def _acquire(self, tenant_id: str) -> str:
        try:
            app = self._apps.get(tenant_id)
            if app is None:
                # Building the app reads the tenant's OpenID configuration: network, so here.
                app = self._build(
                    client_id=self._app_id,
                    client_credential=self._password,
                    authority=f"{self._authority}/{tenant_id}",
                    validate_authority=self._validate,
                    timeout=10,
                )
                self._apps[tenant_id] = app
            result = app.acquire_token_for_client(scopes=[self._scope])
        except (requests.RequestException, ValueError) as error:
            log.warning("graph token request failed type=%s", type(error).__name__)
            raise GraphError(UNAVAILABLE) from error
        token = result.get("access_token") if isinstance(result, dict) else None
        if not isinstance(token, str):
            # AADSTS codes say "not consented" or "bad secret"; both mean the admin must act.
            code = result.get("error") if isinstance(result, dict) else None
            log.warning("graph token refused error=%s", code)
            raise GraphError(NOT_CONSENTED)
        return token


class GraphClient:
    """The attendance report of a meeting chat's meeting, as Graph's v1.0 REST API gives it."""

    def __init__(
        self,
        base_url: str,
        tokens: GraphTokens,
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session (at the app's shutdown)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def attendance(self, tenant_id: str, chat_id: str) -> list[ReportAttendee]:
        """Every record of the meeting's latest attendance report, all pages."""
        chat = await self._get(tenant_id, f"{self._base}/chats/{quote(chat_id, safe='')}")
        info = _object(chat.get("onlineMeetingInfo"))
        join_url = info.get("joinWebUrl")
        organizer = _object(info.get("organizer")).get("id")
        if not isinstance(join_url, str) or not isinstance(organizer, str) or not organizer:
            raise GraphError(NOT_FOUND)
        user = f"{self._base}/users/{quote(organizer, safe='')}/onlineMeetings"
        # OData string literal: a quote inside is doubled.
        escaped = join_url.replace("'", "''")
        found = await self._get(tenant_id, user, {"$filter": f"JoinWebUrl eq '{escaped}'"})
        meetings = [m for m in found.get("value") or [] if isinstance(m, dict) and m.get("id")]
        if not meetings:
            raise GraphError(NOT_FOUND)
        meeting = f"{user}/{quote(str(meetings[0]['id']), safe='')}"
        listed = await self._get(tenant_id, f"{meeting}/attendanceReports")
        reports = [r for r in listed.get("value") or [] if isinstance(r, dict) and r.get("id")]
        if not reports:
            raise GraphError(NO_REPORT)
        # A recurring meeting has a report per occurrence: the session's is the latest.
        latest = max(reports, key=lambda r: _when(r.get("meetingStartDateTime")))
        url: str | None = (
            f"{meeting}/attendanceReports/{quote(str(latest['id']), safe='')}/attendanceRecords"
        )
        people: list[ReportAttendee] = []
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            page = await self._get(tenant_id, url)
            for record in page.get("value") or []:
                if isinstance(record, dict):
                    identity = _object(record.get("identity"))
                    people.append(
                        attendee(
                            identity.get("id"),
                            identity.get("displayName"),
                            record.get("role"),
                            record.get("totalAttendanceInSeconds"),
                        )
                    )
            url = self._next(page.get("@odata.nextLink"))
        return people

    def _next(self, link: object) -> str | None:
        """The next page, only on Graph itself: the token is never sent anywhere else."""
        if not isinstance(link, str) or not link:
            return None
        ours, theirs = urlsplit(self._base), urlsplit(link)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            log.warning("graph nextLink to another host ignored")
            return None
        return link

    async def _get(
        self, tenant_id: str, url: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        token = await self._tokens.token(tenant_id)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        waited = 0.0
        while True:
            try:
                async with self._session.get(
                    url, params=params, headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    status = response.status
                    if status == 200:
                        body = await response.json(content_type=None)
                        return body if isinstance(body, dict) else {}
                    retry_after = _seconds(response.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                log.warning("graph request failed type=%s", type(error).__name__)
                raise GraphError(UNAVAILABLE) from error
            log.info("graph answered status=%s", status)
            if status == 429 or (status == 503 and retry_after is not None):
                wait = retry_after if retry_after is not None else 1.0
                if waited + wait > RETRY_AFTER_BOUND:
                    raise GraphError(THROTTLED if status == 429 else UNAVAILABLE, status)
                waited += wait
                await self._sleep(wait)
                continue
            if status in (401, 403):
                raise GraphError(NOT_CONSENTED, status)
            if status == 404:
                raise GraphError(NOT_FOUND, status)
            raise GraphError(UNAVAILABLE, status)


def _object(value: object) -> dict[str, Any]:
    """A JSON object of Graph's answer, or an empty one if it is something else."""
    return value if isinstance(value, dict) else {}


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (Graph sends a number of seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _when(value: object) -> str:
    """An ISO 8601 time as a sortable string (Graph's are all UTC, `Z`)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return ""
    return ""
