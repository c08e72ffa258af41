"""The processes a load run needs, on 127.0.0.1 only: Azurite, the local Microsoft services,
the inbound OpenID endpoint, and bot processes (ours or the floor), with their settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from azure.data.tables.aio import TableServiceClient

from testing.azurite import Azurite, connection_string, free_port
from testing.openid import OpenIdServer, TokenFactory
from testing.processes import BotProcess as ProcessBase
from testing.teams import TENANT

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)
ENTITIES = "DESA=Department of Economic and Social Affairs;DPO=Department of Peace Operations"
CYCLE = "2026"


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds used so far by every live process of a process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        # After the command: state ppid pgrp ... utime is field 14 and stime 15 (1-based).
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _start_helper(command: list[str], what: str) -> tuple[subprocess.Popen[bytes], Any]:
    """Start a helper process that prints one JSON line of where it listens; return both."""
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"{what} did not start")
    return process, json.loads(line)


def _stop_helper(process: subprocess.Popen[bytes] | None) -> None:
    """Close a helper's stdin (it stops by itself), then make sure."""
    if process is None or process.poll() is not None:
        return
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Services:
    """`benchmarks.ratelimited_connector` in its own process: the Bot Connector and authority."""

    app_id: str
    app_password: str
    directory: Path
    token_latency: float = 0.0
    process: subprocess.Popen[bytes] | None = None
    connector_url: str = ""
    authority_url: str = ""
    ca_file: str = ""

    def start(self) -> Services:
        """Start the process and read the addresses it prints."""
        self.process, info = _start_helper(
            [
                str(PYTHON),
                "-m",
                "benchmarks.ratelimited_connector",
                "--app-id",
                self.app_id,
                "--app-password",
                self.app_password,
                "--dir",
                str(self.directory / "aad"),
                "--token-latency",
                str(self.token_latency),
            ],
            "the local connector process",
        )
        self.connector_url = info["connector"]
        self.authority_url = info["authority"]
        self.ca_file = info["ca_file"]
        return self

    def stop(self) -> None:
        """Close its stdin (it stops by itself), then make sure."""
        _stop_helper(self.process)

    async def get(self, session: aiohttp.ClientSession, path: str, **params: str) -> Any:
        """GET one of the connector's `/_bench/` documents."""
        async with session.get(f"{self.connector_url}_bench/{path}", params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def post(self, session: aiohttp.ClientSession, path: str, body: Any = None) -> None:
        """POST to one of the connector's `/_bench/` endpoints."""
        async with session.post(f"{self.connector_url}_bench/{path}", json=body or {}) as r:
            r.raise_for_status()


class BotProcess(ProcessBase):
    """One bot process (ours or the floor), with the CPU it has used."""

    started: float = 0.0
    cold_start: float = float("nan")

    def cpu_seconds(self) -> float:
        """CPU seconds the process has used so far."""
        return group_cpu_seconds(self.process.pid)

    def wait_healthy(self, timeout: float = 60.0, poll: float = 0.02) -> float:
        """Wait for /healthz 200, polled every 20 ms, and keep the time from process start."""
        healthy = super().wait_healthy(timeout, poll)
        self.cold_start = healthy - self.started
        return healthy


@dataclass
class LatencyProxy:
    """`python -m testing.faultproxy --latency S` in its own process, in front of Azurite."""

    upstream_port: int
    latency: float
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self) -> LatencyProxy:
        """Start it and read the port it listens on."""
        self.process, info = _start_helper(
            [
                str(PYTHON),
                "-m",
                "testing.faultproxy",
                "--upstream",
                f"http://127.0.0.1:{self.upstream_port}",
                "--latency",
                str(self.latency),
            ],
            "the latency proxy",
        )
        self.port = int(info["port"])
        return self

    @property
    def connection_string(self) -> str:
        """Azurite's connection string with the proxy as the table endpoint."""
        return connection_string(self.port)

    def stop(self) -> None:
        """Close its stdin (it stops by itself), then make sure."""
        _stop_helper(self.process)


@dataclass
class Stack:
    """Azurite, the services and the inbound OpenID endpoint, shared by every workload."""

    directory: Path
    token_latency: float = 0.0
    storage_latency: float = 0.0
    app_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    app_password: str = field(default_factory=lambda: "pw-" + uuid.uuid4().hex)
    admin_id: str = ""
    azurite: Azurite | None = None
    services: Services | None = None
    openid: OpenIdServer | None = None
    proxy: LatencyProxy | None = None
    inbound_token: str = ""

    def start(self) -> Stack:
        """Start everything; the inbound token is minted once, as the channel reuses its token."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.azurite = Azurite(ROOT)
        self.azurite.start()
        self.services = Services(
            self.app_id, self.app_password, self.directory, self.token_latency
        ).start()
        self.openid = OpenIdServer().start()
        if self.storage_latency:
            self.proxy = LatencyProxy(self.azurite.port, self.storage_latency).start()
        self.inbound_token = TokenFactory(self.openid.keys[0]).mint(
            self.app_id, self.services.connector_url, exp_offset=4 * 3600
        )
        return self

    def azurite_pgid(self) -> int:
        """Azurite's process group, for its CPU time (the harness keeps the process private)."""
        process = getattr(self.azurite, "_process", None)
        return process.pid if process is not None else 0

    def stop(self) -> None:
        """Stop everything that was started."""
        if self.proxy is not None:
            self.proxy.stop()
        if self.openid is not None:
            self.openid.stop()
        if self.services is not None:
            self.services.stop()
        if self.azurite is not None:
            self.azurite.stop()

    def bot_env(self, prefix: str, port: int, *, latency: bool = False) -> dict[str, str]:
        """Production settings: app id, checked inbound tokens, tenant list, public URL.

        With `latency`, storage is reached through the latency proxy.
        """
        assert self.azurite and self.services and self.openid
        tables = self.azurite.connection_string
        if latency:
            assert self.proxy is not None, "start the stack with storage_latency"
            tables = self.proxy.connection_string
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
        env.update(
            {
                "PORT": str(port),
                "MicrosoftAppId": self.app_id,
                "MicrosoftAppPassword": self.app_password,
                "MicrosoftAppType": "MultiTenant",
                "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": self.openid.metadata_url,
                "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": self.openid.issuer,
                # msal would ask login.microsoftonline.com to vouch for a local authority;
                # the bot's credentials factory hands VALIDATE_AUTHORITY=false on to msal.
                "TO_CHANNEL_FROM_BOT_LOGIN_URL": self.services.authority_url + "/botframework.com",
                "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": "https://api.botframework.com",
                "VALIDATE_AUTHORITY": "false",
                "REQUESTS_CA_BUNDLE": self.services.ca_file,
                "SSL_CERT_FILE": self.services.ca_file,
                "TABLES_CONNECTION_STRING": tables,
                "TABLE_PREFIX": prefix,
                "ANONYMITY_SECRET": "load-" + "k" * 40,
                "ENTITIES": ENTITIES,
                "ALLOWED_TENANT_IDS": TENANT,
                "ETHICS_ADMIN_IDS": self.admin_id,
                "PUBLIC_BASE_URL": "https://dialogue-bot.example.org",
                "DIALOGUE_CYCLE": CYCLE,
                "LOG_LEVEL": "INFO",
            }
        )
        return env

    def spawn(
        self,
        name: str,
        module: str,
        prefix: str,
        *,
        profile: str = "",
        count: str = "",
        latency: bool = False,
    ) -> BotProcess:
        """Start one bot process (`benchmarks.botproc` or `benchmarks.floor_bot`)."""
        port = free_port()
        env = self.bot_env(prefix, port, latency=latency)
        if profile:
            env["BENCH_PROFILE"] = profile
        if count:
            env["BENCH_COUNT"] = count
        log_path = self.directory / f"{name}.log"
        started = time.monotonic()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(PYTHON), "-m", module],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        bot = BotProcess(name, port, process, log_path)
        bot.started = started
        return bot


class Tables:
    """Reads what the bot stored, straight from Azurite."""

    def __init__(self, connection_string: str, prefix: str) -> None:
        self._service = TableServiceClient.from_connection_string(connection_string)
        self._prefix = prefix

    async def close(self) -> None:
        """Close the client."""
        await self._service.close()

    async def partition(self, table: str, key: str) -> list[dict[str, Any]]:
        """Every entity of one partition."""
        client = self._service.get_table_client(self._prefix + table)
        return [
            e async for e in client.query_entities("PartitionKey eq @pk", parameters={"pk": key})
        ]

    async def entity(self, table: str, partition: str, row: str) -> dict[str, Any]:
        """One entity."""
        client = self._service.get_table_client(self._prefix + table)
        return dict(await client.get_entity(partition, row))
