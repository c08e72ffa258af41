"""Who is calling a page's fetch: a Teams SSO token checked against Entra, or an event ticket.

The page asks TeamsJS for a token (`authentication.getAuthToken`) and sends it as
`Authorization: Bearer <token>`. The signature is checked against Entra's signing keys
(fetched with aiohttp and cached by bot/teams/auth.py's SigningKeys), the issuer against the
token's own tenant, that tenant against the allow-list, the audience against the app's
`api://` resource, and `exp`/`nbf`. Roles are not decided here: the callers hand the person
to the rules of dialogs/ (require_leader, require_director, Directory.roles).

EventSource cannot send headers, so an authenticated page asks for a ticket: a grant signed
with a key derived from the secret (bot/teams/signing.py), valid for a minute, naming the
person and the one stream it opens.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import jwt
from aiohttp import web

from bot.settings import Settings
from bot.teams.auth import CLOCK_SKEW_SECONDS, MetadataUnavailable, SigningKeys, rs256_key_id
from bot.teams.identity import display_name
from bot.teams.signing import Signer
from storage.records import Person

log = logging.getLogger(__name__)

ENTRA_METADATA_URL = (
    "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
)
TICKET_SECONDS = 60
# The scope Teams asks for in webApplicationInfo's resource (the manifest's "access_as_user").
SCOPE = "access_as_user"


@dataclass(frozen=True)
class WebCaller:
    """A signed-in person on a page: Entra object id, tenant and display name (lower-case ids)."""

    aad_object_id: str
    tenant_id: str
    name: str

    def person(self) -> Person:
        """As the rules know a person (no Teams MRI on the web: cards are addressed by chat)."""
        return Person(aad_id=self.aad_object_id, mri="", name=self.name)


class Refused(Exception):
    """The token is not one we accept; `status` is 401 (who are you) or 403 (not served)."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.status = status


class SsoValidator:
    """Checks a Teams SSO token: Entra's signature, issuer, tenant, audience, scope, times."""

    def __init__(self, settings: Settings, keys: SigningKeys) -> None:
        self._settings = settings
        self._keys = keys
        resource = settings.web_sso_resource
        # A v1 token names the Application ID URI; a v2 token names the app's client id.
        self._audiences = [a for a in (resource, settings.app_id) if a]

    async def validate(self, token: str) -> WebCaller:
        """The caller this token names; Refused for anything wrong."""
        if not self._audiences:
            raise Refused("WEB_SSO_RESOURCE not configured")
        kid = rs256_key_id(token, Refused)
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise Refused("malformed token") from error
        tenant = str(unverified.get("tid") or "").lower()
        issuers = [
            f"https://login.microsoftonline.com/{tenant}/v2.0",
            f"https://sts.windows.net/{tenant}/",
        ]
        key = await self._keys.get(kid)
        if key is None:
            raise Refused("unknown key id")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["RS256"],
                audience=self._audiences,
                issuer=issuers,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "nbf", "iss", "aud", "tid", "oid"]},
            )
        except jwt.PyJWTError as error:
            raise Refused(type(error).__name__) from error
        scopes = str(claims.get("scp") or "").split()
        if SCOPE not in scopes:
            raise Refused("scope missing")
        oid = str(claims["oid"]).lower()
        if not tenant or not oid:
            raise Refused("no tenant or object id")
        # Signed and ours, but from a tenant we do not serve: not who, but where.
        if not self._settings.tenant_allowed(tenant):
            raise Refused("tenant not on the allow-list", 403)
        return WebCaller(oid, tenant, display_name(claims.get("name")))


class WebIdentity:
    """`caller(request)` for the pages' fetch calls and event streams."""

    def __init__(self, validator: SsoValidator, secret: str) -> None:
        self._validator = validator
        self._tickets = Signer(secret, b"dialogue-bot/web-tickets")

    async def caller(self, request: web.Request) -> WebCaller | None:
        """The caller, or None when the request carries no acceptable token."""
        try:
            return await self.require(request)
        except web.HTTPException:
            return None

    async def require(self, request: web.Request) -> WebCaller:
        """The caller; a plain 401/403 (or 503 without signing keys) that says nothing else."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _plain(401)
        try:
            return await self._validator.validate(token.strip())
        except Refused as refusal:
            log.info("web token refused: %s", refusal)
            raise _plain(refusal.status) from None
        except MetadataUnavailable:
            raise _plain(503) from None

    def ticket(self, caller: WebCaller, stream: str) -> str:
        """A ticket that opens this one event stream for this caller, for TICKET_SECONDS."""
        return self._tickets.sign(
            {
                "oid": caller.aad_object_id,
                "tid": caller.tenant_id,
                "name": caller.name,
                "stream": stream,
                "exp": int(time.time()) + TICKET_SECONDS,
            }
        )

    def from_ticket(self, ticket: str, stream: str) -> WebCaller | None:
        """The caller a valid, unexpired ticket for this stream names; None otherwise."""
        grant = self._tickets.verify(ticket)
        if grant is None or grant.get("stream") != stream:
            return None
        expires = grant.get("exp")
        if not isinstance(expires, int) or expires < time.time():
            return None
        fields = (grant.get("oid"), grant.get("tid"), grant.get("name"))
        if not all(isinstance(f, str) for f in fields):
            return None
        oid, tid, name = (str(f) for f in fields)
        return WebCaller(oid, tid, name)


def create_identity(settings: Settings) -> tuple[WebIdentity, SigningKeys]:
    """The identity check the pages use, and its key cache (to close with the app)."""
    keys = SigningKeys(settings.web_openid_metadata_url or ENTRA_METADATA_URL)
    if not settings.web_sso_resource:
        log.warning("WEB_SSO_RESOURCE is not set: the meeting pages refuse every token")
    return WebIdentity(SsoValidator(settings, keys), settings.anonymity_secret), keys


def _plain(status: int) -> web.HTTPException:
    """An HTTP refusal with a body that reveals nothing about why."""
    if status == 403:
        return web.HTTPForbidden(text="forbidden")
    if status == 503:
        return web.HTTPServiceUnavailable(text="try again later")
    return web.HTTPUnauthorized(text="unauthorized")
