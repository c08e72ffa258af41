"""Outbound tokens: fetched and renewed in a worker thread, so a slow authority never stalls
the event loop, and one token serves every turn arriving together."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.teams.credentials import SharedCredentialsFactory
from testing.authority import BOT_FRAMEWORK_SCOPE, LocalAuthority, ThreadedAuthority

APP_ID = "00000000-0000-0000-0000-00000000b0b1"
PASSWORD = "local-secret"
SLOW = 1.5


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAuthority]:
    """The local token authority on its own thread (msal asks it over HTTPS)."""
    with ThreadedAuthority(APP_ID, PASSWORD, Path(tmp_path_factory.mktemp("authority"))) as local:
        yield local


@pytest.fixture
def factory(authority: LocalAuthority, monkeypatch: pytest.MonkeyPatch) -> SharedCredentialsFactory:
    """The bot's credentials factory, pointed at the local authority."""
    assert authority.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority.ca_file))
    authority.reset()
    authority.scope_latency.clear()
    config = SimpleNamespace(
        APP_ID=APP_ID, APP_PASSWORD=PASSWORD, APP_TYPE="MultiTenant", APP_TENANTID=""
    )
    return SharedCredentialsFactory(config)


class LoopWatch:
    """The longest the event loop went without running a 10 ms tick."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            last = now

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def credentials_of(factory: SharedCredentialsFactory, authority: LocalAuthority):
    """What the SDK asks for before its first reply: the Bot Connector scope's credentials."""
    return await factory.create_credentials(
        APP_ID, BOT_FRAMEWORK_SCOPE, authority.login_url(), False
    )


async def test_a_slow_first_token_never_stalls_the_loop_and_turns_share_it(factory, authority):
    authority.scope_latency[BOT_FRAMEWORK_SCOPE] = SLOW
    with LoopWatch() as watch:
        built = await asyncio.gather(*(credentials_of(factory, authority) for _ in range(5)))
        # Signing a reply on the loop, as msrest does, finds the token ready.
        started = time.monotonic()
        header = built[0].signed_session().headers["Authorization"]
        signing = time.monotonic() - started
    assert all(b is built[0] for b in built)
    assert header.startswith("Bearer ") and signing < 0.2, f"signing took {signing:.2f} s"
    assert watch.longest < 0.5, f"the loop stalled {watch.longest:.2f} s"
    assert authority.hits().get(f"token:{BOT_FRAMEWORK_SCOPE}") == 1


async def test_renewal_runs_off_the_loop_while_replies_keep_signing(factory, authority):
    credentials = await credentials_of(factory, authority)
    authority.scope_latency[BOT_FRAMEWORK_SCOPE] = SLOW
    renewals = asyncio.create_task(factory.keep_fresh(every=0.05))
    try:
        with LoopWatch() as watch:
            for _ in range(20):
                assert credentials.signed_session().headers["Authorization"].startswith("Bearer ")
                await asyncio.sleep(0.05)
    finally:
        renewals.cancel()
    assert watch.longest < 0.5, f"the loop stalled {watch.longest:.2f} s"
    # msal answers renewals from its cache while the token is good: the authority is not asked.
    assert authority.hits().get(f"token:{BOT_FRAMEWORK_SCOPE}") == 1
