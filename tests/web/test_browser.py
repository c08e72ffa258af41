"""The browser the page tests use really renders and runs script on a page the app serves."""

from __future__ import annotations

from testing.browser import Browser
from testing.teams import BotUnderTest


async def test_the_app_health_page_loads_in_headless_chromium(
    bot: BotUnderTest, browser: Browser
) -> None:
    await browser.open(f"{bot.url}/healthz")
    body = await browser.script("return document.body.innerText")
    assert "ok" in body.lower()
    assert (await browser.screenshot("healthz")).stat().st_size > 0
