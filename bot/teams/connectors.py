"""Bot Connector and token clients built once per destination and reused by every turn."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenValidation,
    UserTokenClient,
)

# Destinations kept: Teams replies go to a handful of regional service URLs.
_KEPT = 32


class ReusedClients(BotFrameworkAuthentication):
    """botbuilder's authentication, except that its clients outlive the turn that made them."""

    # botbuilder 4.17 builds a new connector client and a new user-token client for every
    # turn and every proactive card update: each builds msrest configuration, a retry policy
    # and a new HTTP session, so every reply opened a new connection (and TLS handshake) to
    # the Bot Connector. One client per (app, service URL, audience) keeps its connections.

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self._inner = inner
        self._connectors: OrderedDict[tuple[str, str, str], ConnectorClient] = OrderedDict()
        self._token_clients: OrderedDict[str, UserTokenClient] = OrderedDict()

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        """Delegated; the result's connector factory reuses clients."""
        result = await self._inner.authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = self._reusing(
                result.connector_factory, result.claims_identity
            )
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        """Delegated (the bot serves no streaming requests)."""
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        """A factory that hands out this app's kept client for a service URL."""
        return self._reusing(self._inner.create_connector_factory(claims_identity), claims_identity)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        """The kept user-token client of this app (the SDK asks for one every turn)."""
        key = _app_id(claims_identity)
        client = self._token_clients.get(key)
        if client is None:
            client = await self._inner.create_user_token_client(claims_identity)
            _keep(self._token_clients, key, client)
        return client

    def get_originating_audience(self) -> str:
        """Delegated."""
        return self._inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        """Delegated."""
        return await self._inner.authenticate_channel_request(auth_header)

    def _reusing(
        self, factory: ConnectorFactory, claims_identity: ClaimsIdentity | None
    ) -> ConnectorFactory:
        return _ReusingFactory(factory, self._connectors, _app_id(claims_identity))


class _ReusingFactory(ConnectorFactory):
    """Builds a connector client the first time a destination is asked for, then reuses it."""

    def __init__(
        self,
        inner: ConnectorFactory,
        kept: OrderedDict[tuple[str, str, str], ConnectorClient],
        app_id: str,
    ) -> None:
        self._inner = inner
        self._kept = kept
        self._app_id = app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        """The client for this service URL and audience."""
        key = (self._app_id, service_url or "", audience or "")
        client = self._kept.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            _keep(self._kept, key, client)
        return client


def _app_id(claims_identity: ClaimsIdentity | None) -> str:
    if claims_identity is None or not claims_identity.claims:
        return ""
    return JwtTokenValidation.get_app_id_from_claims(claims_identity.claims) or ""


K = TypeVar("K")
V = TypeVar("V")


def _keep(kept: OrderedDict[K, V], key: K, value: V) -> None:
    kept[key] = value
    while len(kept) > _KEPT:
        kept.popitem(last=False)
