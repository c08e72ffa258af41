"""A former focal point keeps an export link; anyone probes /exports/ with odd tokens."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.teams.logs import JsonFormatter
from testing.flows import ADMIN, FOCAL, hold_two_sessions, last_card, name_focal_points, urls
from testing.teams import Chat, card_text


def local_path(url: str) -> str:
    """The path of a link the bot made, to fetch it from the test's own port."""
    return urlsplit(url).path


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line the app wrote, formatted as production writes them."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


async def test_a_withdrawn_focal_points_link_stops_working(start_bot, connector, people, caplog):
    caplog.set_level(logging.DEBUG)
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await hold_two_sessions(bot, connector, people)
    await bot.flush()
    personal = Chat(kind="personal", id="a:focal-links")
    await bot.say(FOCAL, personal, "progress", mention=False)
    csv_url, xlsx_url = urls(last_card(connector, personal))
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + local_path(csv_url)) as response:
            assert response.status == 200, "a serving focal point downloads Appendix E"

        admin_chat = Chat(kind="personal", id="a:admin-links")
        _, card = await bot.execute(
            ADMIN, admin_chat, "1", "admin.focal_remove", {"withdraw_focal": f"DESA|{FOCAL.aad_id}"}
        )
        assert "withdrawn" in card_text(card)
        for url in (csv_url, xlsx_url):
            async with http.get(bot.url + local_path(url)) as response:
                assert response.status == 404, "the link outlived the role"
                body = await response.read()
            assert b"Population Division" not in body and b"LEADERSHIP" not in body
    text = logged(caplog)
    for url in (csv_url, xlsx_url):
        token = url.split("/exports/")[1]
        assert token not in text and token[:40] not in text, "an export token reached the logs"


ODD_TOKENS = [
    "é",  # non-ASCII: once a 500 with the raw path in the log
    "%C3%A9t%C3%A9.%C3%A9",
    "abc.d%C3%A9f",
    "%00",
    "..",
    "%2e%2e",
    "..%2f..%2fsecret",
    "x" * 4000,
    "eyJraW5kIjoiZW50aXR5In0.abc%20secret",  # a space: once half of the token was logged
    "%",
    "a.",
    ".b",
    "💥.💥",
]


@pytest.mark.parametrize("token", ODD_TOKENS, ids=range(len(ODD_TOKENS)))
async def test_odd_tokens_are_404_and_never_logged(bot, caplog, token):
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{bot.url}/exports/{token}") as response:
            assert response.status == 404
    text = logged(caplog)
    assert "request failed" not in text
    for secret in ("secret", "x" * 40, "é", "%C3%A9", "\\u00e9", "💥"):
        if secret in token or (secret == "\\u00e9" and "é" in token):
            assert secret not in text, f"{secret!r} reached the logs"


async def test_the_empty_token_is_404(bot):
    async with aiohttp.ClientSession() as http:
        for path in ("/exports/", "/exports", "/exports/a/b"):
            async with http.get(bot.url + path) as response:
                assert response.status == 404, path
