"""The local Bot Connector with Teams' rate limits, and the process the load generator runs it in.

`RateLimitedConnector` is `testing.connector.FakeConnector` plus what a morning's load
meets in Teams: at most 7 messages (sends, replies, edits, deletions) per second per
conversation and 30 requests per second per app, each over a sliding second; above that it
answers 429 with `Retry-After: 1`. Every call must carry a token from the local authority
(`testing.authority`), else 401, so outbound authentication is exercised, not skipped.

`python -m benchmarks.ratelimited_connector` runs it beside the local authority in a process of
its own (so their work is not charged to the load generator's event loop), prints one JSON line
with their addresses, and serves until stdin closes or SIGTERM. The load generator reads what
the bot sent under `/_bench/` (stats, posted cards) and sets chat members there.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

from aiohttp import web

from testing.authority import LocalAuthority, check_token
from testing.connector import (
    ACTIVITY_KINDS,
    CREATE_CONVERSATION,
    DELETE,
    REPLY,
    SEND,
    UPDATE,
    FakeConnector,
    Operation,
    adaptive_cards,
)

MESSAGES_PER_CONVERSATION = 7
REQUESTS_PER_APP = 30
WINDOW_SECONDS = 1.0
MESSAGE_KINDS = frozenset({SEND, REPLY, UPDATE, DELETE})


class RateLimitedConnector(FakeConnector):
    """FakeConnector that throttles like Teams and refuses calls without the app's token."""

    def __init__(
        self,
        *,
        authority: LocalAuthority | None = None,
        per_conversation: int = MESSAGES_PER_CONVERSATION,
        per_app: int = REQUESTS_PER_APP,
        window: float = WINDOW_SECONDS,
    ) -> None:
        """Throttle at these rates; with an authority, check its tokens on every call."""
        super().__init__()
        self.authority = authority
        self.per_conversation = per_conversation
        self.per_app = per_app
        self.window = window
        self._admitted_app: deque[float] = deque()
        self._admitted_conversation: dict[str, deque[float]] = {}
        self._refusals: Counter[int] = Counter()
        self._limits_hit: Counter[str] = Counter()
        self._limit_lock = threading.Lock()

    def reset(self) -> None:
        """Forget traffic, messages, the rate windows and the authority's counts."""
        super().reset()
        if self.authority is not None:
            self.authority.reset()
        with self._limit_lock:
            self._admitted_app.clear()
            self._admitted_conversation.clear()
            self._refusals.clear()
            self._limits_hit.clear()

    async def _begin(
        self, request: web.Request, kind: str, **kwargs: Any
    ) -> tuple[Operation, web.Response | None]:
        op, failed = await super()._begin(request, kind, **kwargs)
        if failed is not None:
            return op, failed
        if self.authority is not None and not check_token(
            op.authorization, self.authority.secret, self.authority.app_id
        ):
            return op, self._refuse(op, 401, "Unauthorized", {})
        limit = self._admit(kind, op.conversation_id)
        if limit:
            with self._limit_lock:
                self._limits_hit[limit] += 1
            # Whole seconds: urllib3 (under the bot's client) rejects a fractional Retry-After.
            return op, self._refuse(op, 429, "TooManyRequests", {"Retry-After": "1"})
        return op, None

    def _refuse(self, op: Operation, status: int, code: str, headers: dict[str, str]):
        with self._limit_lock:
            self._refusals[status] += 1
        self._record(dataclasses.replace(op, status=status), failed=True)
        return web.json_response(
            {"error": {"code": code, "message": f"local connector: {code}"}},
            status=status,
            headers=headers,
        )

    def _admit(self, kind: str, conversation_id: str | None) -> str:
        """Take a slot in the app's (and the conversation's) sliding window; else the limit hit."""
        now = time.monotonic()
        horizon = now - self.window
        with self._limit_lock:
            app = self._admitted_app
            while app and app[0] <= horizon:
                app.popleft()
            if len(app) >= self.per_app:
                return "app"
            chat = None
            if kind in MESSAGE_KINDS and conversation_id:
                chat = self._admitted_conversation.setdefault(conversation_id, deque())
                while chat and chat[0] <= horizon:
                    chat.popleft()
                if len(chat) >= self.per_conversation:
                    return "conversation"
                chat.append(now)
            app.append(now)
            return ""

    # ------------------------------------------------------------------ what the bot sent

    def stats(self) -> dict[str, Any]:
        """Counts of what was delivered and refused, the peak rates, and personal messages."""
        delivered = self.operations
        failures = self.failures
        personal_member = {
            op.conversation_id: op.body["members"][0]["id"]
            for op in delivered
            if op.kind == CREATE_CONVERSATION and op.conversation_id and op.body
        }
        personal: Counter[str] = Counter()
        personal_times: list[float] = []
        for op in delivered:
            # The SDK posts into a new chat as a reply to its own create event: count both kinds.
            if op.kind in (SEND, REPLY) and op.conversation_id in personal_member:
                personal[personal_member[op.conversation_id]] += 1
                personal_times.append(op.at)
        conversations = {op.conversation_id for op in delivered if op.kind in ACTIVITY_KINDS}
        with self._limit_lock:
            refusals = dict(self._refusals)
            limits_hit = dict(self._limits_hit)
        return {
            "delivered": dict(Counter(op.kind for op in delivered)),
            "failed": dict(Counter(f"{op.kind}:{op.status}" for op in failures)),
            "throttled": refusals.get(429, 0),
            "throttled_conversation": limits_hit.get("conversation", 0),
            "throttled_app": limits_hit.get("app", 0),
            "unauthorized": refusals.get(401, 0),
            "card_updates": sum(1 for op in delivered if op.kind == UPDATE),
            "max_conversation_per_window": max(
                (self.max_in_window(c, self.window, MESSAGE_KINDS) for c in conversations),
                default=0,
            ),
            "max_app_per_window": self.max_in_window(None, self.window, None),
            "personal": dict(personal),
            "personal_times": sorted(personal_times),
            "authority": self.authority.hits() if self.authority else {},
            "errors": self.errors,
        }

    def posted(self, conversation_id: str) -> list[dict[str, Any]]:
        """Cards posted (sent or replied) in a conversation, oldest first."""
        return [
            {"id": op.activity_id, "card": card}
            for op in self.calls((SEND, REPLY), conversation_id)
            for card in adaptive_cards(op.body)
        ]

    async def _unknown(self, request: web.Request) -> web.Response:
        """The load generator's side door; anything else is an unknown route, as before."""
        path = request.path
        if path == "/_bench/stats":
            return web.json_response(self.stats())
        if path == "/_bench/posted":
            return web.json_response(self.posted(request.query.get("conversation", "")))
        if path == "/_bench/latest":
            card = self.latest_card(request.query["conversation"], request.query["id"])
            return web.json_response({"card": card})
        if path == "/_bench/members" and request.method == "POST":
            body = await request.json()
            self.set_members(body["conversation"], body["members"])
            return web.json_response({})
        if path == "/_bench/reset" and request.method == "POST":
            self.reset()
            return web.json_response({})
        return await super()._unknown(request)


async def serve(app_id: str, app_password: str, directory: Path, latency: float) -> None:
    """Run the authority and the connector until stdin closes or SIGTERM arrives."""
    authority = await LocalAuthority(app_id, app_password, directory, latency).start()
    connector = await RateLimitedConnector(authority=authority).start()
    print(
        json.dumps(
            {
                "connector": connector.url,
                "authority": authority.base_url,
                "ca_file": str(authority.ca_file),
            }
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # The parent closing our stdin (or dying) ends us too: no orphaned servers.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    try:
        await stop.wait()
    finally:
        await connector.stop()
        await authority.stop()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--app-password", required=True)
    parser.add_argument("--dir", type=Path, default=None, help="where the CA and cert go")
    parser.add_argument(
        "--token-latency", type=float, default=0.0, help="seconds each authority answer waits"
    )
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="dlg-aad-"))
    asyncio.run(serve(args.app_id, args.app_password, directory, args.token_latency))


if __name__ == "__main__":
    main()
