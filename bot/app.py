"""The app factory: settings, storage, the Bot Framework adapter and the HTTP routes."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import typedefs as web_typedefs
from aiohttp import web
from azure.core.exceptions import DeserializationError
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.auth import BotFrameworkAuthentication

from bot.meeting.page import bubble_response
from bot.meeting.views import MeetingViews
from bot.rollup.downloads import Downloads
from bot.settings import Settings, SettingsError
from bot.teams.auth import (
    DEFAULT_ISSUER,
    DEFAULT_METADATA_URL,
    Authenticator,
    MetadataUnavailable,
    SigningKeys,
    TokenValidator,
    Unauthorized,
)
from bot.teams.card_updates import CardUpdater
from bot.teams.connectors import ReusedClients
from bot.teams.context import invoke_body
from bot.teams.credentials import SharedCredentialsFactory
from bot.teams.identity import tenant_of
from bot.teams.logs import install_correlation, new_correlation, redact
from bot.teams.pacing import ChatPacer, Fleet
from bot.teams.router import DialogueBot
from bot.teams.sdk_speedups import cheap_retry_policies
from bot.web.dashboard import Dashboard
from bot.web.dashboard import add_routes as add_dashboard_routes
from bot.web.dev import DevSignIn
from bot.web.identity import WebIdentity, create_identity
from bot.web.meeting import MeetingPages
from bot.web.pages import PageShell
from bot.wiring import wire
from cards.catalog import Catalogs, resolve_language
from cards.library import PackLibrary
from cards.packs import load_all
from cards.renderer import CardRenderer
from dialogs.errors import DialogueError
from storage import StorageUnavailable, TableStore

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", TableStore)
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", DialogueBot)
UPDATER = web.AppKey("updater", CardUpdater)
DOWNLOADS = web.AppKey("downloads", Downloads)
MEETING_VIEWS = web.AppKey("meeting_views", MeetingViews)
DASHBOARD = web.AppKey("dashboard", Dashboard)
AUTH = web.AppKey("auth", Authenticator)
WEB_IDENTITY = web.AppKey("web_identity", WebIdentity)
MEETING = web.AppKey("meeting", MeetingPages)
FLUSH: web.AppKey[Callable[[], Awaitable[None]]] = web.AppKey("flush")
TURNS = web.AppKey("turns", asyncio.Semaphore)
# Turns run at once by one process; more would only interleave, not finish sooner.
TURNS_AT_ONCE = 64


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class _AdapterConfig:
    """The attribute names botbuilder's configuration classes read."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str | None
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str | None
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str | None
    VALIDATE_AUTHORITY: bool


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> web.Application:
    """Build the aiohttp application; clients open and close with its lifetime."""
    install_correlation()
    cheap_retry_policies()
    app = web.Application(middlewares=[_errors])
    app[SETTINGS] = settings
    renderer = CardRenderer(Catalogs.load())
    # A broken content pack stops the start with the file, field and reason.
    library = PackLibrary(load_all())
    if not library.has(settings.content_pack):
        raise SettingsError(
            f"CONTENT_PACK={settings.content_pack}: no such pack (have: {', '.join(library.ids())})"
        )

    # The pages' SSO check: Entra's keys, fetched when the first page asks, closed with the app.
    identity, web_keys = create_identity(settings)
    app[WEB_IDENTITY] = identity
    shell = PageShell(settings, renderer.catalogs, identity)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        store = TableStore(settings.tables_connection_string, settings.table_prefix)
        await store.open()
        config = _adapter_config(settings)
        credentials = SharedCredentialsFactory(config)
        sdk_auth = ReusedClients(
            ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials)
        )
        # Outbound tokens are renewed in a worker thread, so no reply waits on the authority.
        renewals = asyncio.create_task(credentials.keep_fresh())
        # Teams counts its limits for the whole app: every instance paces to its share.
        fleet = Fleet(store.instances, clock)
        await fleet.join()
        beats = asyncio.create_task(fleet.run())
        pacer = ChatPacer(fleet=fleet)
        adapter = _adapter(sdk_auth, renderer, pacer)
        keys = SigningKeys(settings.openid_metadata_url or DEFAULT_METADATA_URL)
        # With an app id every token is checked (also under --dev); without one, --dev only.
        validator = (
            TokenValidator(settings.app_id, settings.token_issuer or DEFAULT_ISSUER, keys)
            if settings.app_id
            else None
        )
        wired = await wire(
            settings, store, adapter, renderer, library, clock, identity, pacer=pacer
        )
        app[STORE] = store
        app[ADAPTER] = adapter
        app[UPDATER] = wired.updater
        app[BOT] = wired.bot
        app[DOWNLOADS] = wired.downloads
        app[MEETING_VIEWS] = wired.meeting_views
        shell.directory = wired.directory
        app[DASHBOARD] = Dashboard(
            wired.directory,
            wired.rollup,
            wired.downloads,
            renderer,
            wired.rollup_views,
            caller=identity.caller,
            clock=clock,
        )
        app[MEETING] = wired.meeting
        app[AUTH] = Authenticator(sdk_auth, validator)
        app[FLUSH] = wired.flush
        app[TURNS] = asyncio.Semaphore(TURNS_AT_ONCE)
        # Closing is idempotent, so every instance may sweep: anonymity never waits for a look.
        sweeps = [
            asyncio.create_task(_every(sweep.seconds, sweep.work, sweep.name))
            for sweep in wired.sweeps
        ]
        try:
            yield
        finally:
            for sweep in sweeps:
                sweep.cancel()
            await asyncio.gather(*sweeps, return_exceptions=True)
            await wired.flush()
            beats.cancel()
            renewals.cancel()
            await asyncio.gather(beats, renewals, return_exceptions=True)
            await fleet.leave()
            await wired.close()
            await keys.close()
            await web_keys.close()
            await store.close()

    app.cleanup_ctx.append(lifetime)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/exports/{token}", _export)
    app.router.add_get("/meeting/bubble/{kind}", _bubble)
    add_dashboard_routes(app.router, lambda request: request.app[DASHBOARD])
    shell.add_routes(app)
    for path, name in (("panel", "panel"), ("stage", "stage"), ("events", "events")):
        app.router.add_get(f"/web/api/meeting/{path}", _meeting(name))
    app.router.add_post("/web/api/meeting/act", _meeting("act"))
    # Open event streams end at shutdown, so stopping never waits on a watching stage.
    app.on_shutdown.append(lambda app: app[MEETING].close() if MEETING in app else _nothing())
    if settings.dev:
        # Local sign-in exists only with --dev (bound to loopback); production has no such path.
        DevSignIn(
            settings.dev_signin_authority, settings.web_sso_resource, renderer.catalogs
        ).add_routes(app)
    return app


async def _every(seconds: float, work: Callable[[], Awaitable[object]], what: str) -> None:
    """Run a sweep now and then every `seconds`, until cancelled; a failure waits for the next."""
    while True:
        try:
            await work()
        except StorageUnavailable as error:
            # The next round (or the next look at what it closes) does it.
            log.warning("%s sweep failed: %s", what, error)
        except DialogueError as error:
            log.warning("%s sweep failed key=%s", what, error.key)
        except Exception:  # a background task must log, not die silently
            log.exception("%s sweep failed", what)
        await asyncio.sleep(seconds)


def _adapter_config(settings: Settings) -> _AdapterConfig:
    return _AdapterConfig(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.app_tenant_id,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.openid_metadata_url or None,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=settings.token_issuer or None,
        TO_CHANNEL_FROM_BOT_LOGIN_URL=settings.login_url or None,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=settings.oauth_scope or None,
        VALIDATE_AUTHORITY=settings.validate_authority,
    )


def _adapter(
    auth: BotFrameworkAuthentication, renderer: CardRenderer, pacer: ChatPacer
) -> CloudAdapter:
    adapter = CloudAdapter(auth)
    # The same pacer paces the card edits sent past the adapter (bot/teams/edits.py).
    adapter.use(pacer)

    async def on_error(turn_context: TurnContext, error: Exception) -> None:
        # Log the type and where, never the activity's text: it may hold names or answers.
        log.error(
            "unhandled error type=%s activity=%s",
            type(error).__name__,
            turn_context.activity.type,
            exc_info=error,
        )
        if turn_context.activity.type == ActivityTypes.message:
            lang = resolve_language(turn_context.activity.locale)
            try:
                await turn_context.send_activity(renderer.text(lang, "error.not_saved"))
            except Exception as failure:  # the channel itself is failing: nothing more to do
                log.warning("apology not delivered type=%s", type(failure).__name__)

    adapter.on_turn_error = on_error
    return adapter


@web.middleware
async def _errors(request: web.Request, handler: web_typedefs.Handler) -> web.StreamResponse:
    """Log unexpected failures and answer 500 without details; HTTP errors pass through."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as error:
        log.error(
            "request failed path=%s type=%s",
            redact(request.path.replace("\n", " ")),
            type(error).__name__,
            exc_info=error,
        )
        return web.json_response({"error": "internal error"}, status=500)


async def _messages(request: web.Request) -> web.Response:
    """The Bot Framework endpoint: one activity in, an invoke response or 201 out."""
    if request.content_type != "application/json":
        return web.json_response({"error": "Content-Type must be application/json"}, status=415)
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("not an object")
        activity = Activity().deserialize(body)
    except (ValueError, DeserializationError, RecursionError, LookupError):
        # RecursionError: deeply nested JSON; LookupError: an unknown charset.
        return web.json_response({"error": "the body is not a Bot Framework activity"}, status=400)
    if not activity.type:
        return web.json_response({"error": "the activity has no type"}, status=400)
    if not _plausible(activity):
        return web.json_response({"error": "the activity's ids are not plausible"}, status=400)
    new_correlation(activity.id)
    app = request.app
    try:
        authenticated = await app[AUTH].authenticate(
            activity, request.headers.get("Authorization", "")
        )
    except Unauthorized as refusal:
        log.info("refused: %s", refusal)
        return web.json_response({"error": "unauthorized"}, status=401)
    except MetadataUnavailable:
        return web.json_response({"error": "try again later"}, status=503)
    # Only after the token is checked are the envelope's channel and tenant worth believing.
    if not app[SETTINGS].channel_allowed(activity.channel_id):
        log.warning("refused: channel not served")
        return web.json_response({"error": "forbidden"}, status=403)
    if not app[SETTINGS].tenant_allowed(tenant_of(activity)):
        log.warning("refused: tenant not on the allow-list")
        return web.json_response({"error": "forbidden"}, status=403)
    # Past a few dozen turns at once the bot only gets slower, and each turn in flight holds
    # its objects: the rest wait here as a small parsed request, so memory stays bounded.
    async with app[TURNS]:
        if not await _first_delivery(app, activity):
            log.info("redelivered activity ignored type=%s", activity.type)
            return web.Response(status=201)
        response = await app[ADAPTER].process_activity(authenticated, activity, app[BOT].on_turn)
    if response is None:
        return web.Response(status=201)
    return web.json_response(invoke_body(response.body), status=response.status)


# Teams ids: letters, digits and a little punctuation (19:…@thread.v2, a:1…, 1700000000000,
# "…;messageid=…"). Nothing that would change the meaning of a URL path.
_ID = re.compile(r"[A-Za-z0-9:_\-.@|;=+,!~]{1,512}")


def _plausible(activity: Activity) -> bool:
    """Ids Teams sends are short; absurd ones would only break the URLs of our replies.

    The serviceUrl is where replies go: without a plausible one the SDK would fall back to the
    public Bot Connector, so an activity without it is refused rather than half-served.
    """
    conversation_id = getattr(activity.conversation, "id", None) if activity.conversation else None
    if not isinstance(conversation_id, str):
        return False  # every reply and every record is keyed by the conversation
    for account in (activity.recipient, activity.from_property):
        # Teams always names the bot and the sender; replies are addressed with both.
        if account is None or not isinstance(account.id, str) or not account.id:
            return False
    service_url = activity.service_url
    if not (
        isinstance(service_url, str)
        and len(service_url) <= 512
        and service_url.startswith(("https://", "http://"))
    ):
        return False
    return (
        (activity.id is None or _ID.fullmatch(str(activity.id)) is not None)
        and _ID.fullmatch(conversation_id) is not None
        and (activity.reply_to_id is None or _ID.fullmatch(str(activity.reply_to_id)) is not None)
    )


async def _first_delivery(app: web.Application, activity: Activity) -> bool:
    """Messages and events are acted on once, however often they are delivered.

    Card actions are not marked: Teams retries an unanswered invoke and expects the card
    again, and every action is idempotent by itself.
    """
    if activity.type == ActivityTypes.invoke or not activity.id or not activity.conversation:
        return True
    conversation_id = getattr(activity.conversation, "id", None)
    if not isinstance(conversation_id, str):
        return True
    try:
        return await app[STORE].dedupe.first_delivery(conversation_id, activity.id, utc_now())
    except StorageUnavailable:
        # Better to risk a repeated reply than to drop a person's message.
        return True


def _meeting(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A route of the meeting pages (built once the app is wired)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = getattr(
            request.app[MEETING], name
        )
        return await handler(request)

    return handle


async def _nothing() -> None:
    """Nothing to close."""


async def _export(request: web.Request) -> web.Response:
    """A signed export link: the file, generated from storage now."""
    return await request.app[DOWNLOADS].handle(request)


async def _bubble(request: web.Request) -> web.Response:
    """The page of an in-meeting nudge."""
    return await bubble_response(request.app[MEETING_VIEWS], request)


async def _healthz(request: web.Request) -> web.Response:
    """200 only when storage answers, so a load balancer stops sending to a broken instance."""
    store = request.app.get(STORE)
    if store is not None and await store.ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "storage unavailable"}, status=503)
