"""Outbound credentials built once per scope and authority, so the token cache lives on."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import msal
from botbuilder.integration.aiohttp import ConfigurationServiceClientCredentialFactory
from botframework.connector.auth import MicrosoftAppCredentials, ServiceClientCredentialsFactory
from msrest.authentication import Authentication

log = logging.getLogger(__name__)

# Tokens are renewed this often in a worker thread; msal answers from its cache until a token
# is due, so most renewals ask nobody.
_RENEW_SECONDS = 60.0
# A kept token is used on the event loop while it has at least this long left.
_SPARE_SECONDS = 120.0


class SharedCredentialsFactory(ServiceClientCredentialsFactory):
    """Hands out one credentials object per (app, scope, authority) for the app's lifetime."""

    # botframework-connector 4.17.1 builds new credentials for every connector client, that is
    # for every reply and card update: each holds a new msal app, so each asks the authority
    # for a new token, synchronously, on the event loop. One object per scope keeps msal's
    # token cache, and its token is renewed in a worker thread (FreshToken), never on the loop.

    def __init__(self, configuration: Any) -> None:
        self._inner = ConfigurationServiceClientCredentialFactory(configuration)
        self._built: dict[tuple[str, str, str, bool], Authentication] = {}
        self._fresh: list[FreshToken] = []
        self._building: dict[tuple[str, str, str, bool], asyncio.Future[Authentication]] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        """Whether this is the bot's own app id."""
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        """Whether the bot runs without an app id (dev only)."""
        return await self._inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        """The credentials for this scope and authority, built the first time they are asked for."""
        key = (app_id, oauth_scope or "", login_endpoint or "", bool(validate_authority))
        credentials = self._built.get(key)
        if credentials is not None:
            return credentials
        # Turns arriving together wait for one build (and its first token), not each their own.
        building = self._building.get(key)
        if building is None:
            building = self._building[key] = asyncio.ensure_future(
                self._build(key, app_id, oauth_scope, login_endpoint, validate_authority)
            )
        return await asyncio.shield(building)

    async def _build(
        self,
        key: tuple[str, str, str, bool],
        app_id: str,
        oauth_scope: str,
        login_endpoint: str,
        validate_authority: bool,
    ) -> Authentication:
        try:
            credentials = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
            if (
                isinstance(credentials, MicrosoftAppCredentials)
                and credentials.microsoft_app_id
                and not validate_authority
            ):
                # The SDK never hands validate_authority to msal, so an authority outside
                # msal's known list (ADFS-style, a sovereign or private cloud) would be refused.
                credentials.app = msal.ConfidentialClientApplication(
                    client_id=credentials.microsoft_app_id,
                    client_credential=credentials.microsoft_app_password,
                    authority=credentials.oauth_endpoint,
                    validate_authority=False,
                )
            if isinstance(credentials, MicrosoftAppCredentials) and credentials.microsoft_app_id:
                fresh = FreshToken(credentials)
                try:
                    await asyncio.to_thread(fresh.renew)
                except Exception as error:  # signing asks msal itself, and says why
                    log.warning("token not fetched ahead: %s", type(error).__name__)
                self._fresh.append(fresh)
            self._built[key] = credentials
            return credentials
        finally:
            del self._building[key]

    async def keep_fresh(self, every: float = _RENEW_SECONDS) -> None:
        """Renew every token in a worker thread every `every` seconds, until cancelled."""
        while True:
            await asyncio.sleep(every)
            for fresh in list(self._fresh):
                try:
                    await asyncio.to_thread(fresh.renew)
                except Exception as error:  # the authority unreachable: next round, or on use
                    log.warning("token not renewed: %s", type(error).__name__)


class FreshToken:
    """One credentials object's token, renewed in a worker thread before anyone needs it.

    msrest signs replies synchronously on the event loop; when msal's cached token is due,
    that call would wait on the token authority and stall every click meanwhile. `renew` runs
    in a thread (at the first use, then every minute from the app's lifetime) and keeps the
    token msal gives with its expiry; signing on the loop takes the kept token while it has two
    minutes left, and only asks msal itself (one thread at a time) when renewal has failed.
    """

    def __init__(self, credentials: MicrosoftAppCredentials, clock: Any = time.time) -> None:
        self._credentials = credentials
        self._fetch = credentials.get_access_token
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._until = 0.0
        credentials.get_access_token = self.get_access_token

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The kept token while it has two minutes left, else msal's (the SDK's signature)."""
        if self._token and self._until - self._clock() > _SPARE_SECONDS and not force_refresh:
            return self._token
        with self._lock:
            return str(self._fetch(force_refresh))

    def renew(self) -> None:
        """Ask msal for the token (from its cache, or the authority when due); blocking."""
        with self._lock:
            if self._credentials.app is None:
                self._fetch()  # the SDK builds its msal app on first use
            scope = self._credentials.oauth_scope
            if not scope.endswith("/.default"):
                scope += "/.default"
            asked = self._clock()
            result = self._credentials.app.acquire_token_for_client(scopes=[scope])
            token, lasts = result.get("access_token"), result.get("expires_in")
            if isinstance(token, str) and token and isinstance(lasts, int | float):
                self._token, self._until = token, asked + float(lasts)
            else:
                # Refused (a wrong secret, say): signing asks msal again and reports it.
                self._token, self._until = "", 0.0
