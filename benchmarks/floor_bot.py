"""The floor: the least any bot on this stack does per card action, as a process of its own.

`python -m benchmarks.floor_bot` reads the same settings as `python -m bot` and, for every
Action.Execute, does only the unavoidable: parse the activity, check its token with the bot's
own validator (bot.teams.auth, same keys and checks), check the tenant, run the CloudAdapter turn
(which builds its connector and token clients as for any turn), upsert one Azure Tables row
and answer with a static card. The load generator runs the same clicks against it; the ratio
of the Dialogue Bot's figures to these is what our own code costs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableServiceClient
from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse
from msrest.exceptions import DeserializationError
from msrest.serialization import Model

from bot.app import TURNS, TURNS_AT_ONCE, _adapter_config  # same configuration
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
from bot.teams.connectors import ReusedClients
from bot.teams.credentials import SharedCredentialsFactory
from bot.teams.identity import tenant_of
from bot.teams.sdk_speedups import cheap_retry_policies
from cards.renderer import CARD_CONTENT_TYPE
from storage.keys import digest

TABLE = "floor"
AUTH = web.AppKey("auth", Authenticator)
ADAPTER = web.AppKey("adapter", CloudAdapter)
HANDLER = web.AppKey("handler", ActivityHandler)
SETTINGS = web.AppKey("settings", Settings)
STATIC_CARD = {
    "type": "AdaptiveCard",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Done.", "wrap": True}],
}


def row_of(activity: Activity) -> dict[str, Any]:
    """The one row a click writes: one per person, action and session (a change overwrites)."""
    value = activity.value if isinstance(activity.value, dict) else {}
    action = value.get("action") if isinstance(value.get("action"), dict) else {}
    data = action.get("data") if isinstance(action.get("data"), dict) else {}
    verb = str(action.get("verb", ""))
    person = str(getattr(activity.from_property, "aad_object_id", "") or "")
    return {
        "PartitionKey": str(data.get("sid") or digest("chat", activity.conversation.id)),
        "RowKey": digest(verb, str(data.get("poll", "")), person),
        "Verb": verb,
        "Choice": str(data.get("vote", "")),
    }


class FloorBot(ActivityHandler):
    """Answers every card action with one upsert and a static card."""

    def __init__(self, table: Any) -> None:
        self._table = table

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """One upsert, one static card."""
        await self._table.upsert_entity(row_of(turn_context.activity), mode=UpdateMode.REPLACE)
        return InvokeResponse(
            status=200,
            body=AdaptiveCardInvokeResponse(
                status_code=200, type=CARD_CONTENT_TYPE, value=STATIC_CARD
            ),
        )


def create_app(settings: Settings) -> web.Application:
    """The floor's aiohttp app: the same endpoint shape as the bot's."""
    app = web.Application()
    app[SETTINGS] = settings

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        # The floor is spared the same avoidable work as the bot: msrest's slow retry-policy
        # scan, new connector and token clients every turn, and proxy lookups per storage
        # request; and it runs at most as many turns at once as the bot.
        cheap_retry_policies()
        service = TableServiceClient.from_connection_string(
            settings.tables_connection_string, use_env_settings=False
        )
        table = service.get_table_client(settings.table_prefix + TABLE)
        await service.create_table_if_not_exists(settings.table_prefix + TABLE)
        config = _adapter_config(settings)
        sdk_auth = ReusedClients(
            ConfigurationBotFrameworkAuthentication(
                config, credentials_factory=SharedCredentialsFactory(config)
            )
        )
        keys = SigningKeys(settings.openid_metadata_url or DEFAULT_METADATA_URL)
        validator = TokenValidator(settings.app_id, settings.token_issuer or DEFAULT_ISSUER, keys)
        app[AUTH] = Authenticator(sdk_auth, validator)
        app[ADAPTER] = CloudAdapter(sdk_auth)
        app[HANDLER] = FloorBot(table)
        app[TURNS] = asyncio.Semaphore(TURNS_AT_ONCE)
        try:
            yield
        finally:
            await keys.close()
            await table.close()
            await service.close()

    app.cleanup_ctx.append(lifetime)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/healthz", _healthz)
    return app


async def _messages(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        activity = Activity().deserialize(body)
    except (ValueError, DeserializationError):
        return web.json_response({"error": "bad activity"}, status=400)
    app = request.app
    try:
        authenticated = await app[AUTH].authenticate(
            activity, request.headers.get("Authorization", "")
        )
    except Unauthorized:
        return web.json_response({"error": "unauthorized"}, status=401)
    except MetadataUnavailable:
        return web.json_response({"error": "try again later"}, status=503)
    if not app[SETTINGS].tenant_allowed(tenant_of(activity)):
        return web.json_response({"error": "forbidden"}, status=403)
    async with app[TURNS]:
        response = await app[ADAPTER].process_activity(
            authenticated, activity, app[HANDLER].on_turn
        )
    if response is None:
        return web.Response(status=201)
    body = response.body
    if isinstance(body, Model):
        body = body.serialize()
    return web.json_response(body, status=response.status)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> int:
    """Read the bot's settings and serve on loopback until stopped."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING").upper())
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(f"floor bot cannot start.\n{error}", file=sys.stderr)
        return 2
    web.run_app(create_app(settings), host="127.0.0.1", port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
