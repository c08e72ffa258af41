"""Inbound authentication: every activity's token is checked the Bot Framework way.

Why not the SDK's own check: botbuilder 4.17.1 answers 500 instead of 401 for expired tokens,
bad signatures, unknown key ids and `alg: none`, and it fetches the signing keys with a blocking
`requests.get` inside the event loop, so one slow metadata endpoint would stall every click.
Here the keys are fetched with aiohttp (with a timeout), cached for a day, refreshed at most
every few minutes when an unknown key id appears, and every failure is a clean refusal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
)
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

DEFAULT_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_ISSUER = "https://api.botframework.com"
# The scope the bot's replies are sent under (public cloud); the SDK builds connectors with it.
OUTBOUND_SCOPE = "https://api.botframework.com"
CLOCK_SKEW_SECONDS = 5 * 60
KEYS_LIFETIME_SECONDS = 24 * 3600
# An unknown key id may mean the channel rotated its keys; re-fetch, but not on every request.
UNKNOWN_KEY_REFRESH_SECONDS = 5 * 60
FETCH_TIMEOUT_SECONDS = 5


class Unauthorized(Exception):
    """The request's token is missing or invalid (HTTP 401); the reason is for logs only."""


def rs256_key_id(token: str, refusal: type[Exception]) -> str:
    """The key id of an RS256-signed JWT, before its signature is checked; else `refusal`.

    Only RS256: `none` and HMAC tokens (signed with the public key as a secret) are forged.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise refusal("malformed token") from error
    if header.get("alg") != "RS256":
        raise refusal("algorithm not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise refusal("no key id")
    return kid


class MetadataUnavailable(Exception):
    """The signing keys could not be fetched, so no token can be checked (HTTP 503)."""


@dataclass(frozen=True)
class _Key:
    public_key: Any
    endorsements: tuple[str, ...]


class SigningKeys:
    """The channel's signing keys from its OpenID metadata, fetched without blocking."""

    def __init__(self, metadata_url: str) -> None:
        self._metadata_url = metadata_url
        self._keys: dict[str, _Key] = {}
        self._fetched_at = float("-inf")
        # Failed attempts count too: during an outage, unknown key ids must not each retry.
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def get(self, kid: str) -> _Key | None:
        """The key with this id, refreshing the cache when stale or when the id is new."""
        now = time.monotonic()
        may_retry = now - self._attempted_at > UNKNOWN_KEY_REFRESH_SECONDS
        stale = now - self._fetched_at > KEYS_LIFETIME_SECONDS and may_retry
        unknown = kid not in self._keys and may_retry
        if stale or unknown or not self._keys:
            await self._refresh()
        return self._keys.get(kid)

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 1:
                return  # another request refreshed while this one waited
            self._attempted_at = time.monotonic()
            if self._session is None:
                timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
                self._session = aiohttp.ClientSession(timeout=timeout)
            try:
                async with self._session.get(self._metadata_url) as response:
                    response.raise_for_status()
                    metadata = await response.json(content_type=None)
                async with self._session.get(metadata["jwks_uri"]) as response:
                    response.raise_for_status()
                    jwks = await response.json(content_type=None)
                keys = {}
                for entry in jwks.get("keys", []):
                    if entry.get("kty") == "RSA" and entry.get("kid"):
                        keys[entry["kid"]] = _Key(
                            RSAAlgorithm.from_jwk(json.dumps(entry)),
                            tuple(entry.get("endorsements") or ()),
                        )
            except (aiohttp.ClientError, TimeoutError, KeyError, ValueError, TypeError) as error:
                log.warning("signing keys not fetched: %s", type(error).__name__)
                if not self._keys:
                    raise MetadataUnavailable(type(error).__name__) from error
                return  # keep serving with the keys we have
            self._keys = keys
            self._fetched_at = time.monotonic()


class TokenValidator:
    """Checks a channel's token: signature, issuer, audience, expiry, serviceurl, endorsement."""

    def __init__(self, app_id: str, issuer: str, keys: SigningKeys) -> None:
        self._app_id = app_id
        self._issuer = issuer
        self._keys = keys

    async def validate(self, auth_header: str, activity: Activity) -> dict[str, Any]:
        """The token's claims; Unauthorized for anything wrong."""
        scheme, _, token = (auth_header or "").partition(" ")
        # HTTP scheme names are case-insensitive; Teams sends "Bearer".
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("no bearer token")
        token = token.strip()
        kid = rs256_key_id(token, Unauthorized)
        key = await self._keys.get(kid)
        if key is None:
            raise Unauthorized("unknown key id")
        if key.endorsements and activity.channel_id not in key.endorsements:
            raise Unauthorized("channel not endorsed for this key")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["RS256"],
                audience=self._app_id,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(type(error).__name__) from error
        service_url = claims.get("serviceurl")
        if not service_url or service_url != activity.service_url:
            raise Unauthorized("serviceurl claim does not match the activity")
        return claims


class Authenticator:
    """Authenticates an inbound activity and gives the adapter what it needs to reply."""

    def __init__(self, sdk: BotFrameworkAuthentication, validator: TokenValidator | None) -> None:
        self._sdk = sdk
        self._validator = validator

    async def authenticate(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """Unauthorized or MetadataUnavailable, or the result CloudAdapter processes."""
        if self._validator is None:
            # Development mode (no app id): the SDK's anonymous path, no token involved.
            try:
                return await self._sdk.authenticate_request(activity, auth_header)
            except PermissionError as error:
                raise Unauthorized("anonymous request refused") from error
        claims = await self._validator.validate(auth_header, activity)
        identity = ClaimsIdentity(claims, True)
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.audience = OUTBOUND_SCOPE
        result.caller_id = None
        result.connector_factory = self._sdk.create_connector_factory(identity)
        return result
