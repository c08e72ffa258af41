"""`python -m benchmarks.botproc`: `python -m bot`, bound to loopback, with optional measuring.

The bot runs unchanged, in production mode, from the settings the load generator gives it.
For measurements only:
- `BENCH_PROFILE=cprofile:PATH` or `pyinstrument:PATH`: profile the whole run into PATH.
- `BENCH_COUNT=PATH`: count storage requests per card verb (and for background work), written
  to PATH as JSON when the process stops.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import os
import sys
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlparse

from bot.settings import Settings

_WORK: contextvars.ContextVar[str] = contextvars.ContextVar("bench_work", default="other")
# The turn's storage requests in flight and how many sequential round trips it has made: a
# request that starts while none of its turn is in flight waits for a new round trip.
_TRIPS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "bench_trips", default=None
)


def count_requests(path: str) -> None:
    """Count each storage request under the card verb (or background job) that made it."""
    from azure.core.pipeline.transport import AioHttpTransport

    from bot.teams.card_updates import Coalescer
    from bot.teams.outbound import Outbound
    from bot.teams.router import DialogueBot

    turns: Counter[str] = Counter()
    storage: defaultdict[str, Counter[str]] = defaultdict(Counter)
    # Per verb: how many turns made 0, 1, 2... sequential storage round trips.
    trips: defaultdict[str, Counter[int]] = defaultdict(Counter)
    send = AioHttpTransport.send

    async def counted_send(self: Any, request: Any, **kwargs: Any) -> Any:
        state = _TRIPS.get()
        if state is not None:
            if state[0] == 0:
                state[1] += 1
            state[0] += 1
        try:
            response = await send(self, request, **kwargs)
        finally:
            if state is not None:
                state[0] -= 1
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
        state = [0, 0]
        _TRIPS.set(state)
        try:
            return await invoke(self, turn_context)
        finally:
            _TRIPS.set(None)
            trips[verb][state[1]] += 1

    message = DialogueBot.on_message_activity

    async def counted_message(self: Any, turn_context: Any) -> Any:
        turns["message"] += 1
        _WORK.set("message")
        return await message(self, turn_context)

    run = Coalescer._run

    async def counted_run(self: Any, key: str, state: Any) -> None:
        # Tasks copy the context of the click that scheduled them; relabel them as background.
        _WORK.set("card update / totals (background)")
        _TRIPS.set(None)
        await run(self, key, state)

    outbound_run = Outbound.run

    def counted_outbound(self: Any, work: Any) -> None:
        async def labelled() -> Any:
            _WORK.set("personal messages (background)")
            _TRIPS.set(None)
            return await work

        outbound_run(self, labelled())

    AioHttpTransport.send = counted_send  # type: ignore[method-assign]
    DialogueBot.on_invoke_activity = counted_invoke  # type: ignore[method-assign]
    DialogueBot.on_message_activity = counted_message  # type: ignore[method-assign]
    Coalescer._run = counted_run  # type: ignore[method-assign]
    Outbound.run = counted_outbound  # type: ignore[method-assign]

    def write() -> None:
        with open(path, "w") as out:
            json.dump(
                {"turns": turns, "storage": storage, "round_trips": trips},
                out,
                indent=1,
                sort_keys=True,
            )

    atexit.register(write)


def install() -> None:
    """Bind to loopback: this benchmark's bot must not listen on the machine's other interfaces."""
    Settings.host = property(lambda self: "127.0.0.1")  # type: ignore[method-assign]


def run() -> int:
    """Install the patches, then run the bot's own entry point (with profiling if asked)."""
    env = dict(os.environ)
    install()
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
