"""Speed under a real morning's load: the Dialogue Bot beside the floor, on 127.0.0.1 only.

Run: `.venv/bin/python -m benchmarks.load` (the full run, about ten minutes on two cores) or
`--smoke` (2 meetings of 5, the burst with 1 and 2 processes, a 20-person broadcast; about a
minute). `--json` ends the
output with one JSON line of every figure. Exits 1 if any action was lost or double-counted.

What runs, each in its own process: Azurite; the local Bot Connector (Teams' rate limits: 7
messages/s per conversation, 30 requests/s per app, else 429 + Retry-After) beside a local HTTPS
token authority (`benchmarks.ratelimited_connector`); the bot, `python -m bot` through
`benchmarks.botproc` in production mode (an app id, every inbound token checked against a
local OpenID/JWKS endpoint, an allow-listed tenant, a public URL, replies under tokens from the
local authority); and `benchmarks.floor_bot`, the least any bot on this stack must do.

Workloads: meetings of 25 whose participants sign in, vote in the scenario poll, change votes
and submit Appendix F; each phase's clicks land at one instant (burst) or over `--spread`
seconds (paced); both again with storage behind a proxy that adds `--storage-latency-ms`
each way (8 ms, as an App Service and its region's Table account); the burst again against 2
and 3 bot processes on one storage (scale-out, `--processes`), which must share Teams' per-app
and per-chat pace (the 429s are counted by limit); the same clicks against the floor;
sustained arrivals stepped up until p99 passes 2 s (the knee);
a focal point's reminder to every participant of 40 concluded sessions (the broadcast).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.stack import (
    BotProcess,
    Stack,
    Tables,
    group_cpu_seconds,
    machine_busy_seconds,
)
from benchmarks.workloads import (
    Broadcast,
    Click,
    Meeting,
    MeetingFlows,
    PhaseResult,
    Tally,
    Teams,
    broadcast,
    broadcast_setup,
    dialogue_workload,
    floor_workload,
    gather_limited,
    knee_clicks,
    percentile,
    run_phase,
    settle,
    signin_clicks,
    stale_sheet_cards,
    verify_dialogue,
    verify_floor,
)
from testing.teams import User

OURS = "benchmarks.botproc"
FLOOR = "benchmarks.floor_bot"
KNEE_P99_SECONDS = 2.0
ADMIN = User.make("Ethics Office Admin", 9_999_999)


@dataclass
class Figures:
    """One row of the results table."""

    workload: str
    bot: str
    processes: int
    actions: int
    seconds: float
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    peak_rss_mb: float
    card_updates: int
    throttled: int
    throttled_chat: int
    failed: int
    lost: int
    double: int
    errors_logged: int
    token_requests: int = 0
    unauthorized: int = 0
    stale_cards: int = 0
    throttled_app: int = 0
    storage_latency_ms: float = 0.0
    cold_start_s: float = 0.0
    cpu_ms_per_action: dict[str, float] = field(default_factory=dict)
    leader_failures: dict[str, int] = field(default_factory=dict)
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def summarize(
    workload: str,
    bot: str,
    bots: list[BotProcess],
    phases: list[PhaseResult],
    stats: dict[str, Any],
    tally: Tally,
    rss: float,
) -> Figures:
    """Figures from the phases' clicks, the connector's counts and the storage check."""
    clicks: list[Click] = [c for p in phases for c in p.clicks]
    seconds = sum(p.seconds for p in phases)
    latencies = [c.seconds for c in clicks]
    cpu: dict[str, float] = {}
    for p in phases:
        for k, v in p.cpu.items():
            cpu[k] = cpu.get(k, 0.0) + v
    return Figures(
        workload=workload,
        bot=bot,
        processes=len(bots),
        actions=len(clicks),
        seconds=round(seconds, 2),
        rate=round(len(clicks) / seconds, 1) if seconds else 0.0,
        p50_ms=round(percentile(latencies, 50) * 1000),
        p95_ms=round(percentile(latencies, 95) * 1000),
        p99_ms=round(percentile(latencies, 99) * 1000),
        max_ms=round(max(latencies, default=math.nan) * 1000),
        peak_rss_mb=round(rss, 1),
        card_updates=stats.get("card_updates", 0),
        throttled=stats.get("throttled", 0),
        throttled_chat=stats.get("throttled_conversation", 0),
        throttled_app=stats.get("throttled_app", 0),
        cold_start_s=round(max((b.cold_start for b in bots), default=0.0), 2),
        failed=sum(1 for c in clicks if not c.ok),
        lost=tally.lost,
        double=tally.double,
        errors_logged=sum(b.errors_logged() for b in bots),
        token_requests=stats.get("authority", {}).get("token", 0),
        unauthorized=stats.get("unauthorized", 0),
        cpu_ms_per_action={k: round(v * 1000 / len(clicks), 2) for k, v in cpu.items()}
        if clicks
        else {},
        phases={
            p.name: {
                "actions": len(p.clicks),
                "seconds": round(p.seconds, 2),
                "p50_ms": round(percentile([c.seconds for c in p.clicks], 50) * 1000),
                "p99_ms": round(percentile([c.seconds for c in p.clicks], 99) * 1000),
                "failed": sum(1 for c in p.clicks if not c.ok),
                "send_lag_ms": round(p.lag * 1000),
                "cpu_s": p.cpu,
            }
            for p in phases
        },
        notes=tally.notes[:10],
    )


class Runner:
    """Runs each workload on fresh tables and fresh bot processes, then checks storage."""

    def __init__(self, stack: Stack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.args = args
        self.rng = random.Random(20261120)
        self._base = 0

    def _meetings(self, count: int, size: int, entity: str = "DESA") -> list[Meeting]:
        # People differ between workloads too, so no row of an earlier run can be mistaken.
        self._base += 1_000_000
        return [Meeting.make(n, size, self._base, entity) for n in range(count)]

    def _spawn(
        self,
        name: str,
        module: str,
        prefix: str,
        processes: int,
        profile: str = "",
        latency: bool = False,
    ):
        counting = self.args.count_requests and module == OURS
        bots = [
            self.stack.spawn(
                f"{name}-{i}",
                module,
                prefix,
                profile=profile.replace("{i}", str(i)) if profile else "",
                count=str(self.stack.directory / f"{name}-{i}.requests.json") if counting else "",
                latency=latency,
            )
            for i in range(processes)
        ]
        try:
            for bot in bots:
                bot.wait_healthy()
        except Exception:
            for bot in bots:
                bot.stop()
            raise
        return bots

    def _meter(self, bots: list[BotProcess]):
        """CPU seconds so far of the bot(s), Azurite, the services and this process."""
        azurite = self.stack.azurite_pgid()
        services = self.stack.services.process.pid if self.stack.services else 0

        def read() -> dict[str, float]:
            usage = os.times()
            ours = {
                "bot": sum(b.cpu_seconds() for b in bots),
                "azurite": group_cpu_seconds(azurite),
                "connector+authority": group_cpu_seconds(services),
                "load generator": usage.user + usage.system,
            }
            # The machine is shared: what anything else used meanwhile qualifies every figure.
            ours["other processes"] = machine_busy_seconds() - sum(ours.values())
            return ours

        return read

    def _session(self) -> aiohttp.ClientSession:
        # No connection cap: Teams reaches the bot from many connections at once.
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def clicks(
        self,
        workload: str,
        module: str,
        spread: float,
        processes: int,
        profile: str = "",
        latency: bool = False,
    ) -> Figures:
        """The meetings' click workload against our bot or the floor (storage behind the
        latency proxy with `latency`)."""
        prefix = "l" + uuid.uuid4().hex[:10]
        stack, services = self.stack, self.stack.services
        assert services and stack.azurite
        floor = module == FLOOR
        lat = f"+{stack.storage_latency * 1000:g}ms" if latency else ""
        name = f"{workload}{lat}-{'floor' if floor else 'ours'}-x{processes}"
        bots = self._spawn(name, module, prefix, processes, profile, latency)
        meetings = self._meetings(self.args.meetings, self.args.size)
        try:
            async with self._session() as session:
                await services.post(session, "reset")
                teams = Teams(
                    session, [b.url for b in bots], services.connector_url, stack.inbound_token
                )
                flows = MeetingFlows(teams, services, session)
                meter = self._meter(bots)
                if floor:
                    phases = await floor_workload(teams, meetings, spread, self.rng, meter)
                else:
                    phases = await dialogue_workload(flows, meetings, spread, self.rng, meter)
                await settle(services, session)
                rss = max(b.peak_rss_mb() for b in bots)
                stats = await services.get(session, "stats")
                # What everyone in each meeting sees last on the shared sign-in card.
                sheets = {
                    m.n: (
                        await services.get(session, "latest", conversation=m.chat.id, id=m.card_id)
                    )["card"]
                    for m in meetings
                    if not floor
                }
        finally:
            for bot in bots:
                bot.stop()
        tables = Tables(stack.azurite.connection_string, prefix)
        try:
            if floor:
                tally = await verify_floor(tables, meetings, phases)
            else:
                tally = await verify_dialogue(tables, meetings, phases, poll_closed=True)
                stale = await stale_sheet_cards(tables, meetings, sheets)
        finally:
            await tables.close()
        figures = summarize(
            workload + lat, "floor" if floor else "ours", bots, phases, stats, tally, rss
        )
        figures.storage_latency_ms = stack.storage_latency * 1000 if latency else 0.0
        if not floor:
            figures.stale_cards = len(stale)
            figures.notes.extend(stale)
        figures.leader_failures = dict(flows.leader_failures)
        return figures

    async def knee(self) -> dict[str, Any]:
        """Sustained sign-in re-clicks and vote changes, stepped up until p99 passes 2 s."""
        prefix = "k" + uuid.uuid4().hex[:10]
        stack, services = self.stack, self.stack.services
        assert services and stack.azurite
        bots = self._spawn("knee", OURS, prefix, 1)
        meetings = self._meetings(self.args.meetings, self.args.size)
        steps: list[dict[str, Any]] = []
        knee_rate = None
        try:
            async with self._session() as session:
                teams = Teams(session, [bots[0].url], services.connector_url, stack.inbound_token)
                flows = MeetingFlows(teams, services, session)
                await gather_limited(10, [flows.start(m) for m in meetings])
                signin = await run_phase(
                    "sign-in", signin_clicks(teams, meetings, floor=False), 0, self.rng
                )
                phases = [signin]
                await gather_limited(10, [flows.open_poll(m) for m in meetings])
                await settle(services, session, quiet=2.0)
                for rate in self.args.knee_rates:
                    phase = await knee_clicks(
                        teams, meetings, rate, self.args.knee_window, self.rng, self._meter(bots)
                    )
                    phases.append(phase)
                    latencies = [c.seconds for c in phase.clicks]
                    step = {
                        "offered_per_s": rate,
                        "actions": len(phase.clicks),
                        "achieved_per_s": round(len(phase.clicks) / phase.seconds, 1),
                        "p50_ms": round(percentile(latencies, 50) * 1000),
                        "p95_ms": round(percentile(latencies, 95) * 1000),
                        "p99_ms": round(percentile(latencies, 99) * 1000),
                        "failed": sum(1 for c in phase.clicks if not c.ok),
                        "send_lag_ms": round(phase.lag * 1000),
                        "cpu_s": phase.cpu,
                    }
                    steps.append(step)
                    await settle(services, session, quiet=2.0)
                    if step["p99_ms"] > KNEE_P99_SECONDS * 1000:
                        knee_rate = rate
                        break
                rss = bots[0].peak_rss_mb()
        finally:
            bots[0].stop()
        tables = Tables(stack.azurite.connection_string, prefix)
        try:
            tally = await verify_dialogue(tables, meetings, phases, poll_closed=False)
        finally:
            await tables.close()
        below = [s["offered_per_s"] for s in steps if s["p99_ms"] <= KNEE_P99_SECONDS * 1000]
        return {
            "steps": steps,
            "leader_failures": dict(flows.leader_failures),
            "knee_per_s": knee_rate,
            "last_below_per_s": max(below) if below else None,
            "window_s": self.args.knee_window,
            "peak_rss_mb": round(rss, 1),
            "lost": tally.lost,
            "double": tally.double,
            "notes": tally.notes[:10],
        }

    async def broadcast(self) -> dict[str, Any]:
        """Concluded sessions, then the focal point's one click that reminds everyone."""
        prefix = "b" + uuid.uuid4().hex[:10]
        stack, services = self.stack, self.stack.services
        assert services
        bots = self._spawn("broadcast", OURS, prefix, 1)
        meetings = self._meetings(self.args.broadcast_sessions, self.args.broadcast_size, "DPO")
        try:
            async with self._session() as session:
                await services.post(session, "reset")
                teams = Teams(session, [bots[0].url], services.connector_url, stack.inbound_token)
                flows = MeetingFlows(teams, services, session)
                await broadcast_setup(flows, meetings, services, session)
                result: Broadcast = await broadcast(
                    flows, meetings, services, session, ADMIN, "DPO"
                )
                rss = bots[0].peak_rss_mb()
        finally:
            bots[0].stop()
        return {
            **asdict(result),
            "leader_failures": dict(flows.leader_failures),
            "sessions": len(meetings),
            "peak_rss_mb": round(rss, 1),
            "errors_logged": bots[0].errors_logged(),
        }


def table(rows: list[list[str]]) -> str:
    """Rows as a Markdown table (the first row is the header)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def ratio(a: float, b: float) -> str:
    """a / b to two decimals."""
    return f"{a / b:.2f}" if b else "n/a"


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the tables."""
    figures = [Figures(**f) for f in results["workloads"]]
    if figures:
        print(
            f"\nCard actions: {args.meetings} meetings x {args.size} participants; actions are "
            "participants' clicks (sign-in, vote, vote change, Appendix F), leader steps excluded"
        )
        header = [
            "workload",
            "bot",
            "procs",
            "actions",
            "actions/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "actions/s per proc",
            "cold start s",
            "peak RSS MiB",
            "card updates",
            "429s app/chat",
            "failed",
            "lost",
            "double",
        ]
        rows = [header] + [
            [
                f.workload,
                f.bot,
                str(f.processes),
                str(f.actions),
                f"{f.rate:.1f}",
                str(f.p50_ms),
                str(f.p95_ms),
                str(f.p99_ms),
                f"{f.rate / f.processes:.1f}",
                f"{f.cold_start_s:.2f}",
                f"{f.peak_rss_mb:.0f}",
                str(f.card_updates),
                f"{f.throttled_app}/{f.throttled_chat}",
                str(f.failed),
                str(f.lost),
                str(f.double),
            ]
            for f in figures
        ]
        print(table(rows))
        for f in figures:
            if f.bot == "ours":
                print(
                    f"  {f.workload} x{f.processes}: final shared sign-in cards not showing the "
                    f"stored count: {f.stale_cards} of {args.meetings}"
                )
        pairs = [
            (o, f)
            for o in figures
            for f in figures
            if o.bot == "ours"
            and f.bot == "floor"
            and (o.workload, o.processes) == (f.workload, f.processes)
        ]
        if pairs:
            print("\nAgainst the floor (same clicks, same stack, one upsert + a static card)")
            rows = [["workload", "procs", "p99 ours/floor", "throughput ours/floor"]] + [
                [o.workload, str(o.processes), ratio(o.p99_ms, f.p99_ms), ratio(o.rate, f.rate)]
                for o, f in pairs
            ]
            print(table(rows))
        print("\nPer phase (ours)")
        rows = [["workload", "phase", "actions", "s", "p50 ms", "p99 ms", "failed"]]
        for f in figures:
            if f.bot != "ours":
                continue
            for name, p in f.phases.items():
                rows.append(
                    [
                        f"{f.workload} x{f.processes}",
                        name,
                        str(p["actions"]),
                        f"{p['seconds']:.2f}",
                        str(p["p50_ms"]),
                        str(p["p99_ms"]),
                        str(p["failed"]),
                    ]
                )
        print(table(rows))
        print("\nCPU per action, ms (each process, during the measured phases)")
        names = sorted({k for f in figures for k in f.cpu_ms_per_action})
        rows = [["workload", "bot", "procs", *names]] + [
            [f.workload, f.bot, str(f.processes)]
            + [f"{f.cpu_ms_per_action.get(n, 0):.1f}" for n in names]
            for f in figures
        ]
        print(table(rows))
        failures = {
            f"{f.workload} x{f.processes}": f.leader_failures for f in figures if f.leader_failures
        }
        if failures:
            print(f"\nLeader clicks that failed and were clicked again: {failures}")
    knee = results.get("knee")
    if knee:
        print(
            f"\nKnee: sign-in re-clicks and vote changes from random participants, arriving at "
            f"a steady rate for {knee['window_s']:g} s per step (one bot process)"
        )
        rows = [["offered /s", "actions", "achieved /s", "p50 ms", "p95 ms", "p99 ms", "failed"]]
        for s in knee["steps"]:
            rows.append(
                [
                    f"{s['offered_per_s']:g}",
                    str(s["actions"]),
                    f"{s['achieved_per_s']:.1f}",
                    str(s["p50_ms"]),
                    str(s["p95_ms"]),
                    str(s["p99_ms"]),
                    str(s["failed"]),
                ]
            )
        print(table(rows))
        crossed = knee["knee_per_s"]
        print(
            f"  p99 crosses {KNEE_P99_SECONDS:g} s at {crossed:g}/s "
            f"(last rate below: {knee['last_below_per_s']}/s)"
            if crossed
            else f"  p99 stayed under {KNEE_P99_SECONDS:g} s up to {knee['last_below_per_s']}/s"
        )
        print(f"  lost {knee['lost']}, double {knee['double']}, peak RSS {knee['peak_rss_mb']} MiB")
        if knee["leader_failures"]:
            print(f"  leader clicks that failed and were clicked again: {knee['leader_failures']}")
    b = results.get("broadcast")
    if b:
        print(
            f"\nBroadcast: focal point's Remind, {b['sessions']} concluded sessions, "
            f"{b['expected']} participants who have not answered (one bot process)"
        )
        rows = [
            [
                "messages",
                "lost",
                "double",
                "seconds",
                "messages/s",
                "requests/s",
                "ceiling",
                "429s",
                "click ms",
                "peak RSS MiB",
            ],
            [
                str(b["delivered"]),
                str(b["lost"]),
                str(b["double"]),
                f"{b['seconds']:.1f}",
                f"{b['rate']:.1f}",
                f"{b['requests_rate']:.1f}",
                "30 req/s",
                str(b["throttled"]),
                f"{b['click_seconds'] * 1000:.0f}",
                f"{b['peak_rss_mb']:.0f}",
            ],
        ]
        print(table(rows))
        print(
            "  messages/s: from the first reminder to the last; each personal message is 2 "
            "requests (create the 1:1 chat, then post), so 30 req/s allows 15 messages/s; "
            f"outbound tokens fetched: {b['token_requests']}"
        )
        if b["leader_failures"]:
            print(f"  setup clicks that failed and were clicked again: {b['leader_failures']}")
    for problem in results["aborted"]:
        print(f"\nABORTED {problem}")
    print(
        f"\nTotal: lost {results['lost']}, double {results['double']}, "
        f"stale cards {results['stale_cards']}, "
        f"failed clicks {results['failed']}, errors logged by the bot {results['errors_logged']}"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the stack, run the chosen workloads, return every figure."""
    directory = Path(args.workdir or tempfile.mkdtemp(prefix="dlg-load-"))
    stack = Stack(
        directory,
        token_latency=args.token_latency,
        storage_latency=args.storage_latency_ms / 1000 if "latency" in args.only else 0.0,
        admin_id=ADMIN.aad_id,
    )
    stack.start()
    results: dict[str, Any] = {"workloads": [], "aborted": [], "workdir": str(directory)}
    only = set(args.only)
    try:
        runner = Runner(stack, args)
        plan = [
            ("burst", "burst", OURS, 0.0, 1, False),
            ("burst", "burst", FLOOR, 0.0, 1, False),
            ("paced", "paced", OURS, args.spread, 1, False),
            ("paced", "paced", FLOOR, args.spread, 1, False),
            # The same with every storage request delayed each way, as in an Azure region.
            ("latency", "burst", OURS, 0.0, 1, True),
            ("latency", "burst", FLOOR, 0.0, 1, True),
            ("latency", "paced", OURS, args.spread, 1, True),
            ("latency", "paced", FLOOR, args.spread, 1, True),
        ]
        for n in args.processes:
            if n > 1:
                plan.append(("scale", "burst", OURS, 0.0, n, False))
                if not args.smoke:
                    plan.append(("scale", "burst", FLOOR, 0.0, n, False))
        for key, name, module, spread, processes, latency in plan:
            if key not in only or (module == FLOOR and "floor" not in only):
                continue
            profile = ""
            if args.profile and module == OURS and key == "burst":
                profile = f"{args.profile}:{directory / ('profile.' + args.profile)}"
                results["profile"] = profile.split(":", 1)[1]
            lat = f"+{args.storage_latency_ms:g}ms" if latency else ""
            label = f"{name}{lat} x{processes} ({'floor' if module == FLOOR else 'ours'})"
            print(f"... {label}", flush=True)
            try:
                figures = await runner.clicks(name, module, spread, processes, profile, latency)
            except Exception as error:  # one broken workload must not lose the rest
                results["aborted"].append(f"{label}: {type(error).__name__}: {error}")
                continue
            results["workloads"].append(asdict(figures))
        for key, work in (("knee", runner.knee), ("broadcast", runner.broadcast)):
            if key not in only:
                continue
            print(f"... {key}", flush=True)
            try:
                results[key] = await work()
            except Exception as error:
                results["aborted"].append(f"{key}: {type(error).__name__}: {error}")
    finally:
        stack.stop()
    parts = [*results["workloads"], *(results[k] for k in ("knee", "broadcast") if k in results)]
    results["lost"] = sum(p["lost"] for p in parts)
    results["double"] = sum(p["double"] for p in parts)
    results["stale_cards"] = sum(w.get("stale_cards", 0) for w in results["workloads"])
    results["failed"] = sum(f["failed"] for f in results["workloads"]) + sum(
        s["failed"] for s in results.get("knee", {}).get("steps", [])
    )
    results["errors_logged"] = sum(f["errors_logged"] for f in results["workloads"]) + results.get(
        "broadcast", {}
    ).get("errors_logged", 0)
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line; --smoke overrides sizes for a run of a few seconds."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="2 meetings of 5, 20-person broadcast")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    parser.add_argument("--meetings", type=int, default=10)
    parser.add_argument("--size", type=int, default=25, help="participants per meeting")
    parser.add_argument("--spread", type=float, default=5.0, help="paced: seconds per phase")
    parser.add_argument("--broadcast-sessions", type=int, default=40)
    parser.add_argument("--broadcast-size", type=int, default=25)
    parser.add_argument(
        "--knee-rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[100.0, 200.0, 250.0, 300.0, 350.0, 400.0, 500.0],
        help="offered clicks/s, stepped up until p99 passes 2 s",
    )
    parser.add_argument("--knee-window", type=float, default=8.0, help="seconds per knee step")
    parser.add_argument(
        "--only",
        type=lambda s: set(s.split(",")),
        default={"burst", "paced", "latency", "scale", "floor", "knee", "broadcast"},
        help="comma-separated: burst,paced,latency,scale,floor,knee,broadcast",
    )
    parser.add_argument(
        "--processes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2, 3],
        help="scale: bot processes on one storage (those above 1 run the burst again)",
    )
    parser.add_argument(
        "--storage-latency-ms",
        type=float,
        default=8.0,
        help="latency: milliseconds the proxy in front of Azurite adds each way",
    )
    parser.add_argument(
        "--token-latency",
        type=float,
        default=0.0,
        help="seconds the token authority takes to answer (the real one is remote)",
    )
    parser.add_argument(
        "--profile", choices=("cprofile", "pyinstrument"), help="profile our bot's burst run"
    )
    parser.add_argument(
        "--count-requests",
        action="store_true",
        help="write our bot's storage requests per card verb to WORKDIR/*.requests.json",
    )
    parser.add_argument("--workdir", help="where logs, certificates and profiles go")
    args = parser.parse_args(argv)
    if args.smoke:
        args.meetings, args.size = 2, 5
        args.broadcast_sessions, args.broadcast_size = 4, 5
        args.only = {"burst", "floor", "scale", "broadcast"}
        args.processes = [2]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run, print the tables (and the JSON line); 1 if anything was lost or double-counted."""
    args = parse(argv)
    results = asyncio.run(run(args))
    report(results, args)
    if args.json:
        print(json.dumps(results, separators=(",", ":")))
    wrong = results["lost"] or results["double"] or results["stale_cards"]
    return 1 if wrong or results["aborted"] else 0


if __name__ == "__main__":
    sys.exit(main())
