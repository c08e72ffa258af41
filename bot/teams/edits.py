"""Edits of posted cards sent straight to the Bot Connector's REST API: paced, signed, retried."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from botbuilder.core import CardFactory
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from yarl import URL

from bot.teams.outbound import backoff
from bot.teams.pacing import ChatPacer

log = logging.getLogger(__name__)

# The SDK's edit was up to 5 calls of 4 attempts each (msrest retried a 5xx 3 times itself);
# 8 attempts, doubling from a quarter second to at most 3 s apart, outlast a fault of 12 s.
_ATTEMPTS = 8
_FIRST_PAUSE = 0.25
_LONGEST_PAUSE = 3.0
_TIMEOUT = aiohttp.ClientTimeout(total=15)
# A signed header is reused this long: msal hands out the same cached token for about an hour
# and renews it five minutes before it expires, so a minute-old header is never a stale one.
_HEADER_SECONDS = 60.0


class EditRefused(Exception):
    """The Bot Connector refused an edit for good (the message is gone, the bot was removed)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"card edit refused status={status}")
        self.status = status


class CardEdits:
    """Replaces a posted message's card: `PUT /v3/conversations/{id}/activities/{id}`.

    botbuilder would run a turn for each edit: a deep copy of the activity, msrest's walk over
    every element of the card, and a blocking `requests` call in a worker thread, which made
    the shared cards of a morning's burst a sixth of the bot's CPU. The request here is the one
    the SDK makes, signed with the SDK's own credentials for the same app and service URL, and
    each attempt takes a slot of the same pacer as every other message the bot sends.
    """

    def __init__(
        self,
        adapter: CloudAdapterBase,
        app_id: str,
        pacer: ChatPacer,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._pacer = pacer
        self._clock = clock
        self._headers: dict[str, tuple[float, dict[str, str]]] = {}
        # One signing at a time: edits starting together would each ask msal, whose cache is
        # still empty, for a token of their own.
        self._signing = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None
        self._closed = False

    async def close(self) -> None:
        """Close the HTTP session (at the app's shutdown); later edits are refused."""
        self._closed = True
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def replace(
        self,
        service_url: str,
        conversation_id: str,
        bot_id: str,
        activity_id: str,
        card: dict[str, Any],
    ) -> None:
        """Show `card` in the message; raises EditRefused, or the last error after retries."""
        base = service_url.rstrip("/")
        conversation, activity = quote(conversation_id, safe=""), quote(activity_id, safe="")
        # Sent as encoded here: yarl would otherwise decode ':', '@' and ';' in Teams' ids.
        url = URL(f"{base}/v3/conversations/{conversation}/activities/{activity}", encoded=True)
        body = json.dumps(
            {
                "type": "message",
                "id": activity_id,
                "channelId": "msteams",
                "serviceUrl": service_url,
                "conversation": {"id": conversation_id},
                "from": {"id": bot_id},
                "attachments": [
                    {"contentType": CardFactory.content_types.adaptive_card, "content": card}
                ],
            },
            # ASCII with escapes, as the SDK sent it: text from a card may hold a lone
            # surrogate, which UTF-8 cannot encode but a JSON escape can carry.
        ).encode("ascii")
        if self._closed:
            raise EditRefused(0)
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=_TIMEOUT)
        refused_token = False
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                # Signed first: the pacer counts the request when it leaves, not while a token
                # is being fetched.
                headers = await self._signed(service_url)
                # Every attempt is a request Teams counts against the chat's and the app's limits.
                await self._pacer.slot(conversation_id)
                async with self._http.put(url, data=body, headers=headers) as response:
                    status = response.status
                    wait = self._pause(response, attempt)
                    # Read to the end, so the connection is kept for the next edit.
                    await response.read()
            except Exception as error:  # the network, or msal fetching the token
                if attempt == _ATTEMPTS:
                    raise
                log.info("card edit retried error=%s", type(error).__name__)
                await asyncio.sleep(self._pause(None, attempt))
                continue
            if status < 300:
                return
            retryable = status == 429 or status >= 500
            if status == 401 and not refused_token:
                # A token the connector no longer takes: sign once more, then give up.
                refused_token = retryable = True
                self._headers.pop(service_url, None)
            if not retryable or attempt == _ATTEMPTS:
                raise EditRefused(status)
            await asyncio.sleep(wait)

    @staticmethod
    def _pause(response: Any, attempt: int) -> float:
        return backoff(response, attempt, first=_FIRST_PAUSE, longest=_LONGEST_PAUSE)

    async def _signed(self, service_url: str) -> dict[str, str]:
        """Content type and, with an app id, the bearer token the SDK would send."""
        kept = self._headers.get(service_url)
        if kept is not None and self._clock() - kept[0] < _HEADER_SECONDS:
            return kept[1]
        async with self._signing:
            kept = self._headers.get(service_url)
            now = self._clock()
            if kept is not None and now - kept[0] < _HEADER_SECONDS:
                return kept[1]
            headers = await self._sign(service_url)
            self._headers[service_url] = (now, headers)
            return headers

    async def _sign(self, service_url: str) -> dict[str, str]:
        auth = self._adapter.bot_framework_authentication
        factory = auth.create_connector_factory(self._adapter.create_claims_identity(self._app_id))
        client = await factory.create(service_url, None)
        credentials = client.config.credentials

        def sign() -> str | None:
            # msal's token call blocks; the SDK's own signed session decides whether to sign.
            session = credentials.signed_session()
            try:
                value = session.headers.get("Authorization")
                return str(value) if value else None
            finally:
                session.close()

        authorization = await asyncio.to_thread(sign)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if authorization:
            headers["Authorization"] = authorization
        return headers
