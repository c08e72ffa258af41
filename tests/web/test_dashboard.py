"""The dashboard tab in headless Chromium, framed by the Teams host stand-in with real SSO tokens.

One app for the module, with sheets held in three weeks for two entities, a certification and
an extension whose reason names someone: the tests only read. A focal point sees their entity
with the progress card's own figures; another entity is refused revealing nothing; the Ethics
Office sees counts and no name anywhere, page or JSON; a participant gets 403.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.settings import Settings
from testing.azurite import Azurite
from testing.browser import ARTIFACTS, Browser
from testing.cardcheck import CardLog
from testing.connector import FakeConnector
from testing.env import bot_env
from testing.flows import ADMIN, FOCAL, OTHER_FOCAL, last_card, name_focal_points, start_session
from testing.openid import OpenIdServer, TokenFactory
from testing.teams import TENANT, BotUnderTest, Chat, User, card_sid, card_text, elements
from testing.teamshost import TeamsHost, Viewer
from tests.web.conftest import RESOURCE

NAMES = [
    "Amina Diallo",
    "Kenji Watanabe",
    "Sofía Ramírez",
    "Olena Kovalenko",
    "Thabo Nkosi",
    "Priya Raman",
    "Jean-Pierre Moreau",
    "Fatima Al-Sayed",
    "Liam O'Connor",
    "Mei Lin",
    "Carlos Mendes",
    "Aisha Bello",
    "Henrik Larsen",
    "Yuki Tanaka",
    "Grace Mwangi",
    "Omar Haddad",
]
PEOPLE = [User.make(name, 700 + n) for n, name in enumerate(NAMES)]
# Typed onto a sheet by the leader (a colleague on the phone): a name no Entra id stands for.
TYPED = "Nadia Petrova"
REASON = f"{PEOPLE[0].name} is on mission until January"


@dataclass
class Dashboard:
    """The module's app, the host stand-in and what the cards said."""

    bot: BotUnderTest
    host: TeamsHost
    tokens: TokenFactory
    progress_card: dict[str, Any]
    sessions_card: dict[str, Any]


async def hold(
    bot: BotUnderTest,
    connector: FakeConnector,
    leader: User,
    people: list[User],
    *,
    typed: tuple[str, ...] = (),
    **form: str,
) -> None:
    """A session whose sheet is signed and closed: held, as the roll-up counts it."""
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, leader, **form)
    sid = card_sid(view)
    for person in people:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    for name in typed:
        await bot.execute(leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": name})
    status, _ = await bot.execute(leader, chat, card_id, "signin.close", {"sid": sid})
    assert status == 200


@pytest.fixture(scope="module")
def host_tokens(entra: OpenIdServer) -> TokenFactory:
    """SSO tokens signed with the key the Entra stand-in publishes."""
    return TokenFactory(entra.keys[0])


@pytest.fixture(scope="module")
async def dashboard(
    azurite: Azurite,
    connector: FakeConnector,
    entra: OpenIdServer,
    host_tokens: TokenFactory,
    card_log: CardLog,
) -> AsyncIterator[Dashboard]:
    """The app with two entities' sessions in three ISO weeks, read by every test here."""
    connector.reset()
    env = {
        **bot_env(azurite, "t" + uuid.uuid4().hex[:12]),
        "ETHICS_ADMIN_IDS": ADMIN.aad_id,
        "WEB_SSO_RESOURCE": RESOURCE,
        "WEB_OPENID_METADATA_URL": entra.metadata_url,
    }
    bot = await BotUnderTest(Settings.from_env(env, dev=True), connector.url).start()
    host = await TeamsHost(host_tokens, RESOURCE).start()
    try:
        await name_focal_points(bot, connector)
        # DESA: W45, W47 and W47 again (a Thursday); DPO: W47.
        await hold(bot, connector, PEOPLE[0], PEOPLE[1:5], unit="Population Division",
                   personnel="20", date="2026-11-06")  # fmt: skip
        await hold(bot, connector, PEOPLE[5], PEOPLE[6:9], unit="Statistics Division",
                   personnel="12", date="2026-11-16")  # fmt: skip
        await hold(bot, connector, PEOPLE[12], PEOPLE[13:15], unit="Data Section",
                   personnel="9", date="2026-11-19", typed=(TYPED,))  # fmt: skip
        await hold(bot, connector, PEOPLE[9], PEOPLE[10:12], entity="DPO", unit="Policy Team",
                   personnel="8", date="2026-11-19")  # fmt: skip
        await bot.flush()
        personal = Chat(kind="personal", id="a:focal-dashboard")
        # The entity's whole personnel, and the focal point's certification (names in storage).
        await bot.execute(FOCAL, personal, "1", "focal.personnel",
                          {"entity": "DESA", "entity_personnel": "120"})  # fmt: skip
        await bot.execute(FOCAL, personal, "1", "focal.certify", {"entity": "DESA"})
        other = Chat(kind="personal", id="a:other-focal-dashboard")
        await bot.execute(OTHER_FOCAL, other, "1", "focal.extension",
                          {"entity": "DPO", "reason": REASON})  # fmt: skip
        await bot.flush()
        assert await bot.say(FOCAL, personal, "progress", mention=False) == 201
        progress = last_card(connector, personal)
        _, sessions = await bot.execute(FOCAL, personal, "1", "focal.sessions", {"entity": "DESA"})
        assert sessions is not None
        yield Dashboard(bot, host, host_tokens, progress, sessions)
    finally:
        await host.stop()
        await bot.stop()
        for card in bot.cards_seen + connector.cards():
            card_log.add("tests/web/test_dashboard.py", card)


def page_errors(browser: Browser) -> list[str]:
    """Console errors, less the closed network's: TeamsJS's CDN list, the host's favicon."""
    return [
        e
        for e in browser.console_errors()
        if "res.cdn.office.net" not in e and "favicon.ico" not in e
    ]


def every_name() -> list[str]:
    """Every person the test put on a sheet or in a role, and their family names."""
    full = [*NAMES, TYPED, FOCAL.name, OTHER_FOCAL.name, ADMIN.name]
    family = [name.split()[-1] for name in full if len(name.split()[-1]) >= 4]
    return full + family


def names_in(text: str) -> list[str]:
    """The names of every_name() found in the text as whole words."""
    return [name for name in every_name() if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text)]


async def open_dashboard(
    browser: Browser,
    dashboard: Dashboard,
    who: User,
    *,
    theme: str = "default",
    query: str = "",
    locale: str = "en-US",
) -> str:
    """Open the tab as `who` in the host stand-in; the page's final state (ready, refused...)."""
    src = f"{dashboard.bot.url}/web/dashboard?lang=en{query}"
    viewer = Viewer(who.aad_id, who.name, TENANT, locale=locale, theme=theme)
    await browser.run(browser.driver.switch_to.default_content)
    await browser.open(dashboard.host.page(src, viewer, frame="content"))
    frame = await browser.wait(lambda d: d.find_element(By.ID, "app"))
    await browser.run(browser.driver.switch_to.frame, frame)
    return await browser.wait(
        lambda d: d.execute_script(
            "const s = document.documentElement.dataset.state; return s !== 'loading' && s"
        ),
        seconds=15,
    )


async def data_as(dashboard: Dashboard, who: User, query: str = "") -> tuple[int, str]:
    """GET /web/api/dashboard with this person's Teams SSO token."""
    token = dashboard.tokens.sso(who.aad_id, TENANT, RESOURCE, who.name)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{dashboard.bot.url}/web/api/dashboard?lang=en{query}",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        return response.status, await response.text()


async def table(browser: Browser, table_id: str) -> list[list[str]]:
    """The body rows of a table, as the cells' text."""
    return await browser.script(
        "return [...document.getElementById(arguments[0]).tBodies[0].rows]"
        ".map(r => [...r.cells].map(c => c.textContent.trim()))",
        table_id,
    )


def card_units(card: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The progress card's unit rows: unit, participants, personnel."""
    grid = next(n for n in elements(card) if n.get("type") == "Table")
    rows = []
    for row in grid["rows"][1:]:
        cells = [cell["items"][0]["text"] for cell in row["cells"]]
        rows.append((cells[1], cells[2], cells[3]))
    return rows


def card_weeks(card: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Sessions and participants per ISO week, from the sessions card's lines."""
    weeks: dict[str, tuple[int, int]] = {}
    for text in card_text(card).split("\n"):
        found = re.match(r"(\w+ \d+, \d{4}) · .* · (\d+) participants", text)
        if not found:
            continue
        day = datetime.strptime(found.group(1), "%B %d, %Y").date()
        year, week, _ = day.isocalendar()
        sessions, people = weeks.get(f"{year}-W{week:02d}", (0, 0))
        weeks[f"{year}-W{week:02d}"] = (sessions + 1, people + int(found.group(2)))
    return weeks


def big_numbers(card: dict[str, Any]) -> list[str]:
    """The progress card's headline figures: sessions, participants, personnel."""
    return [n["text"] for n in elements(card) if n.get("size") == "ExtraLarge"]


async def test_a_focal_point_sees_their_entity_with_the_progress_cards_figures(
    browser: Browser, dashboard: Dashboard
) -> None:
    assert await open_dashboard(browser, dashboard, FOCAL) == "ready"
    text = await browser.script("return document.body.innerText")
    assert "Department of Economic and Social Affairs" in text
    assert "Policy Team" not in text and "Department of Peace Operations" not in text
    assert page_errors(browser) == []

    # Headline figures, units and coverage: the progress card's own.
    figures = await browser.script(
        "return Object.fromEntries([...document.querySelectorAll('[data-figure]')]"
        ".map(t => [t.dataset.figure, t.querySelector('dd').textContent]))"
    )
    assert [figures["sessions"], figures["participants"], figures["personnel"]] == big_numbers(
        dashboard.progress_card
    )
    assert figures["coverage"] == "24%"  # 10 of 41, as the card's bar says
    assert "Coverage: 24% of personnel" in card_text(dashboard.progress_card)
    assert figures["entity_coverage"] == "8%"  # 10 of the 120 recorded
    units = [(row[0], row[2], row[3]) for row in await table(browser, "rows")]
    assert units == card_units(dashboard.progress_card)

    # The weeks: every ISO week from the first session to the deadline's; the weeks with
    # sessions hold what the sessions card lists, the others nothing.
    weeks = await browser.script(
        "return [...document.querySelectorAll('#weeks tbody tr')].map(r => [r.dataset.week,"
        " ...[...r.cells].slice(1).map(c => Number(c.textContent.replace(/\\D/g, '')))])"
    )
    expected = card_weeks(dashboard.sessions_card)
    assert expected == {"2026-W45": (1, 4), "2026-W47": (2, 3 + 2 + 1)}
    assert [w[0] for w in weeks][:3] == ["2026-W45", "2026-W46", "2026-W47"]
    assert weeks[-1][0] == "2026-W53"  # the week of 31 December
    for week, sessions, people, _, _ in weeks:
        assert (sessions, people) == expected.get(week, (0, 0)), week
    assert weeks[-1][3:] == [3, 10]  # running totals end on the TOTAL row
    assert await browser.script("return window.Chart !== undefined && !!dashboard.state.chart")

    # Certified by the focal point (no Head of Entity named); exports are today's signed links.
    assert "certified" in (
        await browser.script("return document.getElementById('cert').textContent")
    )
    links = await browser.script(
        "return [...document.querySelectorAll('#exports a')].map(a => a.href)"
    )
    assert len(links) == 2 and all("/exports/" in link for link in links)
    # The links name the public address (PUBLIC_BASE_URL); here the app is on another port.
    local = dashboard.bot.url + links[0].split("/exports/")[0].split(":3978")[-1]
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{local}/exports/{links[0].split('/exports/')[1]}") as response,
    ):
        assert response.status == 200
        assert "TOTAL" in await response.text()

    await browser.run(browser.driver.set_window_size, 1280, 1600)
    await browser.screenshot("dashboard-focal-light")
    assert await open_dashboard(browser, dashboard, FOCAL, theme="dark") == "ready"
    assert await browser.script("return document.documentElement.dataset.theme") == "dark"
    await browser.screenshot("dashboard-focal-dark")
    await browser.run(browser.driver.set_window_size, 1280, 900)


async def test_another_entity_in_the_url_or_the_request_is_refused_revealing_nothing(
    browser: Browser, dashboard: Dashboard
) -> None:
    assert await open_dashboard(browser, dashboard, FOCAL, query="&entity=DPO") == "refused"
    text = await browser.script("return document.body.innerText")
    assert "This dashboard is for focal points and the Ethics Office." in text
    for secret in ("DPO", "Peace Operations", "Policy Team", OTHER_FOCAL.name):
        assert secret not in text
    # Another entity, one that does not exist, the Ethics Office's entity view, a participant:
    # the same answer, word for word.
    answers = {
        await data_as(dashboard, FOCAL, "&entity=DPO"),
        await data_as(dashboard, FOCAL, "&entity=NOPE"),
        await data_as(dashboard, ADMIN, "&entity=DESA"),
        await data_as(dashboard, PEOPLE[1]),
    }
    assert answers == {(403, json.dumps({"error": "forbidden"}))}
    assert (await data_as(dashboard, FOCAL, "&entity=DESA"))[0] == 200


async def test_the_ethics_office_sees_every_entitys_counts_and_no_name_in_page_or_json(
    browser: Browser, dashboard: Dashboard
) -> None:
    assert await open_dashboard(browser, dashboard, ADMIN) == "ready"
    text = await browser.script("return document.documentElement.innerText")
    html = await browser.script("return document.documentElement.outerHTML")
    status, body = await data_as(dashboard, ADMIN)
    assert status == 200
    for where in (text, html, body):
        assert names_in(where) == []
    assert REASON not in body and "mission" not in body
    rows = await table(browser, "rows")
    by_code = {row[0]: row for row in rows}
    assert by_code["DESA"][2:4] == ["3", "10"] and by_code["DPO"][2:4] == ["1", "2"]
    assert "by the focal point" in by_code["DESA"][7]
    assert "extension requested" in by_code["DPO"][7]
    weeks = json.loads(body)["weeks"]
    assert (weeks[-1]["total_sessions"], weeks[-1]["total_participants"]) == (4, 12)
    await browser.run(browser.driver.set_window_size, 1280, 1400)
    await browser.screenshot("dashboard-ethics-light")
    assert await open_dashboard(browser, dashboard, ADMIN, theme="dark") == "ready"
    await browser.screenshot("dashboard-ethics-dark")
    assert await open_dashboard(browser, dashboard, ADMIN, theme="contrast") == "ready"
    await browser.screenshot("dashboard-ethics-contrast")
    await browser.run(browser.driver.set_window_size, 1280, 900)


async def test_a_participants_token_cannot_load_the_dashboard(
    browser: Browser, dashboard: Dashboard
) -> None:
    assert (await data_as(dashboard, PEOPLE[2]))[0] == 403
    assert await open_dashboard(browser, dashboard, PEOPLE[2]) == "refused"
    text = await browser.script("return document.body.innerText")
    assert "This dashboard is for focal points and the Ethics Office." in text
    assert names_in(text) == [] and "Population Division" not in text
    await browser.screenshot("dashboard-participant-refused")


async def test_the_table_sorts_and_searches_by_keyboard(
    browser: Browser, dashboard: Dashboard
) -> None:
    assert await open_dashboard(browser, dashboard, FOCAL) == "ready"
    driver = browser.driver

    def keys(*sequence: str) -> None:
        driver.switch_to.active_element.send_keys(*sequence)

    def focused() -> str:
        return driver.execute_script(
            "const e = document.activeElement; return e.id || e.textContent.trim()"
        )

    search = await browser.run(driver.find_element, By.ID, "search")
    await browser.run(search.click)
    await browser.run(keys, "stat")
    assert [row[0] for row in await table(browser, "rows")] == ["Statistics Division"]
    assert "1 of 3 shown" in await browser.script(
        "return document.getElementById('shown').textContent"
    )
    await browser.run(keys, Keys.CONTROL, "a", Keys.BACKSPACE)
    assert len(await table(browser, "rows")) == 3

    # Tab from the search box reaches the column headings' buttons, in order.
    await browser.run(keys, Keys.TAB)
    assert await browser.run(focused) == "Unit"
    await browser.run(keys, Keys.TAB, Keys.TAB)
    assert await browser.run(focused) == "Participants"
    sort = (
        "return document.querySelector('#rows th[data-key=participants]').getAttribute('aria-sort')"
    )
    assert await browser.script(sort) == "none"
    await browser.run(keys, Keys.ENTER)
    assert await browser.script(sort) == "ascending"
    assert [row[2] for row in await table(browser, "rows")] == ["3", "3", "4"]
    assert [row[0] for row in await table(browser, "rows")][-1] == "Population Division"
    await browser.run(keys, Keys.SPACE)
    assert await browser.script(sort) == "descending"
    assert [row[0] for row in await table(browser, "rows")][0] == "Population Division"
    status = await browser.script("return document.getElementById('sort-status').textContent")
    assert status == "Sorted by Participants, descending"
    # Only the sorted column says how it is sorted.
    others = await browser.script(
        "return [...document.querySelectorAll('#rows th')].filter(th => th.dataset.key !="
        " 'participants').map(th => th.getAttribute('aria-sort'))"
    )
    assert set(others) == {"none"}


async def test_the_page_speaks_the_language_teams_runs_in(
    browser: Browser, dashboard: Dashboard
) -> None:
    assert await open_dashboard(browser, dashboard, FOCAL, locale="fr-FR") == "ready"
    assert await browser.script("return document.documentElement.lang") == "fr"
    text = await browser.script("return document.body.innerText")
    assert "Progression par semaine" in text and "Rechercher une unité" in text
    assert "Date limite le 31 décembre 2026" in text
    assert "dashboard." not in text  # no catalog key shown in place of its words
    assert await open_dashboard(browser, dashboard, ADMIN, locale="es-ES") == "ready"
    text = await browser.script("return document.body.innerText")
    assert "Progreso por semana" in text and "Buscar entidades" in text
    assert "dashboard." not in text


async def test_page_load_time(browser: Browser, dashboard: Dashboard) -> None:
    """From the host page's navigation to the dashboard drawn with its figures, five times."""
    walls, inside = [], []
    for _ in range(5):
        started = time.perf_counter()
        assert await open_dashboard(browser, dashboard, ADMIN) == "ready"
        walls.append(time.perf_counter() - started)
        inside.append(await browser.script("return window.dashboardReadyAt"))
    figures = {
        "wall_seconds_median": round(statistics.median(walls), 3),
        "wall_seconds_max": round(max(walls), 3),
        "in_frame_ms_median": round(statistics.median(inside)),
    }
    (ARTIFACTS / "dashboard-load.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("dashboard load", figures)
    # Generous: the figure is for the report; a page that takes seconds is broken.
    assert figures["wall_seconds_median"] < 5
