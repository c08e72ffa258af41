"""Card edits sent past botbuilder: the URL Teams expects, retries that end, none after close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bot.teams.edits import CardEdits, EditRefused
from bot.teams.pacing import ChatPacer

CHANNEL_THREAD = "19:abc@thread.tacv2;messageid=1700000000000"
CARD = {"type": "AdaptiveCard", "version": "1.5", "body": []}


class Connector:
    """A local Bot Connector that answers each edit with the next planned status."""

    def __init__(self) -> None:
        self.raw_paths: list[str] = []
        self.bodies: list[dict] = []
        self.plan: list[int] = []

    async def edit(self, request: web.Request) -> web.Response:
        self.raw_paths.append(request.raw_path)
        self.bodies.append(await request.json())
        status = self.plan.pop(0) if self.plan else 200
        return web.json_response({"id": request.match_info["activity"]}, status=status)


@pytest.fixture
async def connector() -> AsyncIterator[tuple[Connector, str]]:
    fake = Connector()
    app = web.Application()
    app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", fake.edit)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield fake, f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


def edits() -> CardEdits:
    """Edits signed as the SDK signs them without an app id (local development: no token)."""
    config = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    return CardEdits(adapter, "", ChatPacer())


async def test_a_channel_threads_id_reaches_the_connector_encoded_as_the_sdk_sent_it(connector):
    fake, service_url = connector
    sender = edits()
    await sender.replace(service_url, CHANNEL_THREAD, "28:bot", "1700000000001", CARD)
    await sender.close()
    assert fake.raw_paths == [
        "/v3/conversations/19%3Aabc%40thread.tacv2%3Bmessageid%3D1700000000000"
        "/activities/1700000000001"
    ]
    sent = fake.bodies[0]
    assert sent["attachments"] == [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}
    ]
    assert (sent["type"], sent["id"], sent["conversation"]["id"]) == (
        "message",
        "1700000000001",
        CHANNEL_THREAD,
    )


async def test_a_5xx_is_retried_a_refused_token_once_and_a_403_never(connector):
    fake, service_url = connector
    sender = edits()
    fake.plan = [503, 502]
    await sender.replace(service_url, "19:chat", "28:bot", "1", CARD)
    assert len(fake.raw_paths) == 3
    fake.raw_paths.clear()
    fake.plan = [401, 401, 200]
    with pytest.raises(EditRefused) as refused:
        await sender.replace(service_url, "19:chat", "28:bot", "1", CARD)
    assert refused.value.status == 401 and len(fake.raw_paths) == 2
    fake.raw_paths.clear()
    fake.plan = [403, 200]
    with pytest.raises(EditRefused):
        await sender.replace(service_url, "19:chat", "28:bot", "1", CARD)
    assert len(fake.raw_paths) == 1
    await sender.close()


async def test_no_edit_leaves_after_the_app_closed_its_client(connector):
    fake, service_url = connector
    sender = edits()
    await sender.close()
    with pytest.raises(EditRefused):
        await sender.replace(service_url, "19:chat", "28:bot", "1", CARD)
    assert fake.raw_paths == []


async def test_text_no_utf_8_can_encode_still_reaches_the_card(connector):
    fake, service_url = connector
    sender = edits()
    odd = {**CARD, "body": [{"type": "TextBlock", "text": "Unit \ud800 – Genève"}]}
    await sender.replace(service_url, "19:chat", "28:bot", "1", odd)
    await sender.close()
    assert fake.bodies[0]["attachments"][0]["content"]["body"][0]["text"] == "Unit \ud800 – Genève"
