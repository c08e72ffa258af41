"""The meeting's side panel and shared stage in a real browser, inside the Teams host stand-in."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from testing.browser import Browser
from testing.connector import FakeConnector
from testing.flows import find_posted, shared_card, start_session
from testing.openid import TokenFactory
from testing.teams import TENANT, BotUnderTest, Chat, User, card_sid, card_text, data_of
from testing.teamshost import TeamsHost, Viewer
from tests.web.conftest import RESOURCE

LEADER = User.make("Amina Diallo", 1)
PEOPLE = [User.make(f"Participant {n}", 100 + n) for n in range(1, 26)]


def viewer(user: User, theme: str = "default") -> Viewer:
    return Viewer(user.aad_id, user.name, TENANT, theme=theme)


async def open_in_host(
    browser: Browser,
    bot: BotUnderTest,
    host: TeamsHost,
    user: User,
    page: str,
    chat: Chat,
    **kw: Any,
) -> None:
    """Load the page in the host stand-in and switch into its frame."""
    browser.driver.switch_to.default_content()
    frame = "sidePanel" if page == "panel" else "meetingStage"
    await browser.open(
        host.page(f"{bot.url}/web/{page}", viewer(user, **kw), frame=frame, chat=chat.id)
    )
    browser.driver.switch_to.frame("app")


def page_errors(browser: Browser) -> list[str]:
    """Console errors other than the closed network's (TeamsJS asks a CDN for Teams' origins)."""
    return [
        e for e in browser.console_errors() if "res.cdn.office.net" not in e and "favicon" not in e
    ]


async def text_of(browser: Browser) -> str:
    return await browser.script("return document.getElementById('view').innerText")


async def wait_text(browser: Browser, needle: str, seconds: float = 10.0) -> str:
    await browser.wait(
        lambda d: needle in d.execute_script("return document.getElementById('view').innerText"),
        seconds,
    )
    return await text_of(browser)


async def click(browser: Browser, selector: str) -> None:
    try:
        await _enabled(browser, selector)
    except Exception:
        print("VIEW", await text_of(browser), browser.driver.get_log("browser"))
        raise
    await browser.script("document.querySelector(arguments[0]).click()", selector)


async def _enabled(browser: Browser, selector: str) -> None:
    await browser.wait(
        lambda d: d.execute_script(
            "const b = document.querySelector(arguments[0]); return b && !b.disabled", selector
        )
    )


async def posted(connector: FakeConnector, chat: Chat, verb: str) -> tuple[str, dict[str, Any]]:
    """The newest posted card offering this verb, once the bot has posted it."""

    def found() -> tuple[str, dict[str, Any]] | None:
        try:
            return find_posted(connector, chat, verb)
        except AssertionError:
            return None

    return await connector.wait_for(found, timeout=5)


async def session_with_people(
    bot: BotUnderTest, connector: FakeConnector, chat: Chat, n: int
) -> str:
    card_id, view = await start_session(bot, connector, chat, LEADER)
    sid = card_sid(view)
    for person in PEOPLE[:n]:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    return sid


async def test_a_whole_session_is_driven_from_the_side_panel_while_people_vote_by_card(
    web_bot: BotUnderTest, connector: FakeConnector, host: TeamsHost, browser: Browser
) -> None:
    chat = Chat()
    sid = await session_with_people(web_bot, connector, chat, 4)
    await open_in_host(browser, web_bot, host, LEADER, "panel", chat)
    text = await wait_text(browser, "Introduction")
    await browser.screenshot("panel-light-plan")
    await click(browser, "#next-section")
    await wait_text(browser, "Done")
    await click(browser, "#next-section")
    # The order of the scenarios is chosen on the agenda card (or by the group's poll).
    agenda_id, _ = find_posted(connector, chat, "question.log")
    await web_bot.execute(
        LEADER, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    await click(browser, "#next-scenario")
    text = await wait_text(browser, "Follow-up questions")
    assert "Important points" in text
    # The scenario's card is in the chat, as when the card's button is used.
    scenario_card_id, scenario_card = find_posted(connector, chat, "scenario.view")
    assert "Omar" in card_text(scenario_card) or "Scenario 1" in card_text(scenario_card)
    await click(browser, 'button.open-poll[data-poll="s1-p1"]')
    await wait_text(browser, "0 votes")
    poll_card_id, poll_card = await posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    for person in PEOPLE[:3]:
        status, _ = await web_bot.execute(
            person, chat, poll_card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "1"}
        )
        assert status == 200
    await wait_text(browser, "3 votes")
    await browser.script("document.getElementById('polls').scrollIntoView()")
    await browser.screenshot("panel-light-poll")
    await click(browser, "button.close-poll")
    text = await wait_text(browser, "No: 3 (100%)")
    # The chat's poll card shows the results too: the same close as the card's button.
    await shared_card(connector, chat, poll_card_id, "No: 3 (100%)")
    await click(browser, "#wrap")
    await click(browser, "#next-scenario")
    await wait_text(browser, "Scenario 2")
    assert not page_errors(browser)


async def test_the_stage_shows_votes_live_and_results_only_from_three_once_closed(
    web_bot: BotUnderTest,
    connector: FakeConnector,
    host: TeamsHost,
    browser: Browser,
    sso_tokens: TokenFactory,
) -> None:
    chat = Chat()
    sid = await session_with_people(web_bot, connector, chat, 25)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    token = sso_tokens.sso(LEADER.aad_id, TENANT, RESOURCE, LEADER.name)
    await act(web_bot, token, chat, "next_section", stage="introduction")
    await act(web_bot, token, chat, "next_section", stage="opening")
    await web_bot.execute(
        LEADER, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    await act(web_bot, token, chat, "next_scenario")
    await act(web_bot, token, chat, "open_poll", scenario="s1", pack_poll="s1-p1")
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]

    started = time.monotonic()
    await open_in_host(browser, web_bot, host, PEOPLE[5], "stage", chat)
    await wait_text(browser, "0 votes")
    load_seconds = time.monotonic() - started
    latencies = []
    for n, person in enumerate(PEOPLE, start=1):
        before = await browser.script("return Date.now()")
        status, _ = await web_bot.execute(
            person, chat, poll_card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": str(n % 3)}
        )
        assert status == 200
        label = f"{n} vote" if n == 1 else f"{n} votes"
        text = await wait_text(browser, label, 5)
        latencies.append((await browser.script("return Date.now()") - before) / 1000)
        # Open: nobody sees counts, however many voted.
        assert "%)" not in text
        if n == 3:
            assert latencies[-1] < 1.0
    await browser.screenshot("stage-light-voting")
    await act(web_bot, token, chat, "close_poll", poll=poll)
    before = time.monotonic()
    text = await wait_text(browser, "%)", 5)
    close_latency = time.monotonic() - before
    assert close_latency < 1.0
    assert all(p.name not in text for p in PEOPLE + [LEADER])
    await browser.screenshot("stage-light-results")
    latencies.sort()
    print(
        f"\nstage load {load_seconds:.2f}s; vote-to-stage over {len(latencies)} voters: "
        f"median {latencies[len(latencies) // 2]:.3f}s, max {latencies[-1]:.3f}s; "
        f"close-to-results {close_latency:.3f}s"
    )
    # Dark theme, as Teams' context announces it.
    await open_in_host(browser, web_bot, host, PEOPLE[5], "stage", chat, theme="dark")
    await wait_text(browser, "%)")
    assert await browser.script("return document.documentElement.dataset.theme") == "dark"
    await browser.screenshot("stage-dark-results")
    await open_in_host(browser, web_bot, host, LEADER, "panel", chat, theme="dark")
    await wait_text(browser, "Follow-up questions")
    await browser.screenshot("panel-dark")
    await open_in_host(browser, web_bot, host, LEADER, "panel", chat, theme="contrast")
    await wait_text(browser, "Follow-up questions")
    await browser.screenshot("panel-contrast")


async def test_the_stage_never_shows_counts_of_fewer_than_three(
    web_bot: BotUnderTest,
    connector: FakeConnector,
    host: TeamsHost,
    browser: Browser,
    sso_tokens: TokenFactory,
) -> None:
    chat = Chat()
    sid = await session_with_people(web_bot, connector, chat, 3)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    token = sso_tokens.sso(LEADER.aad_id, TENANT, RESOURCE, LEADER.name)
    await act(web_bot, token, chat, "next_section", stage="introduction")
    await act(web_bot, token, chat, "next_section", stage="opening")
    await web_bot.execute(
        LEADER, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    await act(web_bot, token, chat, "next_scenario")
    await act(web_bot, token, chat, "open_poll", scenario="s1", pack_poll="s1-p1")
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    await open_in_host(browser, web_bot, host, PEOPLE[2], "stage", chat)
    for person in PEOPLE[:2]:
        await web_bot.execute(
            person, chat, poll_card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "0"}
        )
    await wait_text(browser, "2 votes")
    status, _ = await act(web_bot, token, chat, "close_poll", poll=poll)
    assert status == 200
    text = await wait_text(browser, "Too few votes")
    assert "%)" not in text
    status, body = await stage_json(web_bot, token, chat)
    assert body["polls"][0]["results"] is None and body["polls"][0]["voters"] == 2


async def test_a_participant_cannot_load_the_side_panel(
    web_bot: BotUnderTest,
    connector: FakeConnector,
    host: TeamsHost,
    browser: Browser,
    sso_tokens: TokenFactory,
) -> None:
    chat = Chat()
    await session_with_people(web_bot, connector, chat, 3)
    token = sso_tokens.sso(PEOPLE[0].aad_id, TENANT, RESOURCE, PEOPLE[0].name)
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{web_bot.url}/web/api/meeting/panel?chat={chat.id}",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert (response.status, await response.text()) == (403, "forbidden")
    status, _ = await act(web_bot, token, chat, "next_section", stage="introduction")
    assert status == 403
    await open_in_host(browser, web_bot, host, PEOPLE[0], "panel", chat)
    text = await wait_text(browser, "This page is for the session's leader and facilitator.")
    assert "Introduction" not in text
    # The stage is everyone's: the participant sees it, without names.
    status, body = await stage_json(web_bot, token, chat)
    assert status == 200 and body["state"] == "running"
    assert LEADER.name not in str(body)


async def act(
    bot: BotUnderTest, token: str, chat: Chat, verb: str, **fields: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{bot.url}/web/api/meeting/act",
            json={"chat": chat.id, "verb": verb, **fields},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def stage_json(bot: BotUnderTest, token: str, chat: Chat) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{bot.url}/web/api/meeting/stage",
            params={"chat": chat.id},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        return response.status, await response.json()
