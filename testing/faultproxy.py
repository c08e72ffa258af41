"""A fault-injecting reverse proxy in front of Azurite's Table service.

The bot's connection string points at the proxy (``TableEndpoint=http://127.0.0.1:PORT/
devstoreaccount1;``); every request is forwarded to Azurite byte for byte (method, raw path and
query, headers, body) and the answer is streamed back. Shared Key signatures cover the account,
path and query, never the host and port, so the bot's requests stay valid through the proxy.

Tests then program faults:

* :meth:`FaultProxy.fail_next`: the next N matching requests are answered by the proxy with an
  error, never reaching Azurite (a throttled or failing service);
* :meth:`FaultProxy.forward_then_fail`: the request reaches Azurite (the write lands) but the
  client is answered with an error, as when an answer is lost on the way back; the SDK retries
  and an insert then meets 409 Conflict;
* :meth:`FaultProxy.down` / :meth:`FaultProxy.up`: connections refused, reset, or every request
  answered 503, until ``up()``.

Like the FakeConnector, the server runs on its own event loop in a daemon thread, so it is
independent of the loop a test runs on and keeps answering while that loop is busy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from testing.azurite import connection_string

# Headers that describe one hop, not the message (RFC 9110 7.6.1); the proxy sets its own.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
# A table name as Azure allows it, followed by what may come after it in a URL or batch line.
_BATCH_LINE = re.compile(
    rb"^(?:GET|POST|PUT|PATCH|MERGE|DELETE) \S*?/([A-Za-z][A-Za-z0-9]{2,62})(?:\(|\?| |$)", re.M
)
_REASONS = {
    408: "OperationTimedOut",
    409: "EntityAlreadyExists",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServerBusy",
    504: "GatewayTimeout",
}

FORWARDED = "forwarded"
INJECTED = "injected"
FORWARDED_THEN_FAILED = "forwarded_then_failed"
DOWN_503 = "down_503"
RESET = "reset"

DOWN_MODES = ("refuse", "reset", "503")


@dataclass(frozen=True)
class Exchange:
    """One request the proxy received, and what it did with it."""

    method: str
    path: str  # decoded URL path, e.g. /devstoreaccount1/t1attendance(PartitionKey='a',...)
    raw_path: str  # as sent, with the query string
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    # The table addressed (for a table create or delete: the table created or deleted); for a
    # $batch, the first table its parts address. None for service-level requests.
    table: str | None
    tables: frozenset[str]  # every table a $batch addresses (else {table} or empty)
    at: float  # time.monotonic() when it arrived
    outcome: str = ""  # FORWARDED, INJECTED, FORWARDED_THEN_FAILED, DOWN_503 or RESET
    status: int = 0  # what the client was answered (0 when the connection was reset)
    upstream_status: int = 0  # what Azurite answered (0 when not forwarded)

    @property
    def is_batch(self) -> bool:
        """Whether this is an entity group transaction ($batch)."""
        return self.path.rstrip("/").endswith("/$batch")

    @property
    def is_insert(self) -> bool:
        """Whether this is an insert (create_entity): POST to the table itself."""
        return self.method == "POST" and not self.is_batch and self._resource() == self.table

    @property
    def is_entity(self) -> bool:
        """Whether this addresses one entity by its keys (get, upsert, update, delete)."""
        return "(PartitionKey=" in self._resource()

    def _resource(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


Match = Callable[[Exchange], bool]


def on(
    method: str | None = None,
    table: str | None = None,
    *,
    insert: bool | None = None,
    batch: bool | None = None,
    contains: str | None = None,
) -> Match:
    """A request predicate on method, table (a $batch: any it addresses), kind and path."""

    def match(exchange: Exchange) -> bool:
        return (
            (method is None or exchange.method == method.upper())
            and (table is None or table in exchange.tables)
            and (insert is None or exchange.is_insert == insert)
            and (batch is None or exchange.is_batch == batch)
            and (contains is None or contains in exchange.path)
        )

    return match


ANY: Match = on()


@dataclass
class _Fault:
    match: Match
    status: int
    remaining: int
    forward: bool
    retry_after: int | None


class FaultProxy:
    """A real HTTP reverse proxy on 127.0.0.1 in front of one Azurite table endpoint."""

    def __init__(
        self,
        upstream: str,
        *,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        keep_log: bool = True,
    ) -> None:
        """Proxy to ``upstream`` (e.g. ``http://127.0.0.1:10002``); call :meth:`start`.

        ``latency``: seconds added each way (a request waits before it is forwarded, its
        answer before it is returned), as between an App Service and its region's Table account.
        ``keep_log=False``: remember no exchanges (a long benchmark run).
        """
        self._upstream = upstream.rstrip("/")
        self._host = host
        self.latency = latency
        self._keep_log = keep_log
        self.port = 0
        self._lock = threading.Lock()
        self._log: list[Exchange] = []
        self._faults: list[_Fault] = []
        self._down: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FaultProxy:
        """Listen on a free port in a thread of its own; returns self once it accepts."""
        if self._thread is not None:
            raise RuntimeError("FaultProxy already started")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve_forever, args=(ready,), name="FaultProxy", daemon=True
        )
        self._thread.start()
        ready.result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        self._thread = self._loop = self._stop = None

    def __enter__(self) -> FaultProxy:
        """Start the proxy."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the proxy."""
        self.stop()

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://{self._host}:{self.port}"

    @property
    def connection_string(self) -> str:
        """An Azurite connection string whose table endpoint is this proxy."""
        if not self.port:
            raise RuntimeError("FaultProxy not started")
        return connection_string(self.port)

    # ------------------------------------------------------------------ faults

    def fail_next(
        self, match: Match, status: int = 503, count: int = 1, *, retry_after: int | None = None
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``, without forwarding."""
        self._add(_Fault(match, status, count, forward=False, retry_after=retry_after))

    def forward_then_fail(self, match: Match, status: int = 503, count: int = 1) -> None:
        """Forward the next ``count`` matching requests (they take effect) but answer ``status``."""
        self._add(_Fault(match, status, count, forward=True, retry_after=None))

    def down(self, mode: str = "refuse") -> None:
        """Storage stops answering: ``refuse`` connections, ``reset`` them, or answer ``503``."""
        if mode not in DOWN_MODES:
            raise ValueError(f"mode must be one of {DOWN_MODES}")
        with self._lock:
            self._down = mode
        if mode == "refuse":
            # Closing the listener and every open connection is the only way to refuse.
            self._call(self._close_listener())

    def up(self) -> None:
        """Storage answers again (on the same port)."""
        with self._lock:
            was, self._down = self._down, None
        if was == "refuse":
            self._call(self._open_listener())

    @property
    def is_down(self) -> bool:
        """Whether :meth:`down` is in effect."""
        with self._lock:
            return self._down is not None

    def clear_faults(self) -> None:
        """Drop every pending fault (``down`` stays as it is)."""
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        """How many injected answers are still due."""
        with self._lock:
            return sum(f.remaining for f in self._faults)

    # ------------------------------------------------------------------ inspection

    @property
    def log(self) -> list[Exchange]:
        """Every request received so far, oldest first (completed ones, with their outcome)."""
        with self._lock:
            return list(self._log)

    def requests(self, match: Match = ANY, outcome: str | None = None) -> list[Exchange]:
        """Logged requests that match (and had this outcome, when given)."""
        return [e for e in self.log if match(e) and (outcome is None or e.outcome == outcome)]

    def clear_log(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self._log.clear()

    # ------------------------------------------------------------------ server

    def _add(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, exchange: Exchange) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.match(exchange):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _record(self, exchange: Exchange) -> None:
        if not self._keep_log:
            return
        with self._lock:
            self._log.append(exchange)

    def _call(self, coro: Any) -> None:
        """Run a coroutine on the proxy's loop and wait for it (from any other thread)."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("FaultProxy not started")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=15)

    def _serve_forever(self, ready: concurrent.futures.Future[None]) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:  # hand start-up errors back to start()
            if not ready.done():
                ready.set_exception(exc)
            else:
                raise

    async def _serve(self, ready: concurrent.futures.Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # No auto-decompression and no automatic headers: the client's bytes and Azurite's
        # bytes cross unchanged. A generous pool, since a test drives dozens of requests at once.
        self._client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200),
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        try:
            await self._open_listener()
            ready.set_result(None)
            await self._stop.wait()
        finally:
            await self._close_listener()
            await self._client.close()

    async def _open_listener(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self._make_app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        if self.port:
            # Back up on the same port, so the bot's connection string stays right.
            site = web.TCPSite(runner, self._host, self.port, reuse_address=True)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, 0))
            self.port = sock.getsockname()[1]
            site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner

    async def _close_listener(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        exchange = _exchange(request, body)
        with self._lock:
            down = self._down
        if down == "reset" or down == "refuse":
            # "refuse" only reaches here for a request already in flight when it went down.
            self._record(dataclasses.replace(exchange, outcome=RESET))
            _reset(request)
            raise asyncio.CancelledError  # nothing more can be written on a reset connection
        if down == "503":
            self._record(dataclasses.replace(exchange, outcome=DOWN_503, status=503))
            return _error_response(503, None)
        fault = self._take_fault(exchange)
        if fault is not None and not fault.forward:
            self._record(dataclasses.replace(exchange, outcome=INJECTED, status=fault.status))
            return _error_response(fault.status, fault.retry_after)
        assert self._client is not None
        if self.latency:
            await asyncio.sleep(self.latency)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        target = URL(self._upstream + request.raw_path, encoded=True)
        async with self._client.request(
            request.method,
            target,
            headers=headers,
            data=body if body or request.method in ("POST", "PUT", "PATCH", "MERGE") else None,
            allow_redirects=False,
        ) as upstream:
            if fault is not None:
                # The write lands in Azurite; its answer is lost on the way back.
                await upstream.read()
                self._record(
                    dataclasses.replace(
                        exchange,
                        outcome=FORWARDED_THEN_FAILED,
                        status=fault.status,
                        upstream_status=upstream.status,
                    )
                )
                return _error_response(fault.status, None)
            if self.latency:
                # The answer's way back: read it whole first, as a remote account's would arrive.
                payload = await upstream.read()
                await asyncio.sleep(self.latency)
                self._record(
                    dataclasses.replace(
                        exchange,
                        outcome=FORWARDED,
                        status=upstream.status,
                        upstream_status=upstream.status,
                    )
                )
                return web.Response(
                    status=upstream.status,
                    reason=upstream.reason,
                    body=payload,
                    headers=[
                        (k, v)
                        for k, v in upstream.headers.items()
                        if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
                    ],
                )
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    response.headers.add(key, value)
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(64 * 1024):
                await response.write(chunk)
            await response.write_eof()
            self._record(
                dataclasses.replace(
                    exchange,
                    outcome=FORWARDED,
                    status=upstream.status,
                    upstream_status=upstream.status,
                )
            )
            return response


def _exchange(request: web.Request, body: bytes) -> Exchange:
    path = urllib.parse.unquote(request.path)
    resource = path.rstrip("/").rsplit("/", 1)[-1]
    tables: set[str] = set()
    if resource == "$batch":
        tables = {m.decode() for m in _BATCH_LINE.findall(body)}
    elif resource == "Tables" and request.method == "POST":
        with contextlib.suppress(ValueError, AttributeError):
            tables = {str(json.loads(body)["TableName"])}
    elif resource.startswith("Tables('"):
        tables = {resource[len("Tables('") :].split("'")[0]}
    elif resource and resource != "Tables" and not resource.startswith("$"):
        tables = {resource.split("(", 1)[0]}
    table = sorted(tables)[0] if len(tables) == 1 else _first_batch_table(body, tables)
    return Exchange(
        method=request.method,
        path=path,
        raw_path=request.raw_path,
        query=dict(request.query),
        headers=dict(request.headers),
        body=body,
        table=table,
        tables=frozenset(tables),
        at=time.monotonic(),
    )


def _first_batch_table(body: bytes, tables: set[str]) -> str | None:
    if not tables:
        return None
    first = _BATCH_LINE.search(body)
    return first.group(1).decode() if first else None


def _error_response(status: int, retry_after: int | None) -> web.Response:
    """An error as the Table service words it (JSON, with x-ms-error-code)."""
    code = _REASONS.get(status, "InternalError")
    headers = {"x-ms-error-code": code, "x-ms-request-id": f"faultproxy-{time.monotonic_ns()}"}
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    payload = {"odata.error": {"code": code, "message": {"lang": "en-US", "value": "Injected"}}}
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def _reset(request: web.Request) -> None:
    """Close the client's connection with a TCP RST, as a crashed server would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def main(argv: list[str] | None = None) -> int:
    """`python -m testing.faultproxy --upstream URL --latency S`: a latency proxy in a process.

    Prints ``{"port": N}`` once it listens, and stops when its standard input closes.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m testing.faultproxy")
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:10002")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added each way")
    args = parser.parse_args(argv)
    proxy = FaultProxy(args.upstream, latency=args.latency, keep_log=False).start()
    print(json.dumps({"port": proxy.port}), flush=True)
    try:
        sys.stdin.read()
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
