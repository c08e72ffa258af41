"""A local stand-in for the Teams Bot Connector service (Bot Framework REST protocol v3).

Tests point an activity's ``serviceUrl`` at :attr:`FakeConnector.url` and then assert on
what the bot sent.  The routes and JSON shapes follow the botframework-connector 4.17 client
(``botframework/connector/aio/operations_async/_conversations_operations_async.py`` and
``botframework/connector/teams/operations/teams_operations.py``).

The aiohttp server runs on its own event loop in a daemon thread.  That keeps it independent
of whichever loop pytest-asyncio gives a test, and it keeps answering while a synchronous
client blocks the test's loop: ``TeamsInfo.get_meeting_info`` / ``get_meeting_participant``
use the requests-based ``TeamsConnectorClient`` and would deadlock against an in-loop server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import copy
import dataclasses
import hashlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

SEND = "send"
REPLY = "reply"
UPDATE = "update"
DELETE = "delete"
CREATE_CONVERSATION = "create_conversation"
GET_CONVERSATIONS = "get_conversations"
HISTORY = "send_history"
GET_MEMBERS = "get_members"
GET_MEMBER = "get_member"
GET_PAGED_MEMBERS = "get_paged_members"
GET_ACTIVITY_MEMBERS = "get_activity_members"
DELETE_MEMBER = "delete_member"
GET_MEETING = "get_meeting"
GET_PARTICIPANT = "get_participant"
MEETING_NOTIFICATION = "meeting_notification"
UNKNOWN = "unknown"

# Operations that put an activity into a conversation; these are what "rate" means for Teams
# throttling (its limits are per bot per conversation and count sends, replies and edits).
ACTIVITY_KINDS = frozenset({SEND, REPLY, UPDATE})
WRITE_KINDS = frozenset({SEND, REPLY, UPDATE, DELETE})

_REASONS = {
    400: "BadArgument",
    403: "Forbidden",
    404: "NotFound",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass(frozen=True)
class Operation:
    """One request the fake received: delivered (in ``operations``) or faulted (``failures``)."""

    kind: str
    method: str
    path: str
    conversation_id: str | None
    # For send/reply: the id the fake assigned; for update/delete: the id in the URL.
    activity_id: str | None
    body: Any
    at: float  # time.monotonic(), for rate maths
    wall_time: float  # time.time(), for humans
    status: int
    authorization: str | None = None
    reply_to_id: str | None = None
    member_id: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    peer: str = ""  # the client's address and port: which connection the request came on


@dataclass
class _Fault:
    kind: str
    status: int
    remaining: int
    retry_after: int | None
    conversation_id: str | None
    body: dict[str, Any] | None


class FakeConnector:
    """A real HTTP server on 127.0.0.1 speaking the Teams Bot Connector REST API."""

    def __init__(self, *, default_page_size: int = 200, host: str = "127.0.0.1") -> None:
        """Configure the fake; call :meth:`start` (or ``async with``) to listen."""
        # Page size used when a paged-members request carries no pageSize; tests lower it
        # to force several pages.
        self.default_page_size = default_page_size
        self.max_page_size = 500
        self._host = host
        self._port: int | None = None
        self._lock = threading.Lock()
        # Teams activity ids are epoch-millisecond strings; keep that shape but stay unique.
        self._ids = itertools.count(int(time.time() * 1000))
        self._operations: list[Operation] = []
        self._failures: list[Operation] = []
        self._errors: list[str] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._deleted: set[tuple[str, str]] = set()
        self._members: dict[str, list[dict[str, Any]]] = {}
        self._meetings: dict[str, dict[str, Any]] = {}
        self._participants: dict[tuple[str, str], dict[str, Any]] = {}
        # Meetings whose RSC permissions the app lacks: every meeting API answers 403.
        self._forbidden: set[str] = set()
        self._faults: list[_Fault] = []
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._thread: threading.Thread | None = None
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeConnector:
        """Start listening on a free port; returns self."""
        if self._thread is not None:
            raise RuntimeError("FakeConnector already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self._host, 0))
        self._port = sock.getsockname()[1]
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve_forever,
            args=(sock, ready),
            name=f"FakeConnector:{self._port}",
            daemon=True,
        )
        self._thread.start()
        await asyncio.wrap_future(ready)
        return self

    async def stop(self) -> None:
        """Stop the server and wait for its thread to finish."""
        thread, loop, stop_event = self._thread, self._server_loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop_event is not None:
            try:
                loop.call_soon_threadsafe(stop_event.set)
            except RuntimeError:
                pass  # the server loop already ended
        await asyncio.to_thread(thread.join, 10.0)
        self._thread = self._server_loop = self._stop_event = None

    async def __aenter__(self) -> FakeConnector:
        """Start the server."""
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server."""
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as an activity's ``serviceUrl``, e.g. ``http://127.0.0.1:PORT/``."""
        if self._port is None:
            raise RuntimeError("FakeConnector not started")
        return f"http://{self._host}:{self._port}/"

    def _serve_forever(self, sock: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        try:
            asyncio.run(self._serve(sock, ready))
        except BaseException as exc:  # hand start-up errors back to start()
            if not ready.done():
                ready.set_exception(exc)
            else:
                with self._lock:
                    self._errors.append(f"server thread died: {exc!r}")

    async def _serve(self, sock: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        self._server_loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        runner = web.AppRunner(self._make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            ready.set_result(None)
            await self._stop_event.wait()
        finally:
            await runner.cleanup()

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._error_middleware])
        conv = "/v3/conversations/{conversation_id}"
        app.router.add_get("/v3/conversations", self._get_conversations)
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_post(conv + "/activities", self._send)
        app.router.add_post(conv + "/activities/history", self._history)
        app.router.add_post(conv + "/activities/{activity_id}", self._reply)
        app.router.add_put(conv + "/activities/{activity_id}", self._update)
        app.router.add_delete(conv + "/activities/{activity_id}", self._delete)
        app.router.add_get(conv + "/activities/{activity_id}/members", self._activity_members)
        app.router.add_get(conv + "/members", self._get_members)
        app.router.add_get(conv + "/members/{member_id}", self._get_member)
        app.router.add_delete(conv + "/members/{member_id}", self._delete_member)
        app.router.add_get(conv + "/pagedmembers", self._paged_members)
        app.router.add_get("/v1/meetings/{meeting_id}", self._get_meeting)
        app.router.add_get(
            "/v1/meetings/{meeting_id}/participants/{participant_id}", self._get_participant
        )
        app.router.add_post("/v1/meetings/{meeting_id}/notification", self._notify)
        # Anything else is recorded so a test can see the bot called an unsupported API.
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    @web.middleware
    async def _error_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug in the fake must be visible to tests, not hidden
            with self._lock:
                self._errors.append(f"{request.method} {request.path}: {exc!r}")
            return _error(500, "FakeConnectorBug", repr(exc))

    # ------------------------------------------------------------------ configuration

    def set_members(self, conversation_id: str, members: list[dict[str, Any]]) -> None:
        """Set the roster (Teams channel accounts) returned for a conversation or team id."""
        with self._lock:
            self._members[conversation_id] = copy.deepcopy(list(members))

    def set_meeting(self, meeting_id: str, info: dict[str, Any]) -> None:
        """Make ``GET /v1/meetings/{meeting_id}`` return ``info`` (a MeetingInfo JSON)."""
        with self._lock:
            self._meetings[meeting_id] = copy.deepcopy(info)

    def set_meeting_participant(
        self, meeting_id: str, participant_id: str, participant: dict[str, Any]
    ) -> None:
        """Make the meeting-participant endpoint return ``participant`` for that pair."""
        with self._lock:
            self._participants[(meeting_id, participant_id)] = copy.deepcopy(participant)

    def forbid_meeting(self, meeting_id: str) -> None:
        """Answer every meeting API of this meeting 403, as Teams does without RSC consent."""
        with self._lock:
            self._forbidden.add(meeting_id)

    def notifications(self, meeting_id: str | None = None) -> list[Operation]:
        """Targeted meeting notifications delivered (202 or 207), oldest first."""
        return [
            op
            for op in self.calls(MEETING_NOTIFICATION)
            if meeting_id is None or op.member_id == meeting_id
        ]

    def fail_next(
        self,
        kind: str,
        status: int,
        count: int = 1,
        retry_after: int | None = None,
        *,
        conversation_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``count`` operations of ``kind`` (``"*"`` = any) with ``status``."""
        if count < 1:
            raise ValueError("count must be >= 1")
        # Retry-After is whole seconds on the wire; urllib3 (used by the botbuilder client)
        # rejects "0.5" with InvalidHeader, so a fractional value would test the wrong thing.
        if retry_after is not None and (int(retry_after) != retry_after or retry_after < 0):
            raise ValueError("retry_after must be a whole number of seconds >= 0")
        with self._lock:
            self._faults.append(
                _Fault(kind, status, count, retry_after, conversation_id, copy.deepcopy(body))
            )

    def personal_conversation_id(self, user_id: str, tenant_id: str | None = None) -> str:
        """Return the id ``POST /v3/conversations`` gives a 1:1 chat with ``user_id``."""
        # Teams hands back the same 1:1 conversation id every time, so derive it stably.
        digest = hashlib.sha256(f"{tenant_id or ''}|{user_id}".encode()).hexdigest()[:40]
        return f"a:1{digest}"

    def clear(self) -> None:
        """Forget recorded traffic (operations, failures, errors); keep messages and config."""
        with self._lock:
            self._operations.clear()
            self._failures.clear()
            self._errors.clear()

    def reset(self) -> None:
        """Forget everything: traffic, message contents, members, meetings and pending faults."""
        with self._lock:
            self._operations.clear()
            self._failures.clear()
            self._errors.clear()
            self._messages.clear()
            self._deleted.clear()
            self._members.clear()
            self._meetings.clear()
            self._participants.clear()
            self._forbidden.clear()
            self._faults.clear()
            self.max_page_size = 500

    # ------------------------------------------------------------------ inspection

    @property
    def operations(self) -> list[Operation]:
        """Snapshot of every delivered (non-faulted) operation, oldest first."""
        with self._lock:
            return list(self._operations)

    @property
    def failures(self) -> list[Operation]:
        """Snapshot of operations answered with an injected fault, oldest first."""
        with self._lock:
            return list(self._failures)

    @property
    def errors(self) -> list[str]:
        """Exceptions raised inside the fake's handlers (should stay empty)."""
        with self._lock:
            return list(self._errors)

    def calls(
        self,
        kind: str | Iterable[str] | None = None,
        conversation_id: str | None = None,
    ) -> list[Operation]:
        """Delivered operations filtered by kind(s) and conversation id."""
        kinds = _kinds(kind)
        with self._lock:
            return [
                op
                for op in self._operations
                if (kinds is None or op.kind in kinds)
                and (conversation_id is None or op.conversation_id == conversation_id)
            ]

    def activities(
        self,
        conversation_id: str | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Activity JSON bodies of delivered send/reply/update operations, oldest first."""
        kinds = ACTIVITY_KINDS if kind is None else _kinds(kind)
        return [op.body for op in self.calls(kinds, conversation_id)]

    def cards(
        self,
        conversation_id: str | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Adaptive Card contents from delivered send/reply/update activities, oldest first."""
        return [
            card
            for activity in self.activities(conversation_id, kind)
            for card in adaptive_cards(activity)
        ]

    def message(self, conversation_id: str, activity_id: str) -> dict[str, Any] | None:
        """Current activity JSON of a message after any updates; None if unknown or deleted."""
        key = (conversation_id, activity_id)
        with self._lock:
            if key in self._deleted or key not in self._messages:
                return None
            return copy.deepcopy(self._messages[key])

    def latest_card(self, conversation_id: str, activity_id: str) -> dict[str, Any] | None:
        """First Adaptive Card content of a message as it stands now, or None."""
        activity = self.message(conversation_id, activity_id)
        cards = adaptive_cards(activity) if activity else []
        return cards[0] if cards else None

    def is_deleted(self, conversation_id: str, activity_id: str) -> bool:
        """Whether the bot deleted that message."""
        with self._lock:
            return (conversation_id, activity_id) in self._deleted

    def timestamps(
        self,
        conversation_id: str | None = None,
        kinds: str | Iterable[str] | None = WRITE_KINDS,
    ) -> list[float]:
        """``time.monotonic()`` of each delivered operation, for rate assertions."""
        return [op.at for op in self.calls(kinds, conversation_id)]

    def max_in_window(
        self,
        conversation_id: str | None = None,
        window: float = 1.0,
        kinds: str | Iterable[str] | None = WRITE_KINDS,
    ) -> int:
        """Most delivered operations that fell within any ``window``-second span."""
        stamps = sorted(self.timestamps(conversation_id, kinds))
        best = start = 0
        for end, stamp in enumerate(stamps):
            while stamp - stamps[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # A built-in default timeout keeps a broken test from hanging the whole session, which
    # is worth more here than ASYNC109's "let the caller wrap it in asyncio.timeout" advice.
    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109
        poll: float = 0.05,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value; TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        deadline = loop.time() + timeout
        with self._lock:
            self._waiters.add(waiter)
        try:
            while True:
                # Clear before testing so a request landing during the test wakes us again.
                event.clear()
                result = predicate()
                if result:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout}s; {self._summary()}")
                # Also poll, because the predicate may depend on more than this fake's state.
                try:
                    await asyncio.wait_for(event.wait(), min(remaining, poll))
                except TimeoutError:
                    pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    async def wait_for_calls(
        self,
        count: int,
        kind: str | Iterable[str] | None = ACTIVITY_KINDS,
        conversation_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - same reasoning as wait_for
    ) -> list[Operation]:
        """Wait until at least ``count`` matching operations were delivered; return them."""

        def enough() -> list[Operation]:
            found = self.calls(kind, conversation_id)
            return found if len(found) >= count else []

        return await self.wait_for(enough, timeout)

    def _summary(self) -> str:
        with self._lock:
            ops = [f"{op.kind}:{op.conversation_id}" for op in self._operations[-10:]]
            return (
                f"{len(self._operations)} operations (last: {ops}), "
                f"{len(self._failures)} failures, errors: {self._errors}"
            )

    # ------------------------------------------------------------------ recording

    def _record(self, op: Operation, *, failed: bool = False) -> None:
        with self._lock:
            (self._failures if failed else self._operations).append(op)
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass  # that test's loop is closed; its waiter is moot

    def _take_fault(self, kind: str, conversation_id: str | None) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind not in (kind, "*"):
                    continue
                if fault.conversation_id not in (None, conversation_id):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _new_activity_id(self) -> str:
        with self._lock:
            return str(next(self._ids))

    async def _begin(
        self,
        request: web.Request,
        kind: str,
        *,
        activity_id: str | None = None,
        member_id: str | None = None,
        with_body: bool = False,
    ) -> tuple[Operation, web.Response | None]:
        """Parse a request into an Operation; return an error response if it must fail."""
        body: Any = None
        bad_json = False
        if with_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body, bad_json = raw.decode(errors="replace"), True
        conversation_id = request.match_info.get("conversation_id")
        op = Operation(
            kind=kind,
            method=request.method,
            path=request.path,
            conversation_id=conversation_id,
            activity_id=activity_id,
            body=body,
            at=time.monotonic(),
            wall_time=time.time(),
            status=0,
            authorization=request.headers.get("Authorization"),
            reply_to_id=None,
            member_id=member_id,
            query=dict(request.query),
            peer=_peer(request),
        )
        fault = self._take_fault(kind, conversation_id)
        if fault is not None:
            self._record(_with_status(op, fault.status), failed=True)
            return op, _fault_response(fault)
        if bad_json or (with_body and not isinstance(body, dict)):
            self._record(_with_status(op, 400), failed=True)
            return op, _error(400, "BadArgument", "Request body must be a JSON object")
        return op, None

    def _deliver(self, op: Operation, status: int, payload: Any) -> web.Response:
        self._record(_with_status(op, status))
        return web.json_response(payload, status=status)

    # ------------------------------------------------------------------ handlers

    async def _send(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(request, SEND, with_body=True)
        if failed:
            return failed
        new_id = self._new_activity_id()
        self._store(op.conversation_id, new_id, op.body)
        op = _replace(op, activity_id=new_id)
        return self._deliver(op, 201, {"id": new_id})

    async def _reply(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(request, REPLY, with_body=True)
        if failed:
            return failed
        new_id = self._new_activity_id()
        self._store(op.conversation_id, new_id, op.body)
        op = _replace(op, activity_id=new_id, reply_to_id=request.match_info["activity_id"])
        return self._deliver(op, 201, {"id": new_id})

    async def _update(self, request: web.Request) -> web.Response:
        activity_id = request.match_info["activity_id"]
        op, failed = await self._begin(request, UPDATE, activity_id=activity_id, with_body=True)
        if failed:
            return failed
        key = (op.conversation_id, activity_id)
        with self._lock:
            known = key in self._messages and key not in self._deleted
        if not known:
            # Teams refuses to edit a message it does not have; so do we, to catch bad ids.
            self._record(_with_status(op, 404), failed=True)
            return _error(404, "NotFound", f"Activity {activity_id} not found")
        self._store(op.conversation_id, activity_id, op.body)
        return self._deliver(op, 200, {"id": activity_id})

    async def _delete(self, request: web.Request) -> web.Response:
        activity_id = request.match_info["activity_id"]
        op, failed = await self._begin(request, DELETE, activity_id=activity_id)
        if failed:
            return failed
        key = (op.conversation_id, activity_id)
        with self._lock:
            known = key in self._messages and key not in self._deleted
            if known:
                self._deleted.add(key)
        if not known:
            self._record(_with_status(op, 404), failed=True)
            return _error(404, "NotFound", f"Activity {activity_id} not found")
        self._record(_with_status(op, 200))
        return web.Response(status=200)

    async def _history(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(request, HISTORY, with_body=True)
        if failed:
            return failed
        return self._deliver(op, 201, {"id": self._new_activity_id()})

    async def _create_conversation(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(request, CREATE_CONVERSATION, with_body=True)
        if failed:
            return failed
        params = op.body
        members = params.get("members") or []
        tenant_id = params.get("tenantId") or (
            (params.get("channelData") or {}).get("tenant") or {}
        ).get("id")
        if not members or not all(isinstance(m, dict) and m.get("id") for m in members):
            self._record(_with_status(op, 400), failed=True)
            return _error(400, "BadArgument", "members must list at least one account id")
        if params.get("isGroup"):
            ids = "|".join(sorted(m["id"] for m in members))
            conversation_id = f"19:{hashlib.sha256(ids.encode()).hexdigest()[:32]}@thread.v2"
        else:
            conversation_id = self.personal_conversation_id(members[0]["id"], tenant_id)
        op = _replace(op, conversation_id=conversation_id)
        self._record(_with_status(op, 201))
        result: dict[str, Any] = {"id": conversation_id}
        activity = params.get("activity")
        if isinstance(activity, dict):
            # An initial activity is posted into the new chat: record it as a normal send.
            new_id = self._new_activity_id()
            self._store(conversation_id, new_id, activity)
            self._record(
                _with_status(
                    _replace(op, kind=SEND, activity_id=new_id, body=activity, at=time.monotonic()),
                    201,
                )
            )
            result["activityId"] = new_id
        return web.json_response(result, status=201)

    async def _get_conversations(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(request, GET_CONVERSATIONS)
        if failed:
            return failed
        with self._lock:
            ids = sorted({cid for cid, _ in self._messages} | set(self._members))
        return self._deliver(op, 200, {"conversations": [{"id": cid} for cid in ids]})

    async def _get_members(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(request, GET_MEMBERS)
        if failed:
            return failed
        return self._deliver(op, 200, self._roster(op.conversation_id))

    async def _activity_members(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(
            request, GET_ACTIVITY_MEMBERS, activity_id=request.match_info["activity_id"]
        )
        if failed:
            return failed
        return self._deliver(op, 200, self._roster(op.conversation_id))

    async def _get_member(self, request: web.Request) -> web.Response:
        member_id = request.match_info["member_id"]
        op, failed = await self._begin(request, GET_MEMBER, member_id=member_id)
        if failed:
            return failed
        # Teams accepts the 29: id, the AAD object id or the user principal name here.
        for member in self._roster(op.conversation_id):
            upn = str(member.get("userPrincipalName", "")).casefold()
            if member_id in (member.get("id"), member.get("aadObjectId")) or (
                upn and member_id.casefold() == upn
            ):
                return self._deliver(op, 200, member)
        self._record(_with_status(op, 404), failed=True)
        return _error(404, "MemberNotFoundInConversation", "The member was not found")

    async def _delete_member(self, request: web.Request) -> web.Response:
        member_id = request.match_info["member_id"]
        op, failed = await self._begin(request, DELETE_MEMBER, member_id=member_id)
        if failed:
            return failed
        with self._lock:
            roster = self._members.get(op.conversation_id or "", [])
            kept = [m for m in roster if member_id not in (m.get("id"), m.get("aadObjectId"))]
            found = len(kept) != len(roster)
            if found:
                self._members[op.conversation_id or ""] = kept
        if not found:
            self._record(_with_status(op, 404), failed=True)
            return _error(404, "MemberNotFoundInConversation", "The member was not found")
        self._record(_with_status(op, 200))
        return web.Response(status=200)

    async def _paged_members(self, request: web.Request) -> web.Response:
        op, failed = await self._begin(request, GET_PAGED_MEMBERS)
        if failed:
            return failed
        conversation_id = op.conversation_id or ""
        try:
            page_size = int(request.query.get("pageSize") or self.default_page_size)
            offset = _decode_token(request.query.get("continuationToken"), conversation_id)
        except ValueError as exc:
            self._record(_with_status(op, 400), failed=True)
            return _error(400, "BadArgument", str(exc))
        if page_size < 1:
            page_size = self.default_page_size
        # Like Teams, the service may serve fewer than asked (it caps pages at 500).
        page_size = min(page_size, self.max_page_size)
        roster = self._roster(conversation_id)
        page = roster[offset : offset + page_size]
        payload: dict[str, Any] = {"members": page}
        # The real service leaves the token out on the last page; clients loop until it is absent.
        if offset + page_size < len(roster):
            payload["continuationToken"] = _encode_token(conversation_id, offset + page_size)
        return self._deliver(op, 200, payload)

    def _refusal(self, op: Operation, meeting_id: str) -> web.Response | None:
        """403 where the app lacks the meeting's RSC permissions (Teams' ErrorResponse body)."""
        with self._lock:
            forbidden = meeting_id in self._forbidden
        if not forbidden:
            return None
        self._record(_with_status(op, 403), failed=True)
        return _error(403, "BotNotInConversationRoster", "The bot is not allowed in this meeting")

    async def _get_meeting(self, request: web.Request) -> web.Response:
        meeting_id = request.match_info["meeting_id"]
        op, failed = await self._begin(request, GET_MEETING, member_id=meeting_id)
        if failed:
            return failed
        refused = self._refusal(op, meeting_id)
        if refused is not None:
            return refused
        with self._lock:
            info = copy.deepcopy(self._meetings.get(meeting_id))
        if info is None:
            # Not a meeting (a plain group chat's id) or an expired one.
            self._record(_with_status(op, 404), failed=True)
            return _error(404, "NotFound", f"Meeting {meeting_id} not found")
        return self._deliver(op, 200, info)

    async def _get_participant(self, request: web.Request) -> web.Response:
        meeting_id = request.match_info["meeting_id"]
        participant_id = request.match_info["participant_id"]
        op, failed = await self._begin(request, GET_PARTICIPANT, member_id=participant_id)
        if failed:
            return failed
        refused = self._refusal(op, meeting_id)
        if refused is not None:
            return refused
        if not request.query.get("tenantId"):
            # The real API needs the tenant for tenant users.
            self._record(_with_status(op, 400), failed=True)
            return _error(400, "BadArgument", "tenantId is required")
        with self._lock:
            participant = copy.deepcopy(self._participants.get((meeting_id, participant_id)))
        if participant is None:
            self._record(_with_status(op, 404), failed=True)
            return _error(404, "NotFound", "Participant not found in meeting")
        return self._deliver(op, 200, participant)

    async def _notify(self, request: web.Request) -> web.Response:
        """POST /v1/meetings/{id}/notification: a targeted in-meeting notification.

        202 when every recipient is in the meeting chat's roster, 207 with
        `recipientsFailureInfo` when only some are, 404 when none is (or no such meeting),
        400 when the payload is not the documented one, 403 without RSC consent.
        """
        meeting_id = request.match_info["meeting_id"]
        op, failed = await self._begin(
            request, MEETING_NOTIFICATION, member_id=meeting_id, with_body=True
        )
        if failed:
            return failed
        refused = self._refusal(op, meeting_id)
        if refused is not None:
            return refused
        body = op.body
        value = body.get("value") if isinstance(body.get("value"), dict) else {}
        recipients = value.get("recipients")
        surfaces = value.get("surfaces")
        valid = (
            body.get("type") == "targetedMeetingNotification"
            and isinstance(recipients, list)
            and recipients
            and all(isinstance(r, str) and r for r in recipients)
            and isinstance(surfaces, list)
            and len(surfaces) == 1
            and isinstance(surfaces[0], dict)
            and surfaces[0].get("surface") == "meetingStage"
            and surfaces[0].get("contentType") == "task"
            and isinstance((surfaces[0].get("content") or {}).get("value"), dict)
        )
        if not valid:
            self._record(_with_status(op, 400), failed=True)
            return _error(400, "BadArgument", "Meeting notification request payload is invalid")
        with self._lock:
            info = self._meetings.get(meeting_id)
            chat = ((info or {}).get("conversation") or {}).get("id")
            roster = {m.get("id") for m in self._members.get(chat or "", [])}
        if info is None:
            self._record(_with_status(op, 404), failed=True)
            return _error(404, "NotFound", "Meeting chat is not found")
        missing = [r for r in recipients if r not in roster]
        if len(missing) == len(recipients):
            self._record(_with_status(op, 404), failed=True)
            return _error(404, "NotFound", "None of the participants were found in the roster")
        if missing:
            failures = [
                {"recipientMri": r, "errorcode": "NotFound", "failureReason": "Not in roster"}
                for r in missing
            ]
            return self._deliver(op, 207, {"recipientsFailureInfo": failures})
        self._record(_with_status(op, 202))
        return web.Response(status=202)

    async def _unknown(self, request: web.Request) -> web.Response:
        raw = await request.read()
        op = Operation(
            kind=UNKNOWN,
            method=request.method,
            path=request.path,
            conversation_id=None,
            activity_id=None,
            body=raw.decode(errors="replace") or None,
            at=time.monotonic(),
            wall_time=time.time(),
            status=404,
            authorization=request.headers.get("Authorization"),
            query=dict(request.query),
        )
        self._record(op, failed=True)
        return _error(404, "NotFound", f"FakeConnector has no route {request.method} {op.path}")

    # ------------------------------------------------------------------ helpers

    def _store(self, conversation_id: str | None, activity_id: str, activity: Any) -> None:
        stored = copy.deepcopy(activity)
        stored["id"] = activity_id
        with self._lock:
            self._messages[(conversation_id or "", activity_id)] = stored

    def _roster(self, conversation_id: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._members.get(conversation_id or "", []))


def adaptive_cards(activity: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Adaptive Card ``content`` objects among an activity's attachments."""
    if not activity:
        return []
    return [
        a.get("content")
        for a in activity.get("attachments") or []
        if isinstance(a, dict) and a.get("contentType") == ADAPTIVE_CARD
    ]


def _kinds(kind: str | Iterable[str] | None) -> frozenset[str] | None:
    if kind is None:
        return None
    if isinstance(kind, str):
        return frozenset({kind})
    return frozenset(kind)


def _replace(op: Operation, **changes: Any) -> Operation:
    return dataclasses.replace(op, **changes)


def _with_status(op: Operation, status: int) -> Operation:
    return _replace(op, status=status)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    """A Bot Framework ErrorResponse JSON body with the given status."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


def _fault_response(fault: _Fault) -> web.Response:
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(int(fault.retry_after))
    if fault.body is not None:
        return web.json_response(fault.body, status=fault.status, headers=headers)
    code = _REASONS.get(fault.status, "ServiceError")
    return _error(fault.status, code, f"Injected fault {fault.status}", headers)


def _encode_token(conversation_id: str, offset: int) -> str:
    raw = json.dumps({"c": conversation_id, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str | None, conversation_id: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(data["o"])
        owner = data["c"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"Invalid continuation token {token!r}") from exc
    if owner != conversation_id or offset < 0:
        raise ValueError(f"Continuation token {token!r} belongs to another conversation")
    return offset


def _peer(request: web.Request) -> str:
    """host:port of the client connection the request arrived on."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else ""
