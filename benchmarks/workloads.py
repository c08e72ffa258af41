"""What a morning of Leadership Dialogues sends a bot, with the timing of real clicks compressed.

Meetings of 25 run sign-in, an anonymous scenario poll with vote changes and Appendix F; the
participants' clicks are the measured actions (the leader's steps between them are setup). A
phase's clicks all land at the same instant (burst) or spread over a few seconds (paced). The
same clicks go to the floor bot. A focal point's reminder reaches every participant of an
entity's concluded sessions who has not answered (the broadcast). Afterwards Azurite is read to
count lost and double-counted actions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.stack import CYCLE, Services, Tables
from storage.keys import digest, session_partition, user_key
from testing.flows import GOOD_F, SETUP
from testing.teams import (
    CARD,
    Chat,
    User,
    card_sid,
    card_text,
    clicked,
    data_of,
    envelope,
    typed,
)

ROOT = Path(__file__).resolve().parent.parent
TEXT = json.loads((ROOT / "cards" / "catalogs" / "en.json").read_text())
# Multi-choice ballots on the three scenarios, as the choice poll's card submits them.
BALLOTS = ("0", "1", "2", "0,1", "1,2", "0,2", "0,1,2")
FLOOR_DONE = "Done."
LEADER_ATTEMPTS = 4


@dataclass
class Click:
    """One measured action: what, whether the answer was the expected card, how long it took."""

    phase: str
    verb: str
    who: tuple[int, int]  # (meeting, participant)
    status: int
    ok: bool
    started: float
    seconds: float


class Teams:
    """Posts Teams-shaped activities, with the channel's bearer token, to one or more bots."""

    # Several bot URLs are served round-robin, as a load balancer in front of them would.

    def __init__(
        self, session: aiohttp.ClientSession, urls: list[str], service_url: str, token: str
    ) -> None:
        self._session = session
        self._urls = itertools.cycle(urls)
        self._service_url = service_url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._ids = itertools.count(1)

    def activity(self, user: User, chat: Chat, **fields: Any) -> dict[str, Any]:
        """The envelope Teams puts around everything it sends."""
        return envelope(user, chat, self._service_url, f"act-{next(self._ids)}", **fields)

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any, float]:
        """POST one activity: status, JSON body (or None) and seconds until fully read."""
        started = time.perf_counter()
        async with self._session.post(
            f"{next(self._urls)}/api/messages", json=activity, headers=self._headers
        ) as response:
            raw = await response.read()
            seconds = time.perf_counter() - started
            body = json.loads(raw) if raw and response.content_type == "application/json" else None
            return response.status, body, seconds

    async def say(self, user: User, chat: Chat, text: str, *, mention: bool = True) -> int:
        """A typed command (mentioning the bot, as group chats require)."""
        fields = typed(text, mention=mention)
        status, _, _ = await self.post(self.activity(user, chat, **fields))
        return status

    async def execute(
        self, user: User, chat: Chat, card_id: str, verb: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None, float]:
        """An Action.Execute click: status, the card Teams would show, seconds."""
        activity = self.activity(user, chat, **clicked(card_id, verb, data))
        status, body, seconds = await self.post(activity)
        card = body.get("value") if isinstance(body, dict) and body.get("type") == CARD else None
        return status, card, seconds


@dataclass
class Meeting:
    """One meeting chat: its leader and participants, and the ids its cards carry."""

    n: int
    chat: Chat
    leader: User
    people: list[User]
    entity: str = "DESA"
    card_id: str = ""
    sid: str = ""
    agenda_id: str = ""
    poll: str = ""
    poll_card: str = ""
    keys: dict[str, Any] = field(default_factory=dict)
    first: list[str] = field(default_factory=list)
    final: list[str] = field(default_factory=list)

    @classmethod
    def make(cls, n: int, size: int, base: int, entity: str = "DESA") -> Meeting:
        """Meeting n of a run: people with ids unique in the run."""
        start = base + n * 1000
        people = [User.make(f"Participant {n}-{i}", start + 1 + i) for i in range(size)]
        first = [BALLOTS[(n + i) % len(BALLOTS)] for i in range(size)]
        # Every third person changes their mind: the vote-change phase.
        final = [
            BALLOTS[(n + i + 3) % len(BALLOTS)] if i % 3 == 0 else b for i, b in enumerate(first)
        ]
        return cls(
            n, Chat(), User.make(f"Leader {n}", start), people, entity, first=first, final=final
        )

    def changers(self) -> list[int]:
        """Indexes of the people who change their vote."""
        return [i for i in range(len(self.people)) if self.first[i] != self.final[i]]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between ranks; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class PhaseResult:
    """The clicks of one phase and how long the phase took, first send to last answer."""

    name: str
    clicks: list[Click]
    seconds: float
    lag: float  # how late the generator was in sending a paced click, at worst
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process, in the phase


Meter = Callable[[], dict[str, float]]


async def run_phase(
    name: str,
    actions: list[Callable[[], Awaitable[Click]]],
    spread: float,
    rng: random.Random,
    meter: Meter | None = None,
) -> PhaseResult:
    """All actions at once (spread 0) or arriving at random instants over `spread` seconds."""
    before = meter() if meter else {}
    loop = asyncio.get_running_loop()
    begin = loop.time()
    lag = 0.0
    if spread <= 0:
        clicks = await asyncio.gather(*(action() for action in actions))
    else:
        offsets = sorted(rng.uniform(0, spread) for _ in actions)
        order = list(actions)
        rng.shuffle(order)

        async def at(offset: float, action: Callable[[], Awaitable[Click]]) -> Click:
            nonlocal lag
            await asyncio.sleep(max(0.0, begin + offset - loop.time()))
            lag = max(lag, loop.time() - begin - offset)
            return await action()

        clicks = await asyncio.gather(*(at(o, a) for o, a in zip(offsets, order, strict=True)))
    seconds = loop.time() - begin
    after = meter() if meter else {}
    cpu = {k: round(after[k] - before.get(k, 0.0), 2) for k in after}
    return PhaseResult(name, list(clicks), seconds, lag, cpu)


def click(
    teams: Teams,
    phase: str,
    m: Meeting,
    i: int,
    card_id: str,
    verb: str,
    data: dict[str, Any],
    expect: str,
) -> Callable[[], Awaitable[Click]]:
    """Participant i of meeting m clicks; the answer must be a card showing `expect`."""

    async def go() -> Click:
        started = time.perf_counter()
        try:
            status, card, seconds = await teams.execute(m.people[i], m.chat, card_id, verb, data)
        except (aiohttp.ClientError, TimeoutError):
            seconds = time.perf_counter() - started
            return Click(phase, verb, (m.n, i), 0, False, started, seconds)
        ok = status == 200 and card is not None and expect in card_text(card)
        return Click(phase, verb, (m.n, i), status, ok, started, seconds)

    return go


class MeetingFlows:
    """The leader's steps through the real bot, to reach each phase's cards."""

    def __init__(self, teams: Teams, services: Services, session: aiohttp.ClientSession):
        self.teams = teams
        self._services = services
        self._session = session
        #: Leader clicks that failed and were repeated, by verb and HTTP status.
        self.leader_failures: Counter[str] = Counter()

    async def posted(self, chat: Chat, verb: str | None = None, *, required: bool = True) -> Any:
        """The id and content of the newest card posted in the chat offering `verb`, or None."""
        items = await self._services.get(self._session, "posted", conversation=chat.id)
        for item in reversed(items):
            if verb is None or f'"verb": "{verb}"' in json.dumps(item["card"]):
                return item["id"], item["card"]
        if required:
            raise AssertionError(f"no card offering {verb} was posted in {chat.id}")
        return None

    async def leader(
        self,
        m: Meeting,
        card_id: str,
        verb: str,
        data: dict[str, Any],
        *,
        required: bool = True,
    ) -> Any:
        """A leader's click, clicked again on failure like a person would (and counted)."""
        # A step the session can do without (a scenario) is given up after that: None.
        for attempt in range(LEADER_ATTEMPTS):
            status, card, _ = await self.teams.execute(m.leader, m.chat, card_id, verb, data)
            if status == 200 and card is not None:
                return card
            self.leader_failures[f"{verb}:{status}"] += 1
            if attempt + 1 < LEADER_ATTEMPTS:
                await asyncio.sleep(1.0)
        if required:
            raise AssertionError(f"meeting {m.n}: {verb} answered {status}")
        self.leader_failures[f"{verb}:given up"] += 1
        return None

    async def start(self, m: Meeting) -> None:
        """`@bot start`, then the setup card: the sign-in sheet and the session plan appear."""
        for attempt in range(LEADER_ATTEMPTS):
            status = await self.teams.say(m.leader, m.chat, "start")
            setup = await self.posted(m.chat, required=False)
            if status == 201 and setup is not None:
                m.card_id = setup[0]
                break
            # A throttled post of the setup card still answers 201: the leader sees nothing.
            self.leader_failures["start:no card" if status == 201 else f"start:{status}"] += 1
            if attempt + 1 == LEADER_ATTEMPTS:
                raise AssertionError(f"meeting {m.n}: start answered {status}, no setup card")
            await asyncio.sleep(1.0)
        view = await self.leader(m, m.card_id, "setup.submit", {**SETUP, "entity": m.entity})
        m.sid = card_sid(view)
        m.agenda_id, _ = await self.posted(m.chat, "question.log")

    async def next_section(self, m: Meeting) -> None:
        """The leader moves the session plan on by one section."""
        card = await self.leader(m, m.agenda_id, "agenda.view", {"sid": m.sid})
        await self.leader(m, m.agenda_id, "agenda.next", data_of(card, "agenda.next"))

    async def open_poll(self, m: Meeting) -> None:
        """To the scenario discussions, where the group chooses the scenarios in a poll."""
        await self.next_section(m)
        await self.next_section(m)
        await self.leader(m, m.agenda_id, "scenarios.poll", {"sid": m.sid})
        m.poll_card, card = await self.posted(m.chat, "poll.vote")
        m.poll = data_of(card, "poll.vote")["poll"]

    async def close_poll_and_conclude(self, m: Meeting) -> None:
        """Close the poll, discuss two scenarios, conclude: Appendix F opens."""
        await self.leader(m, m.poll_card, "poll.close", {"sid": m.sid, "poll": m.poll})
        choice = {"sid": m.sid, "scenarios": "s1,s2"}
        await self.leader(m, m.agenda_id, "scenarios.choose", choice, required=False)
        for scenario in ("s1", "s2"):
            if await self.leader(m, m.agenda_id, "scenario.next", {"sid": m.sid}, required=False):
                scenario_id, _ = await self.posted(m.chat, "scenario.view")
                wrap = {"sid": m.sid, "scenario": scenario}
                await self.leader(m, scenario_id, "scenario.wrap", wrap, required=False)
        await self.conclude(m)

    async def conclude(self, m: Meeting) -> None:
        """From wherever the plan is, on to the conclusion and conclude."""
        while True:
            card = await self.leader(m, m.agenda_id, "agenda.view", {"sid": m.sid})
            try:
                data = data_of(card, "agenda.next")
            except AssertionError:
                break
            await self.leader(m, m.agenda_id, "agenda.next", data)
        card = await self.leader(m, m.agenda_id, "dialogue.conclude", {"sid": m.sid})
        m.keys = data_of(card, "feedback.open")


def signin_clicks(teams: Teams, meetings: list[Meeting], *, floor: bool) -> list:
    """Everyone clicks Sign in."""
    expect = FLOOR_DONE if floor else TEXT["notice.signed_in"]
    return [
        click(teams, "sign-in", m, i, m.card_id, "signin", {"sid": m.sid}, expect)
        for m in meetings
        for i in range(len(m.people))
    ]


def vote_clicks(teams: Teams, meetings: list[Meeting], *, floor: bool, change: bool) -> list:
    """Everyone votes (or the changers change their vote)."""
    expect = FLOOR_DONE if floor else TEXT["notice.voted"]
    phase = "vote change" if change else "vote"
    return [
        click(
            teams,
            phase,
            m,
            i,
            m.poll_card,
            "poll.vote",
            {"sid": m.sid, "poll": m.poll, "vote": (m.final if change else m.first)[i]},
            expect,
        )
        for m in meetings
        for i in (m.changers() if change else range(len(m.people)))
    ]


def assess_clicks(teams: Teams, meetings: list[Meeting], *, floor: bool) -> list:
    """Everyone submits Appendix F."""
    expect = FLOOR_DONE if floor else TEXT["notice.assessed"]
    return [
        click(
            teams,
            "appendix F",
            m,
            i,
            m.agenda_id,
            "assess.submit",
            {**m.keys, **GOOD_F},
            expect,
        )
        for m in meetings
        for i in range(len(m.people))
    ]


async def gather_limited(limit: int, work: list[Awaitable[Any]]) -> list[Any]:
    """Run the awaitables, at most `limit` at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Awaitable[Any]) -> Any:
        async with gate:
            return await item

    return await asyncio.gather(*(one(w) for w in work))


async def dialogue_workload(
    flows: MeetingFlows,
    meetings: list[Meeting],
    spread: float,
    rng: random.Random,
    meter: Meter | None = None,
) -> list[PhaseResult]:
    """The Dialogue Bot: setup, then sign-in, vote, vote change and Appendix F phases."""
    teams = flows.teams
    await gather_limited(10, [flows.start(m) for m in meetings])
    phases = [
        await run_phase("sign-in", signin_clicks(teams, meetings, floor=False), spread, rng, meter)
    ]
    await gather_limited(10, [flows.open_poll(m) for m in meetings])
    phases.append(
        await run_phase(
            "vote", vote_clicks(teams, meetings, floor=False, change=False), spread, rng, meter
        )
    )
    phases.append(
        await run_phase(
            "vote change",
            vote_clicks(teams, meetings, floor=False, change=True),
            spread,
            rng,
            meter,
        )
    )
    await gather_limited(10, [flows.close_poll_and_conclude(m) for m in meetings])
    phases.append(
        await run_phase(
            "appendix F", assess_clicks(teams, meetings, floor=False), spread, rng, meter
        )
    )
    return phases


async def floor_workload(
    teams: Teams,
    meetings: list[Meeting],
    spread: float,
    rng: random.Random,
    meter: Meter | None = None,
) -> list[PhaseResult]:
    """The same participant clicks against the floor bot (no leader steps: it has no state)."""
    for m in meetings:
        m.card_id = m.agenda_id = m.poll_card = f"{1_000_000 + m.n}"
        m.sid = f"floor{m.n:04d}"
        m.poll = f"poll{m.n:04d}"
        m.keys = {"sid": m.sid}
    return [
        await run_phase("sign-in", signin_clicks(teams, meetings, floor=True), spread, rng, meter),
        await run_phase(
            "vote", vote_clicks(teams, meetings, floor=True, change=False), spread, rng, meter
        ),
        await run_phase(
            "vote change", vote_clicks(teams, meetings, floor=True, change=True), spread, rng, meter
        ),
        await run_phase(
            "appendix F", assess_clicks(teams, meetings, floor=True), spread, rng, meter
        ),
    ]


@dataclass
class Tally:
    """Lost and double-counted actions, with what each check saw."""

    lost: int = 0
    double: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, expected: int, found: int, most: int | None = None) -> None:
        """A count checked against what it should be, or a range up to `most`."""
        # The range: a click that got no acknowledgement may or may not have been stored.
        most = expected if most is None else most
        if found < expected:
            self.lost += expected - found
            self.notes.append(f"{what}: {found} of {expected}")
        elif found > most:
            self.double += found - most
            self.notes.append(f"{what}: {found} for {most}")


def _expected_results(ballots: list[str]) -> list[int]:
    counts = [0, 0, 0]
    for ballot in ballots:
        for option in ballot.split(","):
            counts[int(option)] += 1
    return counts


def acknowledged(phases: list[PhaseResult], verb: str) -> set[tuple[int, int]]:
    """Who was shown the card saying their `verb` click was done."""
    return {c.who for p in phases for c in p.clicks if c.verb == verb and c.ok}


def attempted(phases: list[PhaseResult], verb: str) -> set[tuple[int, int]]:
    """Who clicked `verb`, acknowledged or not."""
    return {c.who for p in phases for c in p.clicks if c.verb == verb}


async def verify_dialogue(
    tables: Tables, meetings: list[Meeting], phases: list[PhaseResult], *, poll_closed: bool
) -> Tally:
    """Read Azurite: every acknowledged sign-in, vote and Appendix F stored once, counts exact."""
    # A refused click ("busy, try again") is a failed click, counted apart; lost means
    # acknowledged and not stored.
    tally = Tally()
    signed = acknowledged(phases, "signin")
    assessed = acknowledged(phases, "assess.submit")
    changes = {c.who for p in phases if p.name == "vote change" for c in p.clicks if c.ok}
    voted = acknowledged(phases, "poll.vote")
    tried_vote = attempted(phases, "poll.vote")
    tried_f = attempted(phases, "assess.submit")
    for m in meetings:
        rows = await tables.partition("attendance", m.sid)
        keys = {r["RowKey"] for r in rows}
        people = {user_key(p.aad_id): (m.n, i) for i, p in enumerate(m.people)}
        wanted = {k for k, who in people.items() if who in signed}
        stored = {k for k in keys if k in people}
        tally.add(f"m{m.n} acknowledged sign-ins stored", len(wanted), len(wanted & stored))
        tally.add(
            f"m{m.n} sheet rows of nobody", 0, len({k for k in keys if k[0] == "u"} - set(people))
        )
        session = await tables.entity("sessions", session_partition(int(CYCLE), m.entity), m.sid)
        tally.add(f"m{m.n} session count = rows", len(stored), int(session.get("Participants", 0)))
        if m.poll:
            voters = [i for i in range(len(m.people)) if (m.n, i) in voted]
            tried = sum(1 for who in tried_vote if who[0] == m.n)
            votes = await tables.partition("votes", m.poll)
            if poll_closed:
                # The close keeps the tally in the poll row and deletes the vote rows.
                tally.add(f"m{m.n} vote rows left after the close", 0, len(votes))
            else:
                tally.add(f"m{m.n} vote rows", len(voters), len(votes), tried)
            poll = await tables.entity("polls", m.sid, m.poll)
            # With a vote click unanswered, its ballot may or may not count: check exact
            # results only where every vote click was acknowledged.
            if poll_closed and len(voters) == tried:
                tally.add(f"m{m.n} voters counted", len(voters), int(poll.get("Voters", 0)))
                final = [m.final[i] if (m.n, i) in changes else m.first[i] for i in voters]
                results = json.loads(poll.get("Results") or "[]")
                for k, want in enumerate(_expected_results(final)):
                    tally.add(f"m{m.n} option {k}", want, results[k] if k < len(results) else 0)
        if any(who[0] == m.n for who in assessed) or m.keys:
            answered = sum(1 for who in assessed if who[0] == m.n)
            stored_f = await tables.partition("assessments", m.sid)
            tried = sum(1 for who in tried_f if who[0] == m.n)
            aggregate = next((r for r in stored_f if r["RowKey"] == "aggregate"), {})
            # The keys of the people folded in, stored in numbered chunks (Folded0, Folded1...).
            folded = json.loads("".join(_chunks(aggregate, "Folded")) or "[]")
            tally.add(f"m{m.n} Appendix F people folded", answered, len(set(folded)), tried)
            tally.add(f"m{m.n} nobody folded twice", len(set(folded)), len(folded))
            ratings = json.loads(aggregate.get("Ratings") or "{}")
            tally.add(f"m{m.n} Appendix F answers", answered, sum(ratings.get("f1", [])), tried)
            # Each stored answer counted exactly once: the counts equal the people folded in.
            tally.add(f"m{m.n} answers = people", len(folded), sum(ratings.get("f1", [])))
    return tally


def _chunks(entity: dict[str, Any], name: str) -> list[str]:
    parts = []
    while (part := entity.get(f"{name}{len(parts)}")) is not None:
        parts.append(part)
    return parts


async def stale_sheet_cards(
    tables: Tables, meetings: list[Meeting], cards: dict[int, dict[str, Any] | None]
) -> list[str]:
    """Meetings whose shared sign-in card, once all is sent, does not show the stored count."""
    stale = []
    for m in meetings:
        rows = await tables.partition("attendance", m.sid)
        signed = sum(1 for r in rows if r["RowKey"].startswith("u"))
        # The count as the card words it, from the English catalog the bot renders it with.
        want = TEXT["signin.count"]["one" if signed == 1 else "other"].format(count=signed)
        if want not in card_text(cards.get(m.n)):
            stale.append(f"m{m.n} shared sheet card does not say {want!r}")
    return stale


async def verify_floor(tables: Tables, meetings: list[Meeting], phases: list[PhaseResult]) -> Tally:
    """Read Azurite: the floor's one row per acknowledged click, each final vote kept."""
    tally = Tally()
    changes = {c.who for p in phases if p.name == "vote change" for c in p.clicks if c.ok}
    for m in meetings:
        rows = {r["RowKey"]: r for r in await tables.partition("floor", m.sid)}
        for verb, poll in (("signin", ""), ("poll.vote", m.poll), ("assess.submit", "")):
            acked = [i for i in range(len(m.people)) if (m.n, i) in acknowledged(phases, verb)]
            found = sum(1 for i in acked if digest(verb, poll, m.people[i].aad_id) in rows)
            tally.add(f"m{m.n} {verb}", len(acked), found)
        voters = [i for i in range(len(m.people)) if (m.n, i) in acknowledged(phases, "poll.vote")]
        kept = sum(
            1
            for i in voters
            if rows.get(digest("poll.vote", m.poll, m.people[i].aad_id), {}).get("Choice")
            == (m.final[i] if (m.n, i) in changes else m.first[i])
        )
        tally.add(f"m{m.n} final votes", len(voters), kept)
    return tally


async def settle(services: Services, session: aiohttp.ClientSession, quiet: float = 3.0) -> None:
    """Wait until the connector has seen nothing new for `quiet` seconds (at most a minute)."""
    deadline = time.monotonic() + 60
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        stats = await services.get(session, "stats")
        seen = sum(stats["delivered"].values()) + sum(stats["failed"].values())
        if seen != last:
            last, since = seen, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.5)


async def broadcast_setup(
    flows: MeetingFlows, meetings: list[Meeting], services: Services, session: aiohttp.ClientSession
) -> None:
    """Concluded sessions whose participants all signed in and none assessed yet."""

    async def one(m: Meeting) -> None:
        await flows.start(m)
        for group in range(0, len(m.people), 5):
            await asyncio.gather(
                *(
                    flows.teams.execute(p, m.chat, m.card_id, "signin", {"sid": m.sid})
                    for p in m.people[group : group + 5]
                )
            )
        await flows.conclude(m)

    await gather_limited(8, [one(m) for m in meetings])
    await settle(services, session)


@dataclass
class Broadcast:
    """The focal point's reminder: how fast it went out and whether everyone got it once."""

    expected: int
    delivered: int
    lost: int
    double: int
    click_seconds: float
    seconds: float
    rate: float
    requests_rate: float
    throttled: int
    unauthorized: int
    token_requests: int


async def broadcast(
    flows: MeetingFlows,
    meetings: list[Meeting],
    services: Services,
    session: aiohttp.ClientSession,
    admin: User,
    entity: str,
) -> Broadcast:
    """An administrator names a focal point; the focal point clicks Remind for the entity."""
    teams = flows.teams
    focal = User.make("Focal Point", 8_888_888)
    room = Chat()
    await services.post(session, "members", {"conversation": room.id, "members": [focal.member()]})
    upn = focal.member()["userPrincipalName"]
    if await teams.say(admin, room, f"focal {entity} {upn}") != 201:
        raise AssertionError("the focal point was not named")
    await services.post(session, "reset")
    personal = Chat(kind="personal", id=f"a:focal-{uuid.uuid4().hex[:8]}")
    status, card, seconds = await teams.execute(
        focal, personal, "1", "focal.remind", {"entity": entity}
    )
    if status != 200 or card is None or TEXT["notice.entity_reminders"] not in card_text(card):
        raise AssertionError(f"focal.remind answered {status}: {card_text(card)[:300]}")
    wanted = {p.mri for m in meetings for p in m.people}
    # Bounded: far more than the spaced sending needs, then give up and count what came.
    deadline = time.monotonic() + 60 + len(wanted) * 0.5
    progress_at, count = time.monotonic(), 0
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = await services.get(session, "stats")
        delivered = sum(stats["personal"].values())
        if delivered != count:
            count, progress_at = delivered, time.monotonic()
        if set(stats["personal"]) >= wanted or time.monotonic() - progress_at > 20:
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(1.0)
    stats = await services.get(session, "stats")
    received = stats["personal"]
    times = stats["personal_times"]
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    requests = sum(stats["delivered"].get(k, 0) for k in ("create_conversation", "send", "reply"))
    return Broadcast(
        expected=len(wanted),
        delivered=sum(received.values()),
        lost=len(wanted - set(received)),
        double=sum(n - 1 for n in received.values() if n > 1),
        click_seconds=seconds,
        seconds=span,
        rate=(len(times) - 1) / span if len(times) > 1 else 0.0,
        requests_rate=requests / span if len(times) > 1 else 0.0,
        throttled=stats["throttled"],
        unauthorized=stats["unauthorized"],
        token_requests=stats["authority"].get("token", 0),
    )


async def knee_clicks(
    teams: Teams,
    meetings: list[Meeting],
    rate: float,
    window: float,
    rng: random.Random,
    meter: Meter | None = None,
) -> PhaseResult:
    """Sign-in re-clicks and vote changes from random people, arriving at `rate` per second."""
    actions = []
    for _ in range(int(rate * window)):
        m = rng.choice(meetings)
        i = rng.randrange(len(m.people))
        if rng.random() < 0.5:
            actions.append(
                click(
                    teams,
                    f"{rate:g}/s",
                    m,
                    i,
                    m.card_id,
                    "signin",
                    {"sid": m.sid},
                    TEXT["notice.details_saved"],
                )
            )
        else:
            actions.append(
                click(
                    teams,
                    f"{rate:g}/s",
                    m,
                    i,
                    m.poll_card,
                    "poll.vote",
                    {"sid": m.sid, "poll": m.poll, "vote": rng.choice(BALLOTS)},
                    TEXT["notice.voted"],
                )
            )
    return await run_phase(f"{rate:g}/s", actions, window, rng, meter)
