"""The leader reconciles the sign-in sheet with the meeting's attendance report (Graph).

The app runs with a real app id: inbound tokens from a local OpenID server, the Bot Connector's
and Graph's tokens from the local token authority (msal over HTTPS, its own thread), and the
report from the Microsoft Graph stand-in (three pages of records).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from testing.auth import APP_ID
from testing.authority import LocalAuthority, ThreadedAuthority
from testing.azurite import Azurite
from testing.cardcheck import CardLog
from testing.connector import FakeConnector
from testing.env import bot_env
from testing.flows import rows, start_session
from testing.graph import GraphStandIn, Meeting, record
from testing.openid import BOT_FRAMEWORK_ISSUER, OpenIdServer, SignedBot, TokenFactory
from testing.teams import Chat, User, card_sid, card_text, data_of, executes, verbs

PASSWORD = "local-graph-secret"
LEADER = User.make("Amina Diallo", 0)
SIGNED = [
    User.make(n, i) for i, n in ((1, "Kenji Watanabe"), (2, "Sofía Ramírez"), (3, "Thabo Nkosi"))
]
BY_PHONE = User.make("Grace Mensah", 4)
MISSING = [
    User.make(n, i)
    for i, n in ((5, "Priya Raman"), (6, "Liam O'Connor"), (7, "Mei Lin"), (8, "Carlos Mendes"))
]
PHONE_ONLY = "Dmitri Volkov"
OUTSIDER = User.make("Nadia Haddad", 9)


class AuthorizedBot(SignedBot):
    """The app in production mode; every request carries a fresh Bot Framework token."""

    tokens: TokenFactory

    async def post(
        self, activity: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST with a valid token unless headers are given."""
        if headers is None:
            headers = {"Authorization": "Bearer " + self.tokens.mint(APP_ID, self.service_url)}
        return await super().post(activity, headers)


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAuthority]:
    """The local token authority, on its own thread (msal asks it over HTTPS)."""
    with ThreadedAuthority(APP_ID, PASSWORD, Path(tmp_path_factory.mktemp("authority"))) as local:
        yield local


@pytest.fixture
async def graph(authority: LocalAuthority) -> AsyncIterator[GraphStandIn]:
    """A Microsoft Graph stand-in, four records a page."""
    stand_in = await GraphStandIn(authority.secret, APP_ID, page_size=4).start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def openid() -> Iterator[OpenIdServer]:
    """Inbound token keys."""
    with OpenIdServer(issuer=BOT_FRAMEWORK_ISSUER) as server:
        yield server


@pytest.fixture
async def app(
    azurite: Azurite,
    connector: FakeConnector,
    authority: LocalAuthority,
    graph: GraphStandIn,
    openid: OpenIdServer,
    card_log: CardLog,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> AsyncIterator[AuthorizedBot]:
    """The real app with credentials, its Graph and authority pointed at the stand-ins."""
    assert authority.ca_file is not None
    # msal (requests) trusts the local authority's throwaway CA for this test only.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority.ca_file))
    connector.reset()
    graph.reset()
    authority.reset()
    authority.scope_latency.clear()
    env = {
        **bot_env(azurite, "t" + uuid.uuid4().hex[:12]),
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": PASSWORD,
        "MicrosoftAppType": "MultiTenant",
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": openid.metadata_url,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": BOT_FRAMEWORK_ISSUER,
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": authority.login_url(),
        # The local authority is not one msal knows: trusted explicitly, as in a private cloud.
        "VALIDATE_AUTHORITY": "false",
        "GRAPH_BASE_URL": graph.url,
        "GRAPH_AUTHORITY": authority.base_url,
    }
    harness = AuthorizedBot(Settings.from_env(env, dev=True), connector.url)
    harness.tokens = TokenFactory(openid.keys[0], issuer=BOT_FRAMEWORK_ISSUER)
    await harness.start()
    yield harness
    await harness.stop()
    for card in harness.cards_seen + connector.cards():
        card_log.add(request.node.name, card)


def graph_tokens(authority: LocalAuthority, graph: GraphStandIn) -> int:
    """Graph tokens the authority issued."""
    return authority.hits().get(f"token:{graph.origin}", 0)


async def held_meeting(app: AuthorizedBot, connector: FakeConnector, graph: GraphStandIn):
    """A session whose meeting ended: three signed in, one added by phone, a 3-page report."""
    chat = Chat()
    card_id, view = await start_session(app, connector, chat, LEADER)
    sid = card_sid(view)
    for person in SIGNED:
        status, _ = await app.execute(person, chat, card_id, "signin", {"sid": sid})
        assert status == 200
    status, _ = await app.execute(
        LEADER, chat, card_id, "attendance.add", {"sid": sid, "add_name": BY_PHONE.name}
    )
    assert status == 200
    records = [record(LEADER.aad_id, LEADER.name, role="Organizer")]
    records += [record(p.aad_id, p.name) for p in SIGNED]
    records += [record(BY_PHONE.aad_id, BY_PHONE.name, 1200)]
    records += [record(p.aad_id, p.name, 2400 + n) for n, p in enumerate(MISSING)]
    records += [record(None, PHONE_ONLY, 600)]
    assert len(records) == 10  # three pages of four
    graph.add(
        Meeting(
            chat_id=chat.id,
            organizer_id=LEADER.aad_id,
            meeting_id="MSo1N2Y5ZGFjYy03MWJhLTRhMGQtYmJhZi0zMmIwZDJhZmM0NGM",
            join_url="https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?"
            "context=%7b%22Tid%22%3a%22t%22%2c%22Oid%22%3a%22o%22%7d",
            reports=[
                {
                    "id": "old",
                    "start": "2026-11-13T09:00:00Z",
                    "end": "2026-11-13T10:30:00Z",
                    "records": [record(OUTSIDER.aad_id, OUTSIDER.name)],
                },
                {
                    "id": "rep-1",
                    "start": "2026-11-20T09:00:00Z",
                    "end": "2026-11-20T10:30:00Z",
                    "records": records,
                },
            ],
        )
    )
    graph.reset()
    return chat, card_id, sid


async def test_the_leader_sees_who_the_report_names_and_the_sheet_lacks(app, connector, graph):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    status, sheet = await app.execute(LEADER, chat, card_id, "signin.view", {"sid": sid})
    assert "attendance.report" in verbs(sheet)
    status, card = await app.execute(LEADER, chat, card_id, "attendance.report", {"sid": sid})
    assert status == 200
    text = card_text(card)
    for person in MISSING:
        assert person.name in text
    assert PHONE_ONLY in text
    for person in [*SIGNED, BY_PHONE, LEADER, OUTSIDER]:
        assert person.name not in text, f"{person.name} is listed though on the sheet or elsewhere"
    assert "5 attendees are not on the sheet" in text
    adds = [a for a in executes(card) if a.get("verb") == "attendance.report_add"]
    assert len(adds) == 5
    # Three pages of records, each fetched once; the session's report is the latest one.
    hits = graph.hits()
    assert hits["records"] == 3 and hits["chat"] == 1 and hits["lookup"] == 1
    # Nothing from Graph was stored or posted to the chat.
    names = {r.get("Name") for r in await rows(app, "attendance")}
    assert not names & {p.name for p in MISSING} and PHONE_ONLY not in names
    assert all(p.name not in card_text(c) for c in connector.cards() for p in MISSING)


async def test_one_click_adds_that_attendee_and_only_them(app, connector, graph):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    _, card = await app.execute(LEADER, chat, card_id, "attendance.report", {"sid": sid})
    before = await rows(app, "attendance")
    mei = next(
        a["data"]
        for a in executes(card)
        if a.get("verb") == "attendance.report_add" and a["data"]["report_key"] == MISSING[2].aad_id
    )
    status, after_card = await app.execute(LEADER, chat, card_id, "attendance.report_add", mei)
    assert status == 200
    after = await rows(app, "attendance")
    new = [r for r in after if r["RowKey"] not in {b["RowKey"] for b in before}]
    assert len(new) == 1 and new[0]["Name"] == MISSING[2].name
    assert MISSING[2].aad_id in new[0]["RowKey"]
    text = card_text(after_card)
    assert f"{MISSING[2].name} is on the sheet." in text
    assert "4 attendees are not on the sheet" in text
    # A second click (double click, Teams retry) adds nobody more.
    status, again = await app.execute(LEADER, chat, card_id, "attendance.report_add", mei)
    assert len(await rows(app, "attendance")) == len(after)
    assert "already on the sheet" in card_text(again)
    # The phone attendee (no Entra id) is added by name, as the leader adds anyone by phone.
    phone = next(
        a["data"]
        for a in executes(after_card)
        if a.get("verb") == "attendance.report_add" and not a["data"]["report_key"].count("-")
    )
    await app.execute(LEADER, chat, card_id, "attendance.report_add", phone)
    assert PHONE_ONLY in {r["Name"] for r in await rows(app, "attendance")}
    # A key the report does not hold adds nobody.
    count = len(await rows(app, "attendance"))
    status, forged = await app.execute(
        LEADER, chat, card_id, "attendance.report_add", {"sid": sid, "report_key": OUTSIDER.aad_id}
    )
    assert len(await rows(app, "attendance")) == count
    assert "not in the attendance report" in card_text(forged)


@pytest.mark.parametrize("verb", ["attendance.report", "attendance.report_add"])
async def test_a_participant_or_another_leader_is_refused_and_learns_nothing(
    app, connector, graph, verb
):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    other_chat = Chat()
    other_card, other_view = await start_session(app, connector, other_chat, OUTSIDER)
    graph.reset()
    count = len(await rows(app, "attendance"))
    data = {"sid": sid, "report_key": MISSING[0].aad_id}
    for who, where, card in (
        (SIGNED[0], chat, card_id),
        (OUTSIDER, chat, card_id),
        (OUTSIDER, other_chat, other_card),
    ):
        status, refused = await app.execute(who, where, card, verb, data)
        assert status == 200
        text = card_text(refused)
        assert not any(p.name in text for p in MISSING) and PHONE_ONLY not in text
        assert "attendance.report_add" not in verbs(refused)
    assert graph.hits() == {}, "a refusal must not even ask Graph"
    assert len(await rows(app, "attendance")) == count


@pytest.mark.parametrize(
    ("fault", "sentence"),
    [
        ("consent", "an administrator must grant it permission"),
        ("throttle", "Microsoft Graph is busy"),
        ("503", "Microsoft Graph did not answer"),
        ("500", "Microsoft Graph did not answer"),
        ("no_meeting", "did not find an online meeting"),
        ("no_report", "not ready"),
    ],
)
async def test_graph_faults_tell_the_leader_and_change_nothing(
    app, connector, graph, fault, sentence, caplog
):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    if fault == "consent":
        graph.consented = False
    elif fault == "throttle":
        graph.throttle(3, 30)  # longer than the bot waits: it tells the leader instead
    elif fault in ("503", "500"):
        graph.fail_status = int(fault)
    elif fault == "no_meeting":
        graph._meetings.clear()
    else:
        next(iter(graph._meetings.values())).reports.clear()
    before = await rows(app, "attendance")
    started = time.monotonic()
    status, card = await app.execute(LEADER, chat, card_id, "attendance.report", {"sid": sid})
    assert status == 200 and time.monotonic() - started < 5
    assert sentence in card_text(card) and "Nothing changed" in card_text(card)
    assert "signin.close" in verbs(card), "the leader keeps the sheet's controls"
    assert await rows(app, "attendance") == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(p.name in logged for p in MISSING) and "Bearer" not in logged


async def test_retry_after_within_the_bound_is_honoured(app, connector, graph):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    graph.throttle(1, 1)
    status, card = await app.execute(LEADER, chat, card_id, "attendance.report", {"sid": sid})
    assert "5 attendees are not on the sheet" in card_text(card)
    assert graph.hits()["throttled"] == 1


async def test_a_channel_meeting_is_not_compared(app, connector, graph):
    chat = Chat(id="19:abc123@thread.tacv2", kind="channel")
    card_id, view = await start_session(app, connector, chat, LEADER)
    graph.reset()
    status, card = await app.execute(
        LEADER, chat, card_id, "attendance.report", {"sid": card_sid(view)}
    )
    assert "channel meetings" in card_text(card) and "Nothing changed" in card_text(card)
    assert graph.hits() == {}


async def test_once_sign_in_is_closed_the_leader_is_asked_to_reopen(app, connector, graph):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    await app.execute(LEADER, chat, card_id, "signin.close", {"sid": sid})
    _, card = await app.execute(LEADER, chat, card_id, "attendance.report", {"sid": sid})
    assert "reopen it to add" in card_text(card)
    assert "attendance.report_add" not in verbs(card) and "signin.reopen" in verbs(card)


async def test_one_graph_token_per_hour_however_many_calls(app, connector, graph, authority):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    for _ in range(12):
        await app.execute(LEADER, chat, card_id, "attendance.report", {"sid": sid})
    assert graph.hits()["records"] == 36
    assert graph_tokens(authority, graph) == 1
    assert graph.tokens_seen() == 1


async def test_a_slow_token_authority_does_not_delay_another_chats_click(
    app, connector, graph, authority
):
    chat, card_id, sid = await held_meeting(app, connector, graph)
    other = Chat()
    other_card, other_view = await start_session(app, connector, other, OUTSIDER)
    authority.scope_latency[graph.origin] = 2.0
    compare = asyncio.create_task(
        app.execute(LEADER, chat, card_id, "attendance.report", {"sid": sid})
    )
    await asyncio.sleep(0.3)  # msal is now waiting for its token
    started = time.monotonic()
    status, _ = await app.execute(
        SIGNED[0], other, other_card, "signin", {"sid": card_sid(other_view)}
    )
    elapsed = time.monotonic() - started
    assert status == 200 and elapsed < 1.0, f"a click waited {elapsed:.2f} s for msal"
    assert not compare.done()
    _, card = await compare
    assert "5 attendees are not on the sheet" in card_text(card)


async def test_without_credentials_the_comparison_says_it_is_unavailable(bot, connector):
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, LEADER)
    status, card = await bot.execute(
        LEADER, chat, card_id, "attendance.report", {"sid": card_sid(view)}
    )
    assert "runs without app credentials" in card_text(card)
    assert data_of(card, "signin.close")
