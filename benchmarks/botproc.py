"""`python -m benchmarks.botproc`: `python -m bot` plus the outbound-auth settings it lacks today.

bot/app.py's `_AdapterConfig` does not pass `TO_CHANNEL_FROM_BOT_LOGIN_URL`,
`TO_CHANNEL_FROM_BOT_OAUTH_SCOPE` or `VALIDATE_AUTHORITY`, so with the inbound OpenID settings
set, botbuilder asks msal for reply tokens at `https://login.microsoftonline.com/common`. This
wrapper (this process only; nothing in bot/ changes) adds those three attributes from the
environment of the same names, binds to loopback, then runs the unchanged `bot.__main__.main`.

Optional, for measurements only (`BENCH_WHAT_IF`, comma-separated), each a fix the report
proposes, so its gain is measured rather than guessed:
- `shared-credentials`: one credentials object (one msal app and token cache) per scope and
  authority, instead of one per connector client (so per reply, card update and turn).
- `retry-policy`: msrest's `ClientRetryPolicy` builds its status list by testing 999 codes
  against a 500-item list, about 2 ms per connector client (two per turn); a set makes it free.
- `no-env-proxy`: azure-core's aiohttp transport trusts the environment, so every storage
  request first looks up netrc and proxies in worker threads; storage is never proxied here.

Also for measurements:
- `BENCH_PROFILE=cprofile:PATH` or `pyinstrument:PATH`: profile the whole run into PATH.
- `BENCH_COUNT=PATH`: count storage requests per card verb (and for background work), written
  to PATH as JSON when the process stops.
"""

from __future__ import annotations

import atexit
import contextvars
import dataclasses
import json
import os
import sys
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlparse

import msal
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botframework.connector.auth import MicrosoftAppCredentials, ServiceClientCredentialsFactory
from msrest.authentication import Authentication

import bot.app as app_module
from bot.settings import Settings

# Kept before `install` replaces the module attribute, so the extension builds on the original.
_ORIGINAL_CONFIG = app_module._adapter_config  # noqa: SLF001


@dataclasses.dataclass(frozen=True)
class OutboundAdapterConfig(app_module._AdapterConfig):  # noqa: SLF001 - the shape to extend
    """`_AdapterConfig` with the outbound attributes botbuilder already reads."""

    TO_CHANNEL_FROM_BOT_LOGIN_URL: str | None = None
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str | None = None
    VALIDATE_AUTHORITY: bool = True


def outbound_config(settings: Settings, env: dict[str, str]) -> OutboundAdapterConfig:
    """The bot's adapter configuration with the outbound settings from `env`."""
    base = _ORIGINAL_CONFIG(settings)
    return OutboundAdapterConfig(
        **dataclasses.asdict(base),
        TO_CHANNEL_FROM_BOT_LOGIN_URL=env.get("TO_CHANNEL_FROM_BOT_LOGIN_URL") or None,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=env.get("TO_CHANNEL_FROM_BOT_OAUTH_SCOPE") or None,
        VALIDATE_AUTHORITY=env.get("VALIDATE_AUTHORITY", "true").strip().lower()
        not in ("0", "false", "no"),
    )


class SharedCredentialsFactory(ServiceClientCredentialsFactory):
    """One credentials object per (app, scope, authority), so msal's token cache lives on."""

    # botframework-connector 4.17.1 builds new credentials, hence a new msal app, for every
    # connector client, so each reply or card update fetches tenant discovery and a new token,
    # synchronously on the event loop. It also never hands `validate_authority` to msal.

    def __init__(self, configuration: Any) -> None:
        self._inner = ConfigurationServiceClientCredentialFactory(configuration)
        self._cache: dict[tuple[str, str, str, bool], Authentication] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        """Delegated."""
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        """Delegated."""
        return await self._inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        """The cached credentials for this scope and authority, built once."""
        key = (app_id, oauth_scope or "", login_endpoint or "", bool(validate_authority))
        credentials = self._cache.get(key)
        if credentials is None:
            credentials = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
            if (
                isinstance(credentials, MicrosoftAppCredentials)
                and credentials.microsoft_app_id
                and not validate_authority
            ):
                # The SDK drops validate_authority; build the msal app it would have built, with it.
                credentials.app = msal.ConfidentialClientApplication(
                    client_id=credentials.microsoft_app_id,
                    client_credential=credentials.microsoft_app_password,
                    authority=credentials.oauth_endpoint,
                    validate_authority=False,
                )
            self._cache[key] = credentials
        return credentials


_WORK: contextvars.ContextVar[str] = contextvars.ContextVar("bench_work", default="other")


def count_requests(path: str) -> None:
    """Count each storage request under the card verb (or background job) that made it."""
    from azure.core.pipeline.transport import AioHttpTransport

    from bot.card_updates import Coalescer
    from bot.handler import DialogueBot
    from bot.outbound import Outbound

    turns: Counter[str] = Counter()
    storage: defaultdict[str, Counter[str]] = defaultdict(Counter)
    send = AioHttpTransport.send

    async def counted_send(self: Any, request: Any, **kwargs: Any) -> Any:
        response = await send(self, request, **kwargs)
        table = urlparse(request.url).path.split("/")[-1].split("(")[0]
        # Table names carry the run's prefix; keep the bot's own name for the table.
        table = table[11:] if len(table) > 11 else table
        storage[_WORK.get()][f"{request.method} {table} {response.status_code}"] += 1
        return response

    invoke = DialogueBot.on_invoke_activity

    async def counted_invoke(self: Any, turn_context: Any) -> Any:
        value = turn_context.activity.value
        action = value.get("action", {}) if isinstance(value, dict) else {}
        verb = str(action.get("verb", "?"))
        turns[verb] += 1
        _WORK.set(verb)
        return await invoke(self, turn_context)

    message = DialogueBot.on_message_activity

    async def counted_message(self: Any, turn_context: Any) -> Any:
        turns["message"] += 1
        _WORK.set("message")
        return await message(self, turn_context)

    run = Coalescer._run  # noqa: SLF001

    async def counted_run(self: Any, key: str, state: Any) -> None:
        # Tasks copy the context of the click that scheduled them; relabel them as background.
        _WORK.set("card update / totals (background)")
        await run(self, key, state)

    outbound_run = Outbound.run

    def counted_outbound(self: Any, work: Any) -> None:
        async def labelled() -> Any:
            _WORK.set("personal messages (background)")
            return await work

        outbound_run(self, labelled())

    AioHttpTransport.send = counted_send  # type: ignore[method-assign]
    DialogueBot.on_invoke_activity = counted_invoke  # type: ignore[method-assign]
    DialogueBot.on_message_activity = counted_message  # type: ignore[method-assign]
    Coalescer._run = counted_run  # type: ignore[method-assign]  # noqa: SLF001
    Outbound.run = counted_outbound  # type: ignore[method-assign]

    def write() -> None:
        with open(path, "w") as out:
            json.dump({"turns": turns, "storage": storage}, out, indent=1, sort_keys=True)

    atexit.register(write)


def install(env: dict[str, str]) -> None:
    """Patch this process's bot app factory; bot/ itself is untouched."""
    app_module._adapter_config = lambda settings: outbound_config(settings, env)  # noqa: SLF001
    # Loopback only: this benchmark's bot must not listen on the machine's other interfaces.
    Settings.host = property(lambda self: "127.0.0.1")  # type: ignore[method-assign]
    what_if = set(filter(None, env.get("BENCH_WHAT_IF", "").split(",")))
    if "retry-policy" in what_if:
        from msrest.universal_http.requests import ClientRetryPolicy

        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore
    if "no-env-proxy" in what_if:
        from azure.core.pipeline.transport import AioHttpTransport

        init = AioHttpTransport.__init__

        def without_env(self: Any, **kwargs: Any) -> None:
            kwargs.setdefault("use_env_settings", False)
            init(self, **kwargs)

        AioHttpTransport.__init__ = without_env  # type: ignore[method-assign]
    if "shared-credentials" in what_if:

        def authentication(configuration: Any) -> ConfigurationBotFrameworkAuthentication:
            return ConfigurationBotFrameworkAuthentication(
                configuration, credentials_factory=SharedCredentialsFactory(configuration)
            )

        app_module.ConfigurationBotFrameworkAuthentication = authentication  # type: ignore[misc]


def run() -> int:
    """Install the patches, then run the bot's own entry point (with profiling if asked)."""
    env = dict(os.environ)
    install(env)
    if env.get("BENCH_COUNT"):
        count_requests(env["BENCH_COUNT"])
    from bot.__main__ import main

    kind, _, path = env.get("BENCH_PROFILE", "").partition(":")
    if kind == "cprofile":
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            return main([])
        finally:
            profiler.disable()
            profiler.dump_stats(path)
    if kind == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
        try:
            return main([])
        finally:
            profiler.stop()
            with open(path, "w") as out:
                out.write(profiler.output_text(unicode=False, show_all=False))
    return main([])


if __name__ == "__main__":
    sys.exit(run())
