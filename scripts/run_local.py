"""Run Azurite, the bot (--dev) and the Microsoft 365 Agents Playground together (`make run`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shlex
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from testing import azurite
from testing.openid import OpenIdServer
from testing.playground import PlaygroundClient, PlaygroundError
from testing.processes import (
    StartupError,
    Supervisor,
    accepts,
    exit_status,
    http_get,
    port_holder,
    shown,
    tail,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
LOGS = DATA / "logs"
PLAYGROUND_CONFIG = ROOT / "deploy" / "playground" / "m365agentsplayground.yml"
PLAYGROUND_BIN = ROOT / "node_modules" / ".bin" / "agentsplayground"

AZURITE_PORT = 10002
PLAYGROUND_PORT = 56150
DEFAULT_BOT_PORT = 3978
DEV_ENTITIES = (
    "DESA=Department of Economic and Social Affairs;"
    "DPO=Department of Peace Operations;"
    "OHCHR=Office of the United Nations High Commissioner for Human Rights;"
    "OICT=Office of Information and Communications Technology;"
    "UNEP=United Nations Environment Programme"
)
# The Playground user whose aadObjectId becomes ETHICS_ADMIN_IDS in development.
DEV_ETHICS_ADMIN = "Layla Haddad"


class Stop(Exception):
    """Ctrl-C, SIGTERM or SIGHUP asked everything to stop."""


# --- configuration -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--bot-cmd",
        help="command that starts the bot (default: .venv/bin/python -m bot --dev); it gets the "
        "settings in its environment and must answer GET /healthz on $PORT",
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="PERSON",
        help="start the Playground as this configured user (name, given name, id or aadObjectId) "
        "instead of the config's currentUser",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for each service to answer (default: 60)",
    )
    return parser.parse_args(argv)


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines (optional `export `, quotes, # comment lines) as in .env files."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


_KEY_LINE = re.compile(r"^([^\s:#][^:#]*?)\s*:(?:\s+(.*))?$")


def parse_yaml_subset(text: str) -> Any:
    """Parse the YAML the Playground config uses: block maps, block lists and plain scalars."""
    lines = [
        (len(raw) - len(raw.lstrip(" ")), raw.strip())
        for raw in text.splitlines()
        if raw.strip() and not raw.strip().startswith("#")
    ]
    if not lines:
        return None
    value, index = _parse_block(lines, 0, lines[0][0])
    if index != len(lines):
        raise ValueError(f"cannot read line {lines[index][1]!r}")
    return value


def _parse_block(lines: list[tuple[int, str]], index: int, indent: int) -> tuple[Any, int]:
    """Parse the block starting at `index` whose lines sit at `indent`."""
    if lines[index][1] == "-" or lines[index][1].startswith("- "):
        items: list[Any] = []
        while (
            index < len(lines) and lines[index][0] == indent and lines[index][1][:2] in ("-", "- ")
        ):
            content = lines[index][1][1:].strip()
            if not _KEY_LINE.match(content):
                items.append(_scalar(content))
                index += 1
                continue
            # A "- key: value" item is a map whose first key sits two columns in.
            lines[index] = (indent + 2, content)
            item, index = _parse_block(lines, index, indent + 2)
            items.append(item)
        return items, index
    mapping: dict[str, Any] = {}
    while index < len(lines) and lines[index][0] == indent:
        match = _KEY_LINE.match(lines[index][1])
        if not match:
            raise ValueError(f"expected `key: value`, got {lines[index][1]!r}")
        key, rest = match.group(1), match.group(2)
        index += 1
        if rest:
            mapping[key] = _scalar(rest)
        elif index < len(lines) and (
            lines[index][0] > indent
            or (lines[index][0] == indent and lines[index][1].startswith("- "))
        ):
            mapping[key], index = _parse_block(lines, index, lines[index][0])
        else:
            mapping[key] = None
    return mapping, index


def _scalar(text: str) -> str:
    """A scalar as a string: quoted forms unquoted, plain forms without a trailing comment."""
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return text.split(" #", 1)[0].strip()


def find_user(config: Mapping[str, Any], who: str) -> dict[str, Any]:
    """The configured user (currentUser or one of users) matching a name, given name or id."""
    people = [config["currentUser"], *config["users"]]
    wanted = who.strip().casefold()
    for person in people:
        keys = ("name", "givenName", "id", "aadObjectId", "email")
        if any(str(person.get(k, "")).casefold() == wanted for k in keys):
            return dict(person)
    names = ", ".join(p["name"] for p in people)
    raise StartupError(
        f"--as {who!r} matches nobody in {PLAYGROUND_CONFIG.name}; try one of: {names}"
    )


def config_as(config: Mapping[str, Any], who: str) -> dict[str, Any]:
    """The config with `who` as currentUser; the former currentUser takes their place in users."""
    chosen = find_user(config, who)
    current = dict(config["currentUser"])
    if chosen["id"] == current["id"]:
        return dict(config)
    users = [current if u["id"] == chosen["id"] else dict(u) for u in config["users"]]
    swapped = dict(config, currentUser=chosen, users=users)
    # The personal chat belongs to one person: give each their own so the bot keeps them apart.
    swapped["personalChat"] = {"id": f"personal-chat-{chosen['id']}"}
    return swapped


def dev_secret(path: Path) -> str:
    """A random development ANONYMITY_SECRET, made once and kept so stored hashes stay valid."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) >= 32:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret


def bot_environment(
    base: Mapping[str, str], dotenv: Mapping[str, str], config: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """The bot's environment: the shell's, then .env, then development defaults; and notes."""
    env = {**dotenv, **base}
    notes: list[str] = []

    def default(name: str, value: Callable[[], str], why: str) -> None:
        # An empty value (as copied from .env.example) counts as unset, like the bot reads it.
        if not env.get(name, "").strip():
            env[name] = value()
            notes.append(f"{name}: {why}")

    previous = env.get("TABLES_CONNECTION_STRING", "").strip()
    env["TABLES_CONNECTION_STRING"] = azurite.connection_string(AZURITE_PORT)
    if previous and previous != env["TABLES_CONNECTION_STRING"]:
        notes.append("TABLES_CONNECTION_STRING: replaced by the local Azurite's")
    if env.get("MicrosoftAppId", "").strip():
        # The Playground sends no Entra ID tokens, so an app id would make the bot reject it.
        notes.append("MicrosoftAppId/MicrosoftAppPassword: ignored, the Playground is anonymous")
    env["MicrosoftAppId"] = ""
    env["MicrosoftAppPassword"] = ""
    default("ANONYMITY_SECRET", lambda: dev_secret(DATA / "dev-secret"), "dev value in .data/")
    default("ENTITIES", lambda: DEV_ENTITIES, "five UN Secretariat entities")
    admin = find_user(config, DEV_ETHICS_ADMIN)
    default("ETHICS_ADMIN_IDS", lambda: admin["aadObjectId"], f"{admin['name']} (Playground)")
    env.setdefault("ALLOWED_TENANT_IDS", "")
    default("PORT", lambda: str(DEFAULT_BOT_PORT), "default")
    env["PYTHONUNBUFFERED"] = "1"
    return env, notes


def _raise_stop(signum: int, _frame: object) -> None:
    """Turn a termination signal into a clean stop."""
    raise Stop(signal.Signals(signum).name)


# --- main --------------------------------------------------------------------------------------


def start_all(args: argparse.Namespace, supervisor: Supervisor) -> str:
    """Start Azurite, the bot and the Playground in order; return the banner to print."""
    azurite_command = azurite.command(ROOT, AZURITE_PORT, DATA / "azurite")
    for path, hint in ((Path(azurite_command[0]), "npm ci"), (PLAYGROUND_BIN, "npm ci")):
        if not path.exists():
            raise StartupError(f"{shown(path)} is missing: run `{hint}` (or `make setup`) first")
    if not PLAYGROUND_CONFIG.exists():
        raise StartupError(f"{shown(PLAYGROUND_CONFIG)} is missing")
    config = parse_yaml_subset(PLAYGROUND_CONFIG.read_text(encoding="utf-8"))
    config_path = PLAYGROUND_CONFIG
    if args.as_user:
        config = config_as(config, args.as_user)
        config_path = DATA / "playground" / "m365agentsplayground.yml"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        # JSON is YAML, and the Playground's YAML reader takes it as is.
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")

    dotenv_path = ROOT / ".env"
    dotenv = parse_dotenv(dotenv_path.read_text(encoding="utf-8")) if dotenv_path.exists() else {}
    env, notes = bot_environment(os.environ, dotenv, config)
    try:
        bot_port = int(env["PORT"])
    except ValueError as error:
        raise StartupError(f"PORT={env['PORT']!r} is not a port number") from error

    for port, what, fix in (
        (AZURITE_PORT, "Azurite's table port", "stop the other Azurite (or whatever holds it)"),
        (bot_port, "the bot's port", "stop the other bot, or set PORT in .env"),
        (PLAYGROUND_PORT, "the Playground's port", "stop the other Playground"),
    ):
        holder = port_holder(port)
        if holder is not None:
            raise StartupError(f"port {port} ({what}) is already in use on {holder}: {fix}.")

    (DATA / "azurite").mkdir(parents=True, exist_ok=True)
    storage = supervisor.start(
        "azurite",
        azurite_command,
        env=os.environ,
        cwd=DATA,
        log=LOGS / "azurite.log",
        # SIGINT is Azurite's graceful close, which saves its tables; SIGTERM loses the last 5 s.
        stop_signal=signal.SIGINT,
    )
    wait_until(lambda: accepts(AZURITE_PORT), supervisor, storage, "Azurite", args.startup_timeout)

    authority = local_authority(config)
    env["WEB_OPENID_METADATA_URL"] = authority.metadata_url
    env["DEV_SIGNIN_AUTHORITY"] = authority.base_url

    python = ROOT / ".venv" / "bin" / "python"
    default_cmd = [str(python if python.exists() else Path(sys.executable)), "-m", "bot", "--dev"]
    bot_cmd = shlex.split(args.bot_cmd) if args.bot_cmd else default_cmd
    print("Bot settings filled in for development: " + ("; ".join(notes) or "none"), flush=True)
    bot = supervisor.start("bot", bot_cmd, env=env, cwd=ROOT, log=LOGS / "bot.log", echo=True)
    health = f"http://127.0.0.1:{bot_port}/healthz"
    wait_until(
        lambda: (http_get(health) or (0, ""))[0] == 200,
        supervisor,
        bot,
        f"the bot ({health})",
        args.startup_timeout,
    )

    playground_dir = DATA / "playground"
    playground_dir.mkdir(parents=True, exist_ok=True)
    playground_env = {
        **os.environ,
        "TEAMSAPPTESTER_BROWSER": "none",
        "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(config_path),
        "M365_AGENTS_PLAYGROUND_LOGFILE": str(LOGS / "playground-debug.log"),
    }
    playground = supervisor.start(
        "playground",
        [
            str(PLAYGROUND_BIN),
            "--app-endpoint",
            f"http://127.0.0.1:{bot_port}/api/messages",
            "--channel-id",
            "msteams",
            "--port",
            str(PLAYGROUND_PORT),
            # The default service URL says "localhost", which may resolve to ::1 first.
            "--service-url",
            f"http://127.0.0.1:{PLAYGROUND_PORT}/_connector",
            "--disable-telemetry",
        ],
        env=playground_env,
        # It writes ./devTools/ into its working directory; keep that under .data/.
        cwd=playground_dir,
        log=LOGS / "playground.log",
    )
    ping = f"http://127.0.0.1:{PLAYGROUND_PORT}/_debug/ping"
    wait_until(
        lambda: (http_get(ping) or (0, ""))[1].strip() == "pong",
        supervisor,
        playground,
        f"the Playground ({ping})",
        args.startup_timeout,
    )
    loaded = http_get(f"http://127.0.0.1:{PLAYGROUND_PORT}/_internal/v1/testConfig", timeout=5)
    if loaded is None or config["tenantId"] not in loaded[1]:
        # A config it cannot find makes the Playground fall back to its built-in tenant silently.
        raise StartupError(
            f"the Playground did not load {shown(config_path)}; see {shown(LOGS)}/playground*.log"
        )
    if args.as_user:
        repost_for_new_person(f"http://127.0.0.1:{PLAYGROUND_PORT}")
    return banner(config, bot_port, switched=bool(args.as_user))


# What a person switched to with --as needs on screen: the Playground starts with empty chats.
REPOST_COMMANDS = ("sheet", "agenda")


def repost_for_new_person(playground_url: str) -> None:
    """Ask the bot, as the new person, to post the sheet and the plan again in the group chat."""

    async def repost() -> None:
        async with PlaygroundClient(playground_url) as playground:
            config = await playground.config()
            for command in REPOST_COMMANDS:
                await playground.send(config.group_chat_id, config.current_user["id"], command)

    try:
        asyncio.run(repost())
    except (PlaygroundError, OSError) as error:
        # Nothing is lost: the person can type the commands; say so rather than stop.
        print(f"Could not re-post the sheet and plan ({error}); type them yourself.", flush=True)


def local_authority(config: Mapping[str, Any]) -> OpenIdServer:
    """Entra's stand-in for the pages' local sign-in: the Playground's people, its tenant."""
    # It runs in this process (a thread) and stops with it; the bot fetches its keys over HTTP.
    server = OpenIdServer(issuer=f"https://login.microsoftonline.com/{config['tenantId']}/v2.0")
    server.tenant = str(config["tenantId"])
    server.chat = str(config.get("groupChat", {}).get("id", ""))
    for person in [config["currentUser"], *config["users"]]:
        server.people[str(person["aadObjectId"])] = str(person["name"])
    return server.start()


def banner(config: Mapping[str, Any], bot_port: int, *, switched: bool = False) -> str:
    """What to open and what to type first."""
    bot_name = config["bot"]["name"]
    me = config["currentUser"]["name"]
    others = ", ".join(f'"{u["name"]}"' for u in config["users"])
    example = config["users"][1]["name"] if len(config["users"]) > 1 else config["users"][0]["name"]
    rule = "-" * 78
    return "\n".join(
        [
            rule,
            "Dialogue Bot is running locally. Ctrl-C stops all three processes.",
            "",
            f"  Open the Playground:  http://localhost:{PLAYGROUND_PORT}",
            f"  You are:              {me}",
            f'  In the group chat "{config["groupChat"]["name"]}" type:',
            "",
            f"      @{bot_name} start",
            "",
            f'  Type "@" and pick "{bot_name}" from the list: the Playground drops a message',
            f'  where "@{bot_name}" was typed out rather than picked, without a word.',
            "  The Playground acts as one person; to be someone else, stop and run again with:",
            f'      .venv/bin/python -m scripts.run_local --as "{example}"',
            "  What carries over: the data (sessions, sheets, votes, forms, in .data/azurite/).",
            "  What does not: the cards in the Playground's chats, which start empty each run.",
            *(
                [
                    f'  The bot was asked, as {me}, for the sheet and the plan again ("sheet",',
                    '  "agenda"); without a session here it says so.',
                ]
                if switched
                else []
            ),
            f"  People: {others}.",
            "",
            "  Meeting pages (sign in first as one of the people; the leader sees the panel):",
            f"      sign-in:    http://127.0.0.1:{bot_port}/web/dev/signin",
            f"      side panel: http://127.0.0.1:{bot_port}/web/panel?chat=<meeting chat id>",
            f"      stage:      http://127.0.0.1:{bot_port}/web/stage?chat=<meeting chat id>",
            f"      dashboard:  http://127.0.0.1:{bot_port}/web/dashboard (focal point, admin)",
            "",
            f"  Bot:        http://127.0.0.1:{bot_port}/api/messages   log: .data/logs/bot.log",
            f"  Azurite:    127.0.0.1:{AZURITE_PORT}, tables kept in .data/azurite/",
            "  Playground: log in .data/logs/playground.log",
            rule,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Start everything, print where to go, and supervise until Ctrl-C or a child dies."""
    args = parse_args(argv)
    supervisor = Supervisor()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    status = 0
    try:
        print(start_all(args, supervisor), flush=True)
        while (dead := supervisor.exited()) is None:
            time.sleep(0.3)
        print(
            f"\n{dead.name} {exit_status(dead.process)}; stopping the others.\n"
            f"Last lines of {shown(dead.log)}:\n{tail(dead.log)}",
            file=sys.stderr,
        )
        status = 1
    except StartupError as error:
        print(f"\nrun_local: {error}", file=sys.stderr)
        status = 1
    except Stop:
        print("\nStopping…", flush=True)
    finally:
        # A second Ctrl-C must not interrupt the cleanup and leave orphans behind.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        supervisor.stop_all()
    return status


if __name__ == "__main__":
    sys.exit(main())
