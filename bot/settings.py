"""Settings read once from the environment into a frozen, validated object."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

_ENTITY_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,19}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TABLE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")
_LOOPBACK_URL = re.compile(r"http://(127\.0\.0\.1|localhost)(:\d+)?(/\S*)?")
_APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
# An HMAC key shorter than this is guessable enough to undo the anonymity it protects.
_MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class Entity:
    """A UN entity sessions are reported under: a short code (used in keys) and its name."""

    code: str
    name: str


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment, validated."""

    app_id: str
    app_password: str
    app_type: str
    app_tenant_id: str
    tables_connection_string: str
    anonymity_secret: str
    entities: tuple[Entity, ...]
    allowed_tenant_ids: frozenset[str] = frozenset()
    admin_ids: frozenset[str] = frozenset()
    cycle: int = field(default_factory=lambda: datetime.now(UTC).year)
    table_prefix: str = "dlg"
    port: int = 3978
    dev: bool = False
    openid_metadata_url: str = ""
    token_issuer: str = ""
    card_update_interval: float = 1.0
    content_pack: str = "2023"
    assessment_min_answers: int = 3
    assessment_open_days: int = 7
    poll_timeout_minutes: int = 120
    poll_sweep_seconds: int = 300
    job_sweep_seconds: int = 60
    public_base_url: str = ""
    login_url: str = ""
    oauth_scope: str = ""
    validate_authority: bool = True
    web_sso_resource: str = ""
    web_openid_metadata_url: str = ""
    dev_signin_authority: str = ""

    @property
    def host(self) -> str:
        """Loopback in dev mode, where traffic is unauthenticated; all interfaces otherwise."""
        return "127.0.0.1" if self.dev else "0.0.0.0"

    def entity(self, code: str) -> Entity | None:
        """The configured entity with this code, or None."""
        return next((e for e in self.entities if e.code == code), None)

    def tenant_allowed(self, tenant_id: str | None) -> bool:
        """Whether activities from this tenant may be served (empty list means any, dev only)."""
        if not self.allowed_tenant_ids:
            return self.dev
        return tenant_id in self.allowed_tenant_ids

    def channel_allowed(self, channel_id: str | None) -> bool:
        """Whether activities from this channel may be served: Teams only, once there is an app id.

        The Bot Framework signs every channel's activities with the same keys, so a valid token
        does not make a Web Chat or Direct Line activity a Teams one. Without an app id (--dev)
        the Bot Framework Emulator is welcome too; the Agents Playground posts as msteams.
        """
        if self.app_id:
            return channel_id == "msteams"
        return channel_id in ("msteams", "emulator")

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, dev: bool = False) -> Settings:
        """Read and validate the settings; raise SettingsError naming every bad value."""
        problems: list[str] = []

        get = _reader(env)
        app_id = get("MicrosoftAppId")
        app_type = get("MicrosoftAppType", "MultiTenant") or "MultiTenant"
        tenant_id = get("MicrosoftAppTenantId")
        if not app_id and not dev:
            problems.append(
                "MicrosoftAppId is empty: without it inbound authentication is off. "
                "Set it, or start with --dev for unauthenticated local use on loopback."
            )
        if app_type not in _APP_TYPES:
            problems.append(f"MicrosoftAppType must be one of {', '.join(_APP_TYPES)}.")
        if app_type in ("SingleTenant", "UserAssignedMSI") and app_id and not tenant_id:
            problems.append(f"MicrosoftAppTenantId is required when MicrosoftAppType={app_type}.")

        connection, prefix = _parse_tables(get, problems)

        secret = get("ANONYMITY_SECRET")
        if secret.startswith("@Microsoft.KeyVault("):
            # App Service passes the reference text through when it cannot resolve it.
            problems.append("ANONYMITY_SECRET is an unresolved Key Vault reference.")
        elif len(secret) < _MIN_SECRET_LENGTH:
            problems.append(
                f"ANONYMITY_SECRET must be at least {_MIN_SECRET_LENGTH} characters of random data."
            )

        entities = _parse_entities(get("ENTITIES"), problems)
        tenants = _parse_ids("ALLOWED_TENANT_IDS", get("ALLOWED_TENANT_IDS"), problems)
        if not tenants and not dev:
            problems.append("ALLOWED_TENANT_IDS is empty: name the tenant(s) the bot serves.")
        admins = _parse_ids("ETHICS_ADMIN_IDS", get("ETHICS_ADMIN_IDS"), problems)

        cycle = _parse_int("DIALOGUE_CYCLE", get("DIALOGUE_CYCLE"), 2013, 2100, problems)
        port = _parse_int("PORT", get("PORT"), 1, 65535, problems)
        interval = get("CARD_UPDATE_INTERVAL_SECONDS")
        try:
            card_interval = float(interval) if interval else 1.0
            if not 0.2 <= card_interval <= 30:
                raise ValueError
        except ValueError:
            problems.append("CARD_UPDATE_INTERVAL_SECONDS must be a number from 0.2 to 30.")
            card_interval = 1.0

        minimum = _parse_min_answers(get, problems)
        open_days = _parse_int("ASSESSMENT_OPEN_DAYS", get("ASSESSMENT_OPEN_DAYS"), 1, 60, problems)
        # A Dialogue is 90 minutes; a poll open past the timeout is closed (its salt deleted).
        poll_timeout = _parse_int(
            "POLL_TIMEOUT_MINUTES", get("POLL_TIMEOUT_MINUTES"), 5, 1440, problems
        )
        poll_sweep = _parse_int("POLL_SWEEP_SECONDS", get("POLL_SWEEP_SECONDS"), 1, 3600, problems)
        job_sweep = _parse_int("JOB_SWEEP_SECONDS", get("JOB_SWEEP_SECONDS"), 1, 3600, problems)
        base_url = get("PUBLIC_BASE_URL").rstrip("/")
        if base_url and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", base_url):
            problems.append(
                "PUBLIC_BASE_URL must be an http(s) URL such as https://bot.example.org."
            )
        elif not base_url and not dev:
            problems.append("PUBLIC_BASE_URL is required: export links point at it.")
        login_url = get("TO_CHANNEL_FROM_BOT_LOGIN_URL").rstrip("/")
        if login_url and not re.fullmatch(r"https://[^\s/]+(/[^\s]*)?", login_url):
            problems.append("TO_CHANNEL_FROM_BOT_LOGIN_URL must be an https URL (the authority).")
        validate = get("VALIDATE_AUTHORITY", "true").lower()
        if validate not in ("true", "false"):
            problems.append("VALIDATE_AUTHORITY must be true or false.")
        pack = get("CONTENT_PACK", "2023") or "2023"
        if not re.fullmatch(r"[0-9A-Za-z_-]{1,32}", pack):
            problems.append("CONTENT_PACK must name a folder of cards/packs (e.g. 2023).")

        web_resource, web_metadata, dev_authority = _parse_web(get, app_id, dev, problems)

        _refuse(problems)
        return cls(
            app_id=app_id,
            app_password=get("MicrosoftAppPassword"),
            app_type=app_type,
            app_tenant_id=tenant_id,
            tables_connection_string=connection,
            anonymity_secret=secret,
            entities=entities,
            allowed_tenant_ids=tenants,
            admin_ids=admins,
            cycle=cycle if cycle is not None else datetime.now(UTC).year,
            table_prefix=prefix,
            port=port if port is not None else 3978,
            dev=dev,
            openid_metadata_url=get("TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL"),
            token_issuer=get("TO_BOT_FROM_CHANNEL_TOKEN_ISSUER"),
            card_update_interval=card_interval,
            content_pack=pack,
            assessment_min_answers=minimum if minimum is not None else 3,
            assessment_open_days=open_days if open_days is not None else 7,
            poll_timeout_minutes=poll_timeout if poll_timeout is not None else 120,
            poll_sweep_seconds=poll_sweep if poll_sweep is not None else 300,
            job_sweep_seconds=job_sweep if job_sweep is not None else 60,
            public_base_url=base_url or f"http://127.0.0.1:{port or 3978}",
            login_url=login_url,
            oauth_scope=get("TO_CHANNEL_FROM_BOT_OAUTH_SCOPE"),
            validate_authority=validate != "false",
            web_sso_resource=web_resource,
            web_openid_metadata_url=web_metadata,
            dev_signin_authority=dev_authority,
        )


@dataclass(frozen=True)
class TableSettings:
    """What the offline maintenance commands read: the bot's tables, validated as the bot does."""

    tables_connection_string: str
    table_prefix: str = "dlg"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TableSettings:
        """Read and validate the table settings; raise SettingsError naming every bad value."""
        problems: list[str] = []
        connection, prefix = _parse_tables(_reader(env), problems)
        _refuse(problems)
        return cls(connection, prefix)


def assessment_min_answers(env: Mapping[str, str]) -> int:
    """ASSESSMENT_MIN_ANSWERS as the bot reads it (default 3); SettingsError if malformed."""
    problems: list[str] = []
    minimum = _parse_min_answers(_reader(env), problems)
    _refuse(problems)
    return minimum if minimum is not None else 3


def _refuse(problems: list[str]) -> None:
    """Raise SettingsError naming every problem found, if any."""
    if problems:
        raise SettingsError("Invalid settings:\n  - " + "\n  - ".join(problems))


def _reader(env: Mapping[str, str]) -> Callable[..., str]:
    """A variable of the environment, stripped; the default when unset."""

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    return get


def _parse_tables(get: Callable[..., str], problems: list[str]) -> tuple[str, str]:
    """TABLES_CONNECTION_STRING (required) and TABLE_PREFIX (default dlg)."""
    connection = get("TABLES_CONNECTION_STRING")
    if not connection:
        problems.append("TABLES_CONNECTION_STRING is required (Azure Storage or Azurite).")
    prefix = get("TABLE_PREFIX", "dlg") or "dlg"
    if not _TABLE_PREFIX.match(prefix):
        problems.append("TABLE_PREFIX must be 1-16 letters or digits, starting with a letter.")
    return connection, prefix


def _parse_web(
    get: Callable[..., str], app_id: str, dev: bool, problems: list[str]
) -> tuple[str, str, str]:
    """WEB_SSO_RESOURCE, WEB_OPENID_METADATA_URL and (--dev only) DEV_SIGNIN_AUTHORITY."""
    resource = get("WEB_SSO_RESOURCE").rstrip("/")
    # Teams SSO tokens name the app's Application ID URI, `api://<host>/<app id>`, as declared
    # in the manifest's webApplicationInfo; a resource of another app would accept its tokens.
    if resource and not re.fullmatch(r"api://[^\s/]+(/[^\s/]+)*", resource):
        problems.append("WEB_SSO_RESOURCE must be the app's api://<host>/<MicrosoftAppId> URI.")
    elif resource and app_id and not resource.endswith("/" + app_id):
        problems.append(f"WEB_SSO_RESOURCE must end with the MicrosoftAppId (/{app_id}).")
    if not resource and dev:
        resource = "api://localhost/" + (app_id or "dialogue-bot-dev")
    metadata = get("WEB_OPENID_METADATA_URL")
    if metadata and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", metadata):
        problems.append("WEB_OPENID_METADATA_URL must be an http(s) URL.")
    authority = get("DEV_SIGNIN_AUTHORITY").rstrip("/")
    # The local sign-in mints tokens for anyone: it exists only with --dev, on loopback.
    if authority and not dev:
        problems.append("DEV_SIGNIN_AUTHORITY is for --dev only (local sign-in on loopback).")
    elif authority and not _LOOPBACK_URL.fullmatch(authority):
        problems.append("DEV_SIGNIN_AUTHORITY must be a loopback http URL.")
    return resource, metadata, authority


def _parse_min_answers(get: Callable[..., str], problems: list[str]) -> int | None:
    """ASSESSMENT_MIN_ANSWERS: from how many answers Appendix F results are shown."""
    return _parse_int("ASSESSMENT_MIN_ANSWERS", get("ASSESSMENT_MIN_ANSWERS"), 2, 50, problems)


def _parse_entities(raw: str, problems: list[str]) -> tuple[Entity, ...]:
    """Parse `CODE=Name;CODE=Name`; names may hold commas, so entries split on semicolons."""
    entities: list[Entity] = []
    seen: set[str] = set()
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        code, sep, name = item.partition("=")
        code, name = code.strip(), name.strip()
        if not sep or not _ENTITY_CODE.match(code) or not name or len(name) > 200:
            problems.append(
                f"ENTITIES entry {item[:40]!r} must be CODE=Name with CODE of 2-20 capital "
                "letters, digits or hyphens."
            )
            continue
        if code in seen:
            problems.append(f"ENTITIES names {code} twice.")
            continue
        seen.add(code)
        entities.append(Entity(code, name))
    if not entities and not problems:
        problems.append(
            "ENTITIES is required: `CODE=Name;CODE=Name` (e.g. DESA=Department of ...)."
        )
    return tuple(entities)


def _parse_ids(name: str, raw: str, problems: list[str]) -> frozenset[str]:
    """Parse a comma-separated list of Entra ID object or tenant ids (GUIDs)."""
    ids = {part.strip().lower() for part in raw.split(",") if part.strip()}
    bad = sorted(i for i in ids if not _GUID.match(i))
    if bad:
        problems.append(f"{name} must be comma-separated GUIDs; not GUIDs: {', '.join(bad[:3])}.")
    return frozenset(ids)


def _parse_int(name: str, raw: str, low: int, high: int, problems: list[str]) -> int | None:
    """Parse an optional whole number within bounds."""
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be a whole number.")
        return None
    if not low <= value <= high:
        problems.append(f"{name} must be between {low} and {high}.")
        return None
    return value
