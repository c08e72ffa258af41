"""Prove FakeConnector speaks the Bot Connector protocol the real botbuilder 4.17 client speaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from botbuilder.core import BotAdapter, CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from botbuilder.schema.teams import TeamsChannelAccount
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from msrest.exceptions import ClientRequestError, HttpOperationError

from testing.connector import FakeConnector

# Teams ids carry ':' '@' ';' '=' which the client percent-encodes in the URL path.
CHANNEL_THREAD = "19:abc123@thread.tacv2;messageid=1700000000000"
GROUP_CHAT = "19:meeting_NzY5@thread.v2"
TENANT = "72f988bf-0000-0000-0000-2d7cd011db47"


def card(text: str) -> dict[str, Any]:
    """A minimal Adaptive Card with one text block."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": text}],
    }


def card_activity(text: str, activity_id: str | None = None) -> Activity:
    """A message activity carrying :func:`card`."""
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card(text)))
    activity.id = activity_id
    return activity


def roster(count: int) -> list[dict[str, Any]]:
    """``count`` Teams channel accounts as the Connector returns them."""
    return [
        {
            "id": f"29:user{i}",
            "name": f"User {i}",
            "aadObjectId": f"00000000-0000-0000-0000-{i:012d}",
            "email": f"user{i}@example.org",
            "userPrincipalName": f"user{i}@example.org",
            "givenName": f"User{i}",
            "surname": "Example",
            "tenantId": TENANT,
            "userRole": "user",
        }
        for i in range(count)
    ]


class DevConfig:
    """Bot settings as in local development: no app id, so no auth either way."""

    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


def reference(fake: FakeConnector, conversation_id: str = GROUP_CHAT) -> ConversationReference:
    """A Teams conversation reference whose service URL is the fake."""
    return ConversationReference(
        channel_id="msteams",
        service_url=fake.url,
        conversation=ConversationAccount(
            id=conversation_id, conversation_type="groupChat", tenant_id=TENANT, is_group=True
        ),
        bot=ChannelAccount(id="28:dialogue-bot", name="Dialogue Bot"),
        user=ChannelAccount(id="29:user0", name="User 0"),
    )


async def fetch_participant(
    turn_context: TurnContext, meeting_id: str, participant_id: str, tenant_id: str
) -> Any:
    """Working replacement for TeamsInfo.get_meeting_participant, via the turn's connector."""
    connector: ConnectorClient = turn_context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
    url = connector._client.format_url(
        "/v1/meetings/{meetingId}/participants/{participantId}",
        meetingId=quote(meeting_id, safe=""),
        participantId=quote(participant_id, safe=""),
    )
    request = connector._client.get(url, {"tenantId": tenant_id}, {"Accept": "application/json"})
    response = await connector._client.async_send(request, stream=False)
    if response.status_code != 200:
        raise HttpOperationError(connector._deserialize, response)
    return connector._deserialize("TeamsMeetingParticipant", response)


@pytest.fixture
async def fake() -> AsyncIterator[FakeConnector]:
    """A running FakeConnector with a small default page size."""
    async with FakeConnector(default_page_size=2) as connector:
        yield connector
        assert connector.errors == []


@pytest.fixture
async def client(fake: FakeConnector) -> AsyncIterator[ConnectorClient]:
    """The botframework async connector client, anonymous, aimed at the fake."""
    async with ConnectorClient(MicrosoftAppCredentials("", ""), base_url=fake.url) as connector:
        yield connector


# ---------------------------------------------------------------- activities


async def test_send_records_activity_and_returns_new_id(fake, client):
    """send_to_conversation hits POST .../activities with the decoded conversation id."""
    sent = await client.conversations.send_to_conversation(CHANNEL_THREAD, card_activity("hello"))

    [op] = fake.operations
    assert sent.id and op.activity_id == sent.id
    assert (op.kind, op.method, op.conversation_id) == ("send", "POST", CHANNEL_THREAD)
    assert op.body["type"] == "message"
    assert op.body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert op.authorization is None  # anonymous dev credentials send no token
    assert fake.cards(CHANNEL_THREAD) == [card("hello")]
    assert fake.latest_card(CHANNEL_THREAD, sent.id) == card("hello")


async def test_reply_records_reply_to_id(fake, client):
    """reply_to_activity hits POST .../activities/{activityId} and gets a fresh id."""
    first = await client.conversations.send_to_conversation(GROUP_CHAT, Activity(type="message"))
    reply = await client.conversations.reply_to_activity(
        GROUP_CHAT, first.id, Activity(type="message", text="re")
    )

    op = fake.calls("reply")[0]
    assert reply.id != first.id
    assert (op.activity_id, op.reply_to_id, op.body["text"]) == (reply.id, first.id, "re")
    assert [a.get("text") for a in fake.activities(GROUP_CHAT)] == [None, "re"]


async def test_update_replaces_message_content(fake, client):
    """update_activity hits PUT .../activities/{activityId}; latest_card follows it."""
    sent = await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("v1"))
    updated = await client.conversations.update_activity(
        GROUP_CHAT, sent.id, card_activity("v2", sent.id)
    )

    assert updated.id == sent.id
    assert fake.latest_card(GROUP_CHAT, sent.id) == card("v2")
    assert fake.cards(GROUP_CHAT) == [card("v1"), card("v2")]
    assert [op.kind for op in fake.operations] == ["send", "update"]


async def test_update_of_unknown_message_is_404(fake, client):
    """Editing a message that was never sent fails the way Teams does."""
    with pytest.raises(ErrorResponseException) as caught:
        await client.conversations.update_activity(GROUP_CHAT, "123", card_activity("x", "123"))

    assert caught.value.response.status_code == 404
    assert [f.status for f in fake.failures] == [404]


async def test_delete_removes_message(fake, client):
    """delete_activity hits DELETE .../activities/{activityId}."""
    sent = await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("v1"))
    await client.conversations.delete_activity(GROUP_CHAT, sent.id)

    assert fake.is_deleted(GROUP_CHAT, sent.id)
    assert fake.latest_card(GROUP_CHAT, sent.id) is None
    assert fake.calls("delete")[0].activity_id == sent.id


async def test_create_conversation_returns_stable_personal_chat_id(fake, client):
    """POST /v3/conversations answers with the same 1:1 chat id each time, as Teams does."""
    params = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:dialogue-bot"),
        members=[ChannelAccount(id="29:user1")],
        tenant_id=TENANT,
        channel_data={"tenant": {"id": TENANT}},
    )
    first = await client.conversations.create_conversation(params)
    again = await client.conversations.create_conversation(params)
    sent = await client.conversations.send_to_conversation(first.id, Activity(type="message"))

    assert first.id == again.id == fake.personal_conversation_id("29:user1", TENANT)
    assert fake.calls("create_conversation")[0].body["members"] == [{"id": "29:user1"}]
    assert fake.calls("send", first.id)[0].activity_id == sent.id


# ---------------------------------------------------------------- members


async def test_paged_members_walks_every_page(fake, client):
    """pagedmembers honours pageSize and hands out continuation tokens until the last page."""
    fake.set_members(GROUP_CHAT, roster(5))

    pages, token = [], None
    while True:
        page = await client.conversations.get_conversation_paged_members(
            GROUP_CHAT, continuation_token=token
        )
        pages.append([m.id for m in page.members])
        token = page.continuation_token
        if not token:
            break

    assert pages == [["29:user0", "29:user1"], ["29:user2", "29:user3"], ["29:user4"]]
    bigger = await client.conversations.get_conversation_paged_members(GROUP_CHAT, page_size=4)
    assert len(bigger.members) == 4 and bigger.continuation_token
    assert fake.calls("get_paged_members")[-1].query == {"pageSize": "4"}


async def test_teams_paged_members_carry_teams_fields(fake, client):
    """The Teams flavour deserialises email, UPN, AAD object id and role."""
    fake.set_members(GROUP_CHAT, roster(3))

    page = await client.conversations.get_teams_conversation_paged_members(GROUP_CHAT, 10)

    member = page.members[1]
    assert isinstance(member, TeamsChannelAccount)
    assert (member.id, member.email, member.user_principal_name, member.user_role) == (
        "29:user1",
        "user1@example.org",
        "user1@example.org",
        "user",
    )
    assert member.aad_object_id == "00000000-0000-0000-0000-000000000001"
    assert page.continuation_token is None


async def test_get_member_by_id_or_aad_object_id(fake, client):
    """members/{memberId} accepts the 29: id or the AAD object id; unknown ids are 404."""
    fake.set_members(CHANNEL_THREAD, roster(3))

    by_id = await client.conversations.get_conversation_member(CHANNEL_THREAD, "29:user2")
    by_aad = await client.conversations.get_conversation_member(
        CHANNEL_THREAD, "00000000-0000-0000-0000-000000000002"
    )
    everyone = await client.conversations.get_conversation_members(CHANNEL_THREAD)

    assert by_id.name == by_aad.name == "User 2"
    assert [m.id for m in everyone] == ["29:user0", "29:user1", "29:user2"]
    with pytest.raises(ErrorResponseException) as caught:
        await client.conversations.get_conversation_member(CHANNEL_THREAD, "29:nobody")
    assert caught.value.response.status_code == 404
    assert caught.value.error.error.code == "MemberNotFoundInConversation"


# ---------------------------------------------------------------- faults


async def test_429_on_send_surfaces_as_error_response_exception(fake, client):
    """A throttled POST is not retried by the client: ErrorResponseException with the status."""
    fake.fail_next("send", 429, retry_after=3)

    with pytest.raises(ErrorResponseException) as caught:
        await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("x"))
    retry = await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("y"))

    error = caught.value
    assert isinstance(error, HttpOperationError)
    assert error.response.status_code == 429  # a requests.Response
    assert error.response.headers["Retry-After"] == "3"
    assert error.error.error.code == "TooManyRequests"
    assert [(f.kind, f.status) for f in fake.failures] == [("send", 429)]
    assert [op.activity_id for op in fake.operations] == [retry.id]
    assert fake.cards(GROUP_CHAT) == [card("y")]


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_on_send_is_not_retried(fake, client, status):
    """urllib3 2.x never retries POST, so a 5xx on send reaches the caller at once."""
    fake.fail_next("send", status)

    with pytest.raises(ErrorResponseException) as caught:
        await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("x"))

    assert caught.value.response.status_code == status
    assert len(fake.failures) == 1 and fake.operations == []


async def test_5xx_on_update_is_retried_inside_the_client(fake, client):
    """PUT/GET/DELETE get urllib3's hidden retries (msrest policy): one 503 goes unnoticed."""
    sent = await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("v1"))
    fake.fail_next("update", 503)

    await client.conversations.update_activity(GROUP_CHAT, sent.id, card_activity("v2", sent.id))

    assert [(f.kind, f.status) for f in fake.failures] == [("update", 503)]
    assert fake.latest_card(GROUP_CHAT, sent.id) == card("v2")


async def test_exhausted_retries_raise_client_request_error(fake, client):
    """After 1 + 3 attempts the client raises ClientRequestError, which has no status code."""
    # Default back-off sleeps 0 + 1.6 + 3.2 s; zero it so the test is quick.
    client.config.retry_policy.backoff_factor = 0
    sent = await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("v1"))
    fake.fail_next("update", 503, count=10)

    with pytest.raises(ClientRequestError) as caught:
        await client.conversations.update_activity(
            GROUP_CHAT, sent.id, card_activity("v2", sent.id)
        )

    assert not isinstance(caught.value, HttpOperationError)
    assert "Max retries exceeded" in str(caught.value.inner_exception)
    assert len(fake.failures) == 4
    assert fake.latest_card(GROUP_CHAT, sent.id) == card("v1")


async def test_429_on_update_honours_retry_after_only_when_present(fake, client):
    """urllib3 retries a 429 PUT only if Retry-After is set; without it the caller sees 429."""
    sent = await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("v1"))
    fake.fail_next("update", 429, retry_after=0)
    await client.conversations.update_activity(GROUP_CHAT, sent.id, card_activity("v2", sent.id))
    assert fake.latest_card(GROUP_CHAT, sent.id) == card("v2")

    fake.fail_next("update", 429)
    with pytest.raises(ErrorResponseException) as caught:
        await client.conversations.update_activity(
            GROUP_CHAT, sent.id, card_activity("v3", sent.id)
        )
    assert caught.value.response.status_code == 429
    assert [f.status for f in fake.failures] == [429, 429]


async def test_429_on_paged_members_raises_plain_http_operation_error(fake, client):
    """pagedmembers raises the base HttpOperationError (not ErrorResponseException)."""
    fake.set_members(GROUP_CHAT, roster(3))
    fake.fail_next("get_paged_members", 429)

    with pytest.raises(HttpOperationError) as caught:
        await client.conversations.get_conversation_paged_members(GROUP_CHAT)

    assert type(caught.value) is HttpOperationError
    assert caught.value.response.status_code == 429


async def test_faults_can_target_one_conversation(fake, client):
    """A fault scoped to a conversation leaves other conversations alone."""
    fake.fail_next("*", 503, conversation_id=CHANNEL_THREAD)

    await client.conversations.send_to_conversation(GROUP_CHAT, Activity(type="message"))
    with pytest.raises(ErrorResponseException):
        await client.conversations.send_to_conversation(CHANNEL_THREAD, Activity(type="message"))

    assert [op.conversation_id for op in fake.operations] == [GROUP_CHAT]
    assert [f.conversation_id for f in fake.failures] == [CHANNEL_THREAD]


async def test_fractional_retry_after_is_refused(fake):
    """Retry-After is whole seconds on the wire; urllib3 rejects anything else."""
    with pytest.raises(ValueError):
        fake.fail_next("send", 429, retry_after=0.5)


# ---------------------------------------------------------------- waiting, rates, oddities


async def test_wait_for_sees_background_sends(fake, client):
    """wait_for wakes when the bot's background work lands, and times out otherwise."""

    async def later() -> None:
        await asyncio.sleep(0.2)
        await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("late"))

    task = asyncio.create_task(later())
    found = await fake.wait_for(lambda: fake.cards(GROUP_CHAT), timeout=5)
    await task

    assert found == [card("late")]
    ops = await fake.wait_for_calls(1, conversation_id=GROUP_CHAT)
    assert ops[0].kind == "send"
    with pytest.raises(TimeoutError):
        await fake.wait_for(lambda: fake.cards(CHANNEL_THREAD), timeout=0.2)


async def test_rate_accounting(fake, client):
    """Timestamps let a test check messages per conversation per window."""
    for i in range(4):
        await client.conversations.send_to_conversation(GROUP_CHAT, Activity(type="message"))
        if i == 1:
            await asyncio.sleep(0.3)

    stamps = fake.timestamps(GROUP_CHAT)
    assert len(stamps) == 4 and stamps == sorted(stamps)
    assert fake.max_in_window(GROUP_CHAT, window=60.0) == 4
    # The 0.3 s pause splits the sends into two bursts no 0.3 s window can span.
    assert fake.max_in_window(GROUP_CHAT, window=0.3) <= 2
    assert stamps[2] - stamps[1] >= 0.3
    assert fake.max_in_window(CHANNEL_THREAD) == 0


async def test_unknown_route_is_recorded_as_failure(fake, client):
    """Calls the fake does not implement are 404 and visible in failures."""
    with pytest.raises(ErrorResponseException):
        await client.attachments.get_attachment_info("att-1")

    assert [(f.kind, f.path, f.status) for f in fake.failures] == [
        ("unknown", "/v3/attachments/att-1", 404)
    ]


async def test_clear_forgets_traffic_but_keeps_messages(fake, client):
    """clear() empties the records; update of an earlier message still works."""
    sent = await client.conversations.send_to_conversation(GROUP_CHAT, card_activity("v1"))
    fake.clear()
    await client.conversations.update_activity(GROUP_CHAT, sent.id, card_activity("v2", sent.id))

    assert [op.kind for op in fake.operations] == ["update"]
    assert fake.latest_card(GROUP_CHAT, sent.id) == card("v2")


# ---------------------------------------------------------------- botbuilder adapter level


async def test_cloud_adapter_continue_conversation_with_empty_app_id(fake):
    """CloudAdapter in dev mode (no app id) delivers proactive sends and card updates."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(DevConfig()))
    sent_ids: list[str] = []

    async def send_then_update(turn_context: TurnContext) -> None:
        sent = await turn_context.send_activity(card_activity("v1"))
        sent_ids.append(sent.id)
        await turn_context.update_activity(card_activity("v2", sent.id))

    await adapter.continue_conversation(reference(fake), send_then_update, bot_app_id="")

    [activity_id] = sent_ids
    # A proactive turn's activity has a random id, so send_activity becomes a *reply* to it.
    assert [op.kind for op in fake.operations] == ["reply", "update"]
    assert fake.operations[1].activity_id == activity_id
    assert fake.latest_card(GROUP_CHAT, activity_id) == card("v2")
    assert all(op.authorization is None for op in fake.operations)


async def test_teams_info_members_in_a_proactive_turn(fake):
    """TeamsInfo.get_paged_members / get_member work once channel_data is a dict."""
    fake.set_members(GROUP_CHAT, roster(5))
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(DevConfig()))
    seen: dict[str, Any] = {}

    async def logic(turn_context: TurnContext) -> None:
        # Continuation activities have channel_data=None and TeamsInfo does
        # TeamsChannelData(**channel_data), so give it the tenant like a real Teams activity.
        turn_context.activity.channel_data = {"tenant": {"id": TENANT}}
        ids, token = [], None
        while True:
            page = await TeamsInfo.get_paged_members(turn_context, token, page_size=2)
            ids += [m.id for m in page.members]
            token = page.continuation_token
            if not token:
                break
        seen["ids"] = ids
        seen["member"] = await TeamsInfo.get_member(turn_context, "29:user3")

    await adapter.continue_conversation(reference(fake), logic, bot_app_id="")

    assert seen["ids"] == [f"29:user{i}" for i in range(5)]
    assert seen["member"].email == "user3@example.org"
    assert len(fake.calls("get_paged_members")) == 3


async def test_cloud_adapter_create_conversation_for_personal_chat(fake):
    """CloudAdapter.create_conversation opens a 1:1 chat on the fake and sends into it."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(DevConfig()))
    params = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:dialogue-bot"),
        members=[ChannelAccount(id="29:user4")],
        tenant_id=TENANT,
        channel_data={"tenant": {"id": TENANT}},
    )
    seen: list[str] = []

    async def logic(turn_context: TurnContext) -> None:
        seen.append(turn_context.activity.conversation.id)
        await turn_context.send_activity(MessageFactory.text("Your seat is confirmed"))

    await adapter.create_conversation("", logic, params, "msteams", fake.url)

    personal = fake.personal_conversation_id("29:user4", TENANT)
    assert seen == [personal]
    assert [a["text"] for a in fake.activities(personal)] == ["Your seat is confirmed"]


async def test_meeting_info_and_the_participant_sdk_bug(fake):
    """get_meeting_info works; 4.17.1's get_meeting_participant calls the *meeting* URL."""
    fake.set_meeting("MCMeeting", {"details": {"id": "MCMeeting", "title": "Dialogue"}})
    fake.set_meeting_participant(
        "MCMeeting",
        "29:user1",
        {"user": {"id": "29:user1", "name": "User 1"}, "meeting": {"role": "Presenter"}},
    )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(DevConfig()))
    seen: dict[str, Any] = {}

    async def logic(turn_context: TurnContext) -> None:
        # Both TeamsInfo meeting calls are synchronous (requests) and block this loop; the
        # fake answers from its own thread, so they complete.
        info = await TeamsInfo.get_meeting_info(turn_context, "MCMeeting")
        seen["title"] = info.details["title"]
        sdk = await TeamsInfo.get_meeting_participant(turn_context, "MCMeeting", "29:user1", TENANT)
        seen["sdk_user"] = sdk.user
        seen["raw"] = await fetch_participant(turn_context, "MCMeeting", "29:user1", TENANT)

    await adapter.continue_conversation(reference(fake), logic, bot_app_id="")

    assert seen["title"] == "Dialogue"
    assert seen["sdk_user"] is None  # fetch_participant.metadata is overwritten in the SDK
    assert seen["raw"].user.name == "User 1" and seen["raw"].meeting.role == "Presenter"
    assert [op.kind for op in fake.operations] == ["get_meeting", "get_meeting", "get_participant"]
    assert fake.calls("get_participant")[0].query == {"tenantId": TENANT}


async def test_unconfigured_meeting_is_404(fake, client):
    """Meeting endpoints answer 404 until a test configures them."""
    for path in ("v1/meetings/nope", "v1/meetings/nope/participants/29:x?tenantId=t"):
        request = client._client.get(fake.url + path)
        response = await client._client.async_send(request)
        assert response.status_code == 404
    assert [f.kind for f in fake.failures] == ["get_meeting", "get_participant"]
