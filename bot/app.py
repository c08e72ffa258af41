"""The app factory: wires settings, storage, the Bot Framework adapter and the handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes
from msrest.exceptions import DeserializationError
from msrest.serialization import Model

from bot.card_updates import CardUpdater
from bot.handler import DialogueBot
from bot.settings import Settings
from bot.views import Views
from cards.catalog import Catalogs, resolve_language
from cards.renderer import CardRenderer
from dialogs.signin import SignInService
from storage import TableStore
from storage.records import SessionRecord

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", TableStore)
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", DialogueBot)
UPDATER = web.AppKey("updater", CardUpdater)


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


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> web.Application:
    """Build the aiohttp application; clients open and close with its lifetime."""
    app = web.Application(middlewares=[_errors])
    app[SETTINGS] = settings
    catalogs = Catalogs.load()
    renderer = CardRenderer(catalogs)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        store = TableStore(settings.tables_connection_string, settings.table_prefix)
        await store.open()
        adapter = _adapter(settings, renderer)
        views = Views(renderer, settings)
        signin = SignInService(
            store.sessions,
            store.attendance,
            entity_codes=[e.code for e in settings.entities],
            cycle=settings.cycle,
            clock=clock,
        )

        async def render_shared(session: SessionRecord):  # noqa: ANN202 - see CardUpdater.Render
            current = await signin.active(session.conversation_id)
            if current is None or current.session_id != session.session_id:
                # Ended: show the final state; nobody's card should keep offering Sign in.
                current = await store.sessions.get(
                    session.cycle, session.entity, session.session_id
                )
            if current is None:
                return None
            sheet = await signin.sheet(current)
            return current, views.sheet(sheet, current.language)

        updater = CardUpdater(
            adapter, settings.app_id, render_shared, settings.card_update_interval
        )
        app[STORE] = store
        app[ADAPTER] = adapter
        app[UPDATER] = updater
        app[BOT] = DialogueBot(settings, signin, views, updater, clock)
        try:
            yield
        finally:
            await updater.flush()
            await store.close()

    app.cleanup_ctx.append(lifetime)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/healthz", _healthz)
    return app


def _adapter(settings: Settings, renderer: CardRenderer) -> CloudAdapter:
    config = _AdapterConfig(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.app_tenant_id,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.openid_metadata_url or None,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=settings.token_issuer or None,
    )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))

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
            await turn_context.send_activity(renderer.text(lang, "error.not_saved"))

    adapter.on_turn_error = on_error
    return adapter


@web.middleware
async def _errors(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Log unexpected failures and answer 500 without details; HTTP errors pass through."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as error:
        log.error(
            "request failed path=%s type=%s", request.path, type(error).__name__, exc_info=error
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
    except (ValueError, DeserializationError):
        return web.json_response({"error": "the body is not a Bot Framework activity"}, status=400)
    if not activity.type:
        return web.json_response({"error": "the activity has no type"}, status=400)
    auth_header = request.headers.get("Authorization", "")
    app = request.app
    try:
        response = await app[ADAPTER].process_activity(auth_header, activity, app[BOT].on_turn)
    except PermissionError:
        return web.json_response({"error": "unauthorized"}, status=401)
    if response is None:
        return web.Response(status=201)
    body = response.body
    if isinstance(body, Model):
        body = body.serialize()
    return web.json_response(body, status=response.status)


async def _healthz(request: web.Request) -> web.Response:
    """200 only when storage answers, so a load balancer stops sending to a broken instance."""
    store = request.app.get(STORE)
    if store is not None and await store.ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "storage unavailable"}, status=503)
