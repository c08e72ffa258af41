"""Outbound credentials built once per scope and authority, so the token cache lives on."""

from __future__ import annotations

import threading
from typing import Any

import msal
from botbuilder.integration.aiohttp import ConfigurationServiceClientCredentialFactory
from botframework.connector.auth import MicrosoftAppCredentials, ServiceClientCredentialsFactory
from msrest.authentication import Authentication


class SharedCredentialsFactory(ServiceClientCredentialsFactory):
    """Hands out one credentials object per (app, scope, authority) for the app's lifetime."""

    # botframework-connector 4.17.1 builds new credentials for every connector client, that is
    # for every reply and card update: each holds a new msal app, so each asks the authority
    # for a new token, synchronously, on the event loop. One object per scope keeps msal's
    # token cache, and a token is fetched about once an hour instead of once per message.

    def __init__(self, configuration: Any) -> None:
        self._inner = ConfigurationServiceClientCredentialFactory(configuration)
        self._built: dict[tuple[str, str, str, bool], Authentication] = {}

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
        if credentials is None:
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
            if isinstance(credentials, MicrosoftAppCredentials):
                _one_fetch_at_a_time(credentials)
            self._built[key] = credentials
        return credentials


def _one_fetch_at_a_time(credentials: MicrosoftAppCredentials) -> None:
    """Let one thread at a time ask msal for the token, so the others find it in its cache."""
    # Card edits sign in a worker thread and replies on the event loop (msrest's async policy
    # signs synchronously); at the start of a burst several would each find msal's cache empty
    # and each fetch a token. A reply waiting here waits for that one fetch, no longer than
    # it would have taken to fetch its own.
    fetch = credentials.get_access_token
    lock = threading.Lock()

    def get_access_token(force_refresh: bool = False) -> str:
        with lock:
            return fetch(force_refresh)

    credentials.get_access_token = get_access_token
