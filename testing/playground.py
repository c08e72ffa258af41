"""Drive the Microsoft 365 Agents Playground over HTTP and websockets in end-to-end tests.

What the Playground (0.2.28) does, observed:
- Messages posted through its API always come from `currentUser`, whatever `from` says, and a
  group chat or channel message reaches the bot only if it mentions the bot. So `send()` for
  another user injects the same activity through `/_internal/v1/customActivities`: the bot sees
  a faithful message from that user, but the Playground's UI does not show it.
- Card actions (`invoke`, `submit`) honour `from`: any configured user may click.
- Bot messages arrive on `/_ws_conversation/v1/conversations/stream` as `createMessage` and
  `updateMessage` (update activity) and `typing`, only for chats the current user is in.
  An `adaptiveCard/action` answer is returned to the caller and replaces the stored card
  without any websocket event. Every call the bot makes to the emulated connector (including
  1:1 chats with other users, which the conversation stream hides) is on `/_ws/log/stream`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "deploy" / "playground" / "m365agentsplayground.yml"
PLAYGROUND_BIN = ROOT / "node_modules" / ".bin" / "agentsplayground"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CONVERSATION_STREAM = "/_ws_conversation/v1/conversations/stream"
LOG_STREAM = "/_ws/log/stream"


class PlaygroundError(RuntimeError):
    """The Playground refused a request, or did not start; carries the HTTP status and body."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message if status is None else f"{message} (HTTP {status}: {body!r})")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class BotMessage:
    """A bot message as the conversation stream showed it: created, or updated in place."""

    action: str
    conversation_id: str
    id: str
    text: str | None
    cards: tuple[dict[str, Any], ...]
    mentions: tuple[dict[str, Any], ...]
    raw: dict[str, Any]

    @property
    def card(self) -> dict[str, Any] | None:
        """The first Adaptive Card in the message, if any."""
        return self.cards[0] if self.cards else None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> BotMessage:
        """Build from a `createMessage`/`updateMessage` event."""
        message = event.get("message") or {}
        cards = tuple(
            a.get("content") or {}
            for a in message.get("attachments") or ()
            if a.get("contentType") == ADAPTIVE_CARD
        )
        return cls(
            action=str(event.get("action")),
            conversation_id=str(event.get("actionConversationId")),
            id=str(message.get("messageId")),
            text=message.get("text"),
            cards=cards,
            mentions=tuple(message.get("mentions") or ()),
            raw=dict(event),
        )


@dataclass(frozen=True)
class ConnectorCall:
    """One call the bot made to the emulated Bot Connector, from the Playground's log stream."""

    name: str
    conversation_id: str | None
    request: Any
    status: int | None
    response: Any
    raw: dict[str, Any]


@dataclass(frozen=True)
class PlaygroundConfig:
    """The mock tenant the Playground serves: bot, people and conversation ids."""

    tenant_id: str
    bot_id: str
    bot_name: str
    current_user: dict[str, Any]
    users: tuple[dict[str, Any], ...]
    personal_chat_id: str
    group_chat_id: str
    group_chat_name: str
    team_id: str
    channel_ids: tuple[str, ...]
    service_url: str
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, body: Mapping[str, Any], service_url: str) -> PlaygroundConfig:
        """Build from the body of `GET /_internal/v1/testConfig` and the connector's URL."""
        config = body["config"]
        team = config["teams"][0]
        current = dict(config["currentUser"])
        return cls(
            tenant_id=config["tenantId"],
            bot_id=config["bot"]["id"],
            bot_name=config["bot"]["name"],
            current_user=current,
            users=(current, *(dict(u) for u in config["users"])),
            personal_chat_id=config["personalChat"]["id"],
            group_chat_id=config["groupChats"][0]["id"],
            group_chat_name=config["groupChats"][0]["name"],
            team_id=team["id"],
            channel_ids=tuple(c["id"] for c in team["channels"]),
            service_url=service_url,
            raw=dict(body),
        )

    def user(self, who: str) -> dict[str, Any]:
        """The user whose id, aadObjectId, name or given name is `who` (case-insensitive)."""
        wanted = who.casefold()
        for user in self.users:
            if wanted in (
                str(user.get(k, "")).casefold() for k in ("id", "aadObjectId", "name", "givenName")
            ):
                return user
        raise KeyError(f"no Playground user {who!r}")

    def is_channel(self, conversation_id: str) -> bool:
        """Whether the id is a team channel (General has the team's id) or a post in one."""
        return conversation_id.split(";", 1)[0] in self.channel_ids

    def is_personal(self, conversation_id: str) -> bool:
        """Whether the id is a 1:1 chat with the bot (the configured one or one the bot made)."""
        return conversation_id == self.personal_chat_id or conversation_id.endswith("@test.user")


class PlaygroundClient:
    """Talks to a running Playground as its users do, and records everything the bot sends."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._messages: list[BotMessage] = []
        self._events: list[dict[str, Any]] = []
        self._calls: list[ConnectorCall] = []
        self._cards: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._stream_error: BaseException | None = None
        self._config: PlaygroundConfig | None = None

    async def __aenter__(self) -> PlaygroundClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the HTTP session and subscribe to the conversation and log streams."""
        # trust_env stays off: no proxy may stand between the tests and the loopback Playground.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        ws_base = self.base_url.replace("http", "ws", 1)
        try:
            for path, handle in (
                (CONVERSATION_STREAM, self._on_event),
                (LOG_STREAM, self._on_log),
            ):
                socket_ = await self._session.ws_connect(ws_base + path, heartbeat=30)
                self._readers.append(asyncio.create_task(self._read(socket_, handle)))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop reading the streams and close the session."""
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._readers.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- reading ---------------------------------------------------------------------------

    async def config(self) -> PlaygroundConfig:
        """The Playground's tenant, bot, users and conversation ids (fetched once)."""
        if self._config is None:
            # /_internal/v1/config first waits up to 15 s for the bot; testConfig answers at once.
            status, body = await self._request("GET", "/_internal/v1/testConfig")
            if status != 200:
                raise PlaygroundError("cannot read the Playground's config", status, body)
            # Its activity template carries the serviceUrl it gives the bot (--service-url).
            chat = quote(body["config"]["groupChats"][0]["id"], safe="")
            path = f"/_internal/v1/customActivities/template?conversationId={chat}"
            status, template = await self._request("GET", path)
            if status != 200:
                raise PlaygroundError("cannot read the activity template", status, template)
            self._config = PlaygroundConfig.from_json(body, template["serviceUrl"])
        return self._config

    def mark(self) -> int:
        """A position in the recorded messages: pass it as `after=` to wait only for newer ones."""
        return len(self._messages)

    def messages(self, conversation_id: str | None = None, *, after: int = 0) -> list[BotMessage]:
        """Bot messages recorded so far (creations and updates, in arrival order)."""
        return [
            m
            for m in self._messages[after:]
            if conversation_id is None or m.conversation_id == conversation_id
        ]

    def events(self) -> list[dict[str, Any]]:
        """Every raw conversation-stream event, `typing` included."""
        return list(self._events)

    def connector_calls(self, name: str | None = None) -> list[ConnectorCall]:
        """Calls the bot made to the emulated connector (replayed from the Playground's start)."""
        return [c for c in self._calls if name is None or c.name == name]

    def card(self, message_id: str) -> dict[str, Any] | None:
        """The card a message shows now: the last of its creation, updates and invoke answers."""
        return self._cards.get(message_id)

    async def wait_for_message(
        self,
        predicate: Callable[[BotMessage], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - the tests' agreed API; asyncio.timeout inside
        *,
        after: int = 0,
    ) -> BotMessage:
        """The first recorded message at or after `after` matching `predicate`, waiting for it."""
        return await self._wait(
            lambda: next((m for m in self._messages[after:] if predicate(m)), None),
            timeout,
            "a bot message matching the predicate",
        )

    async def wait_for_connector_call(
        self,
        predicate: Callable[[ConnectorCall], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - same API as wait_for_message
        *,
        after: int = 0,
    ) -> ConnectorCall:
        """The first connector call at or after index `after` matching `predicate`."""
        return await self._wait(
            lambda: next((c for c in self._calls[after:] if predicate(c)), None),
            timeout,
            "a connector call matching the predicate",
        )

    # --- acting ----------------------------------------------------------------------------

    async def send(
        self, conversation_id: str, user_id: str, text: str, mention_bot: bool = True
    ) -> dict[str, Any]:
        """Post `text` as a user; in group chats and channels prefix an @mention of the bot.

        As the current user this is the Playground's own message API and returns its answer
        (`messageId`, and `postConversationId` for a new channel post). As anyone else it is
        a custom activity and returns `{"activityId": ...}`; a message that does not mention
        the bot outside a 1:1 chat is then not sent at all, as Teams would not deliver it.
        """
        config = await self.config()
        user = config.user(user_id)
        personal = config.is_personal(conversation_id)
        mention = f"<at>{config.bot_name}</at>"
        with_mention = mention_bot and not personal
        full_text = f"{mention} {text}" if with_mention else text
        if user["id"] == config.current_user["id"]:
            body: dict[str, Any] = {"from": {"id": user["id"]}, "text": full_text}
            body["textFormat"] = "plain"
            if with_mention:
                body["mentions"] = [{"mentioned": {"id": config.bot_id}, "text": mention}]
            path = f"/_conversation/v1/conversations/{quote(conversation_id, safe='')}/messages"
            status, answer = await self._request("POST", path, body)
            if status != 200:
                raise PlaygroundError(f"message to {conversation_id} refused", status, answer)
            return answer
        if conversation_id == config.personal_chat_id:
            raise PlaygroundError(f"{conversation_id} is {config.current_user['name']}'s 1:1 chat")
        activity_id = str(uuid.uuid4())
        if with_mention or personal:
            activity = self._message_activity(config, conversation_id, user, full_text)
            activity["id"] = activity_id
            if with_mention:
                activity["entities"].insert(
                    0,
                    {
                        "type": "mention",
                        "mentioned": {"id": config.bot_id, "name": config.bot_name},
                        "text": mention,
                    },
                )
            await self.send_activity(activity)
        return {"activityId": activity_id}

    async def send_activity(self, activity: Mapping[str, Any]) -> None:
        """Deliver any activity to the bot as the Playground would (no answer is returned)."""
        status, answer = await self._request("POST", "/_internal/v1/customActivities", activity)
        if status != 200:
            raise PlaygroundError("custom activity refused", status, answer)

    async def invoke_raw(
        self,
        conversation_id: str,
        user_id: str,
        reply_to_id: str,
        verb: str,
        data: Mapping[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """Click an Action.Execute; return the HTTP status and body the Playground answers."""
        config = await self.config()
        body = {
            "name": "adaptiveCard/action",
            "conversation": {"id": conversation_id},
            "from": {"id": config.user(user_id)["id"]},
            "replyToId": reply_to_id,
            "value": {
                "action": {"type": "Action.Execute", "verb": verb, "data": dict(data or {})},
                "trigger": "manual",
            },
        }
        return await self._request("POST", "/_conversation/v1/invoke", body)

    async def invoke(
        self,
        conversation_id: str,
        user_id: str,
        reply_to_id: str,
        verb: str,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Click an Action.Execute on message `reply_to_id`; return the card the bot answered."""
        status, answer = await self.invoke_raw(conversation_id, user_id, reply_to_id, verb, data)
        if status != 200 or not isinstance(answer, dict) or answer.get("type") != ADAPTIVE_CARD:
            raise PlaygroundError(f"invoke {verb!r} did not answer a card", status, answer)
        card = answer["value"]
        # The Playground swaps the message's card for the answer without a websocket event.
        self._cards[reply_to_id] = card
        return card

    async def submit(
        self, conversation_id: str, user_id: str, reply_to_id: str, value: Mapping[str, Any]
    ) -> None:
        """Click an Action.Submit: the bot gets a message activity with `value` and no text."""
        config = await self.config()
        body = {
            "conversation": {"id": conversation_id},
            "from": {"id": config.user(user_id)["id"]},
            "replyToId": reply_to_id,
            "value": dict(value),
        }
        status, answer = await self._request("POST", "/_conversation/v1/submit", body)
        if status != 200:
            raise PlaygroundError("submit refused", status, answer)

    async def install(self, conversation_id: str) -> None:
        """Add the bot to a conversation: an installationUpdate, then a conversationUpdate."""
        path = f"/_debug/conversation/{quote(conversation_id, safe='')}/installation"
        status, answer = await self._request("POST", path, {})
        if status != 200:
            raise PlaygroundError("installation refused", status, answer)

    # --- internals -------------------------------------------------------------------------

    def _message_activity(
        self, config: PlaygroundConfig, conversation_id: str, user: Mapping[str, Any], text: str
    ) -> dict[str, Any]:
        """A message activity shaped like the ones the Playground itself sends."""
        now = datetime.now(UTC)
        conversation: dict[str, Any] = {"tenantId": config.tenant_id, "id": conversation_id}
        channel_data: dict[str, Any] = {"tenant": {"id": config.tenant_id}}
        if config.is_personal(conversation_id):
            conversation["conversationType"] = "personal"
        elif config.is_channel(conversation_id):
            conversation.update(isGroup=True, conversationType="channel")
            channel = conversation_id.split(";", 1)[0]
            channel_data.update(
                teamsChannelId=channel,
                teamsTeamId=config.team_id,
                team={"id": config.team_id},
                channel={"id": channel},
            )
        else:
            conversation.update(isGroup=True, conversationType="groupChat")
        return {
            "type": "message",
            "text": text,
            "from": {"id": user["id"], "name": user["name"], "aadObjectId": user["aadObjectId"]},
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "localTimestamp": now.isoformat(timespec="milliseconds"),
            "localTimezone": "UTC",
            "serviceUrl": config.service_url,
            "conversation": conversation,
            "recipient": {"id": config.bot_id, "name": config.bot_name},
            "textFormat": "plain",
            "locale": "en-US",
            "entities": [
                {
                    "type": "clientInfo",
                    "locale": "en-US",
                    "country": "US",
                    "platform": "Web",
                    "timezone": "UTC",
                }
            ],
            "channelData": channel_data,
            "channelId": "msteams",
        }

    async def _request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One HTTP request; the body is JSON when it parses, else text."""
        if self._session is None:
            raise PlaygroundError("the client is not started")
        async with self._session.request(method, self.base_url + path, json=body) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    async def _read(
        self, socket_: aiohttp.ClientWebSocketResponse, handle: Callable[[dict[str, Any]], None]
    ) -> None:
        """Feed each JSON frame of a stream to `handle` and wake the waiters."""
        try:
            async for frame in socket_:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                handle(json.loads(frame.data))
                async with self._changed:
                    self._changed.notify_all()
            raise PlaygroundError("the Playground closed a stream")
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Not raised here, where nobody awaits it: every waiter reports it instead.
            self._stream_error = error
            async with self._changed:
                self._changed.notify_all()
        finally:
            await socket_.close()

    def _on_event(self, event: dict[str, Any]) -> None:
        """Record a conversation-stream event."""
        self._events.append(event)
        if event.get("action") in ("createMessage", "updateMessage"):
            message = BotMessage.from_event(event)
            self._messages.append(message)
            if message.card is not None:
                self._cards[message.id] = message.card

    def _on_log(self, frame: dict[str, Any]) -> None:
        """Record a log-stream entry when it is a call from the bot to the connector."""
        log = frame.get("log") or {}
        if log.get("from") != "User Application":
            return
        response = log.get("response") or {}
        self._calls.append(
            ConnectorCall(
                name=str(log.get("activityName")),
                conversation_id=log.get("conversationId"),
                request=(log.get("request") or {}).get("body"),
                status=response.get("statusCode"),
                response=response.get("body"),
                raw=log,
            )
        )

    async def _wait(self, find: Callable[[], Any], seconds: float, what: str) -> Any:
        """Wait until `find` returns something, a stream fails, or the timeout passes."""
        try:
            async with asyncio.timeout(seconds), self._changed:
                while (found := find()) is None:
                    if self._stream_error is not None:
                        raise PlaygroundError(f"stream failed: {self._stream_error!r}")
                    await self._changed.wait()
                return found
        except TimeoutError:
            raise TimeoutError(f"no {what} within {seconds} s") from None


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PlaygroundProcess:
    """One Agents Playground for a test: own config, free port and scratch directory."""

    def __init__(
        self,
        bot_endpoint: str,
        *,
        config: Mapping[str, Any] | Path | None = None,
        port: int | None = None,
        workdir: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.bot_endpoint = bot_endpoint
        self.port = port
        self.startup_timeout = startup_timeout
        self._config = config if config is not None else DEFAULT_CONFIG
        self._workdir = workdir
        self._own_workdir = workdir is None
        self._process: asyncio.subprocess.Process | None = None

    @property
    def base_url(self) -> str:
        """Where the Playground answers (UI, APIs and emulated connector)."""
        if self.port is None:
            raise PlaygroundError("the Playground is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def workdir(self) -> Path:
        """The directory holding the config and the logs."""
        if self._workdir is None:
            raise PlaygroundError("the Playground is not started")
        return self._workdir

    def client(self) -> PlaygroundClient:
        """A client for this Playground (use it as `async with`)."""
        return PlaygroundClient(self.base_url)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the Playground's output, for failure messages."""
        text = ""
        for name in ("playground.out", "playground.log"):
            with contextlib.suppress(OSError):
                text += (self.workdir / name).read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    async def __aenter__(self) -> PlaygroundProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> PlaygroundProcess:
        """Write the config, start the Playground and wait until it answers with that config."""
        if not PLAYGROUND_BIN.exists():
            raise PlaygroundError(f"{PLAYGROUND_BIN} is missing: run `npm ci` first")
        config_text = self._prepare()
        wanted = self.port
        for _attempt in range(3):
            self.port = wanted or free_port()
            listening = await self._launch()
            if listening == self.port:
                break
            # Another process took the port between our check and its start; it then picks a
            # random one, which our --service-url would not match.
            await self.stop(keep_workdir=True)
            if wanted is not None:
                raise PlaygroundError(f"port {wanted} is taken")
        else:
            raise PlaygroundError("could not start the Playground on a free port")
        status, body = await self._get("/_internal/v1/testConfig")
        tenant = (body or {}).get("config", {}).get("tenantId") if status == 200 else None
        if not tenant or tenant not in config_text:
            # An unreadable config path makes it fall back to its built-in tenant silently.
            await self.stop()
            raise PlaygroundError("the Playground did not load the given config", status, body)
        return self

    async def stop(self, *, keep_workdir: bool = False) -> None:
        """Stop the process group (SIGTERM, then SIGKILL) and remove a scratch directory."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._own_workdir and self._workdir is not None and not keep_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _prepare(self) -> str:
        """Create the scratch directory and write the config; return the config's text."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="playground-"))
        self._workdir.mkdir(parents=True, exist_ok=True)
        if isinstance(self._config, Path):
            text = self._config.read_text(encoding="utf-8")
        else:
            # JSON is YAML; the Playground's YAML reader accepts it.
            text = json.dumps(self._config, indent=2, ensure_ascii=False)
        (self._workdir / "config.yml").write_text(text, encoding="utf-8")
        return text

    def _open_output(self) -> Any:
        """A fresh file for the process's stdout and stderr."""
        return (self.workdir / "playground.out").open("wb")

    def _listening_port(self) -> int | None:
        """The port from the `Listening on N` line the Playground prints, once printed."""
        with contextlib.suppress(OSError):
            for line in (self.workdir / "playground.out").read_text(errors="replace").splitlines():
                if line.startswith("Listening on "):
                    return int(line.removeprefix("Listening on ").strip())
        return None

    async def _launch(self) -> int:
        """Start the process; return the port it listens on once it answers its ping."""
        env = {
            **os.environ,
            "TEAMSAPPTESTER_BROWSER": "none",
            "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(self.workdir / "config.yml"),
            "M365_AGENTS_PLAYGROUND_LOGFILE": str(self.workdir / "playground.log"),
        }
        output = self._open_output()
        try:
            self._process = await asyncio.create_subprocess_exec(
                str(PLAYGROUND_BIN),
                "--app-endpoint",
                self.bot_endpoint,
                "--channel-id",
                "msteams",
                "--port",
                str(self.port),
                "--service-url",
                f"http://127.0.0.1:{self.port}/_connector",
                "--disable-telemetry",
                cwd=self.workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                # Its own process group, so stop() reaches everything it starts.
                start_new_session=True,
            )
        finally:
            output.close()
        try:
            async with asyncio.timeout(self.startup_timeout):
                while True:
                    if self._process.returncode is not None:
                        raise PlaygroundError(
                            f"the Playground exited with {self._process.returncode}:\n"
                            + self.log_tail()
                        )
                    port = self._listening_port()
                    if port is not None and port != self.port:
                        return port
                    if port is not None and (await self._get("/_debug/ping"))[1] == "pong":
                        return port
                    await asyncio.sleep(0.1)
        except TimeoutError:
            tail = self.log_tail()
            await self.stop()
            raise PlaygroundError(f"the Playground did not start in time:\n{tail}") from None
        except BaseException:
            await self.stop()
            raise

    async def _get(self, path: str) -> tuple[int, Any]:
        """A GET to this Playground; (0, None) when nothing answers."""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(self.base_url + path) as response,
            ):
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0, None
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text
