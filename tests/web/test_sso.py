"""Teams SSO on the pages: only Entra-signed tokens for our resource and tenant open them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import aiohttp
import pytest

from bot.settings import Settings
from testing.browser import Browser
from testing.openid import SigningKey, TokenFactory
from testing.teams import TENANT, BotUnderTest, User
from testing.teamshost import TeamsHost, Viewer
from tests.web.conftest import RESOURCE

AMINA = User.make("Amina Diallo", 1)
FOREIGN_TENANT = str(uuid.uuid4())
OID = AMINA.aad_id


async def get_me(bot: BotUnderTest, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{bot.url}/web/api/me", headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_a_teams_sso_token_names_the_caller(
    web_bot: BotUnderTest, sso_tokens: TokenFactory
) -> None:
    status, body = await get_me(web_bot, sso_tokens.sso(AMINA.aad_id, TENANT, RESOURCE, AMINA.name))
    assert status == 200
    assert AMINA.name in body


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda f: f.sso(OID, TENANT, RESOURCE, exp_offset=-3600), id="expired"),
        pytest.param(lambda f: f.sso(OID, TENANT, RESOURCE, nbf_offset=3600), id="not-yet"),
        pytest.param(
            lambda f: f.sso(OID, TENANT, RESOURCE, key=SigningKey.generate()), id="other-key"
        ),
        pytest.param(lambda f: f.sso(OID, TENANT, "api://elsewhere/other-app"), id="audience"),
        pytest.param(
            lambda f: f.sso(OID, TENANT, RESOURCE, issuer="https://evil.example/"),
            id="issuer",
        ),
        pytest.param(lambda f: f.sso(OID, TENANT, RESOURCE, scope="User.Read"), id="scope"),
        pytest.param(lambda f: f.unsigned("x", "y"), id="alg-none"),
        pytest.param(lambda f: f.hs256_with_public_key("x", "y"), id="hs256"),
        pytest.param(lambda f: "not.a.token", id="garbage"),
    ],
)
async def test_a_forged_or_expired_token_is_a_plain_401(
    web_bot: BotUnderTest, sso_tokens: TokenFactory, forge: Callable[[TokenFactory], str]
) -> None:
    status, body = await get_me(web_bot, forge(sso_tokens))
    assert (status, body) == (401, "unauthorized")


async def test_no_token_is_a_401(web_bot: BotUnderTest) -> None:
    assert await get_me(web_bot, None) == (401, "unauthorized")


async def test_a_token_of_a_tenant_not_on_the_allow_list_is_a_plain_403(
    web_bot: BotUnderTest, sso_tokens: TokenFactory
) -> None:
    token = sso_tokens.sso(AMINA.aad_id, FOREIGN_TENANT, RESOURCE, AMINA.name)
    assert await get_me(web_bot, token) == (403, "forbidden")


async def test_an_event_ticket_opens_only_its_stream_and_is_signed(
    web_bot: BotUnderTest, sso_tokens: TokenFactory
) -> None:
    token = sso_tokens.sso(AMINA.aad_id, TENANT, RESOURCE, AMINA.name)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{web_bot.url}/web/api/ticket?stream=stage:abc",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200
            ticket = (await response.json())["ticket"]
        async with session.post(f"{web_bot.url}/web/api/ticket?stream=stage:abc") as response:
            assert response.status == 401
    from bot.app import WEB_IDENTITY

    identity = web_bot._runner.app[WEB_IDENTITY]  # type: ignore[union-attr]
    caller = identity.from_ticket(ticket, "stage:abc")
    assert caller is not None and caller.aad_object_id == AMINA.aad_id
    assert identity.from_ticket(ticket, "stage:other") is None
    assert identity.from_ticket(ticket[:-2] + "AA", "stage:abc") is None


async def test_the_local_sign_in_does_not_exist_without_dev(
    make_settings: Callable[..., Settings], connector
) -> None:
    dev = make_settings()
    production = Settings.from_env(
        {
            "TABLES_CONNECTION_STRING": dev.tables_connection_string,
            "TABLE_PREFIX": dev.table_prefix,
            "ANONYMITY_SECRET": dev.anonymity_secret,
            "ENTITIES": "DESA=Department of Economic and Social Affairs",
            "ALLOWED_TENANT_IDS": TENANT,
            "MicrosoftAppId": "00000000-0000-0000-0000-0000000000aa",
            "PUBLIC_BASE_URL": "https://dialogue.example.org",
            "WEB_SSO_RESOURCE": "api://dialogue.example.org/00000000-0000-0000-0000-0000000000aa",
        },
        dev=False,
    )
    bot = BotUnderTest(production, connector.url)
    await bot.start()
    try:
        async with aiohttp.ClientSession() as session:
            for method in ("GET", "POST"):
                async with session.request(method, f"{bot.url}/web/dev/signin") as response:
                    assert response.status == 404
    finally:
        await bot.stop()
    with pytest.raises(ValueError, match="DEV_SIGNIN_AUTHORITY"):
        Settings.from_env(
            {"DEV_SIGNIN_AUTHORITY": "http://127.0.0.1:9", "MicrosoftAppId": "x"}, dev=False
        )


async def test_the_page_signs_in_through_teamsjs_in_the_host_stand_in(
    web_bot: BotUnderTest, host: TeamsHost, browser: Browser
) -> None:
    viewer = Viewer(AMINA.aad_id, AMINA.name, TENANT)
    await browser.open(host.page(f"{web_bot.url}/web/panel", viewer, frame="sidePanel"))
    browser.driver.switch_to.frame("app")
    try:
        name = await browser.wait(
            lambda d: d.execute_script("return document.getElementById('me')?.textContent")
        )
    finally:
        browser.driver.switch_to.default_content()
    assert name == AMINA.name
    calls = await browser.script("return window.hostCalls")
    assert {"initialize", "getContext", "authentication.getAuthToken"} <= set(calls)
