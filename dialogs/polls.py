"""Quick anonymous polls: one changeable vote per person, no person id stored, tally on close.

Anonymity: a vote's key is HMAC(secret, poll salt + voter). The salt lives in the poll row only
while the poll is open. Closing writes the tally into the poll row and deletes the salt, then
deletes the vote rows, so afterwards nobody, holding the secret or not, can link a vote to a
person. Every poll closes: by its leader, at the conclusion, at `end`, and once it is older than
the timeout (when it is next read, or by the periodic sweep, whichever comes first).
Close is exact: its storage time is the cut-off, and a vote written after it is removed and
its voter told, so no vote is counted without its voter being told so, or the reverse.
Counts are shown only once the poll is closed, and to nobody below MIN_VOTERS voters: counts
that move with each vote would tell anyone looking twice how the person between voted, and with
one or two votes a count tells a voter (or the leader) how the other person voted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from dialogs.common import change, directors, is_director, require_director
from dialogs.errors import InvalidInput, WrongState
from dialogs.forms import clean_text
from dialogs.ports import PollStore, SessionStore
from storage.errors import StorageUnavailable
from storage.keys import digest, normalized_name
from storage.records import Person, PollRecord, SessionRecord

log = logging.getLogger(__name__)

MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_QUESTION = 300
MAX_OPTION = 100
# Below this many voters nobody sees counts: one or two votes would tell whose vote is whose.
MIN_VOTERS = 3
# The Dialogue is 90 minutes: a poll still open well past that was forgotten, not running.
DEFAULT_TIMEOUT = timedelta(minutes=120)
# How long a vote waits for a closing poll to record its cut-off before giving up.
_CLOSE_WAIT_SECONDS = 2.0
# Open polls remembered per process; a session opens a handful.
_OPEN_KEPT = 2_000


@dataclass(frozen=True)
class Tally:
    """Counts per option (all zero while the poll is open: nobody reads them) and how many voted."""

    counts: list[int]
    voters: int

    @property
    def showable(self) -> bool:
        """Whether enough people voted for counts to be shown to anyone."""
        return self.voters >= MIN_VOTERS


def results_shown(poll: PollRecord, tally: Tally) -> bool:
    """Whether anyone may see the counts: once the poll is closed, and from MIN_VOTERS voters."""
    # Counts that move with each vote would tell anyone looking twice how the person between
    # voted: the chat cards and the meeting stage both show them only once they stop moving.
    return poll.status != "open" and tally.showable


@dataclass(frozen=True)
class VoteResult:
    """What happened to one vote."""

    poll: PollRecord
    choices: list[int]
    tally: Tally


class PollService:
    """Opens, counts and closes polls; every vote is validated on the server."""

    def __init__(
        self,
        polls: PollStore,
        sessions: SessionStore,
        secret: str,
        clock: Callable[[], datetime],
        *,
        timeout: timedelta = DEFAULT_TIMEOUT,
        on_close: Callable[[SessionRecord, PollRecord], None] | None = None,
    ) -> None:
        self._polls = polls
        self._sessions = sessions
        self._secret = secret.encode("utf-8")
        self._clock = clock
        self._timeout = timeout
        # Told of every poll closed without its leader's click, so its card can show it.
        self._on_close = on_close
        # Open polls as last read: what a vote needs (salt, options) never changes while a poll
        # is open, and every vote re-reads the poll after writing, which catches a close.
        self._open: OrderedDict[str, PollRecord] = OrderedDict()

    async def open(
        self,
        session: SessionRecord,
        caller: Person,
        *,
        kind: str,
        question: str,
        options: Sequence[str],
        ref: str = "",
        multiple: bool = False,
        closes_at: datetime | None = None,
    ) -> PollRecord:
        """Open a poll (leader or facilitator); opening the same poll again returns it.

        `closes_at`: for a poll opened ahead of the session, when it closes by itself (at the
        latest; the timeout after it opened if that is later).
        """
        require_director(session, caller)
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise InvalidInput("error.poll_options", low=MIN_OPTIONS, high=MAX_OPTIONS)
        identity = ref or normalized_name(question) + "\x1f" + "\x1f".join(options)
        poll = PollRecord(
            poll_id=digest("poll", session.session_id, kind, identity, length=24),
            session_id=session.session_id,
            kind=kind,
            question=question,
            options=list(options),
            created_at=self._clock(),
            multiple=multiple,
            ref=ref,
            salt=secrets.token_hex(16),
            closes_at=closes_at,
            barred=barred_from(session),
        )
        created = await self._polls.create(poll, cycle=session.cycle, entity=session.entity)
        # The facilitator may have changed while the poll was being made (another instance):
        # its list then follows the session as stored now.
        stored = await self._sessions.get(session.cycle, session.entity, session.session_id)
        if stored is not None and created.barred not in (None, barred_from(stored)):
            await self._bar_as(stored)
            created = await self.get(session, created.poll_id)
        return created

    async def open_adhoc(
        self, session: SessionRecord, caller: Person, data: Mapping[str, Any]
    ) -> PollRecord:
        """The leader's or facilitator's own poll: a question, 2 to 10 options a line each."""
        require_director(session, caller)
        question = clean_text(
            data.get("poll_question"), field="poll_question", max_length=MAX_QUESTION, required=True
        )
        raw = data.get("poll_options")
        if not isinstance(raw, str):
            raise InvalidInput("error.poll_options", low=MIN_OPTIONS, high=MAX_OPTIONS)
        options: list[str] = []
        for line in raw.replace("\r", "\n").split("\n"):
            option = clean_text(line, field="poll_options", max_length=MAX_OPTION, required=False)
            if option and option not in options:
                options.append(option)
        return await self.open(session, caller, kind="adhoc", question=question, options=options)

    async def get(self, session: SessionRecord, poll_id: Any) -> PollRecord:
        """A poll of this session; anything else is refused."""
        if not isinstance(poll_id, str) or not poll_id.isalnum() or len(poll_id) > 64:
            raise InvalidInput("error.unknown_poll", field="poll")
        poll = await self._polls.get(session.session_id, poll_id)
        if poll is None:
            raise InvalidInput("error.unknown_poll", field="poll")
        self._remember(poll)
        return await self._expire(session, poll)

    async def of_session(self, session: SessionRecord) -> list[PollRecord]:
        """The session's polls, each closed first if its time is past (as `get` does)."""
        return [
            await self._expire(session, poll)
            for poll in await self._polls.for_session(session.session_id)
        ]

    async def for_vote(self, session: SessionRecord, poll_id: Any) -> PollRecord:
        """A poll of this session to vote in: as last read while it was open, else read now."""
        known = self._open.get(poll_id) if isinstance(poll_id, str) else None
        if known is not None and known.session_id == session.session_id:
            return await self._expire(session, known)
        return await self.get(session, poll_id)

    async def open_polls(self, session: SessionRecord) -> list[PollRecord]:
        """The session's polls still open, oldest first (to show them again)."""
        stored = await self._polls.for_session(session.session_id)
        polls = [await self._expire(session, p) for p in sorted(stored, key=lambda p: p.created_at)]
        return [p for p in polls if p.status == "open"]

    async def close_all(self, session: SessionRecord) -> list[PollRecord]:
        """Close every poll of the session still open (conclusion, `end`); what was closed.

        Also finishes any close left half done (vote rows not yet deleted).
        """
        closed = []
        for poll in await self._polls.for_session(session.session_id):
            was_open = poll.status != "closed"
            poll = await self._finish_close(poll)
            if was_open:
                closed.append(poll)
                self._told(session, poll)
        return closed

    async def sweep(self) -> int:
        """Close every poll, in any session, older than the timeout; how many were closed.

        Safe on any number of instances at once: each step is conditional or idempotent.
        """
        closed = 0
        for entry in await self._polls.open_before(self._clock() - self._timeout):
            poll = await self._polls.get(entry.session_id, entry.poll_id)
            if poll is None:
                await self._polls.unindex(entry.poll_id)
                continue
            if poll.status == "open" and not self._expired(poll):
                continue  # asked ahead of the session: open until its own closing time
            was_open = poll.status != "closed"
            poll = await self._finish_close(poll)
            if was_open:
                closed += 1
                session = await self._sessions.get(entry.cycle, entry.entity, entry.session_id)
                if session is not None:
                    self._told(session, poll)
        if closed:
            log.info("poll sweep closed=%d", closed)
        return closed

    async def attach_card(self, poll: PollRecord, card_id: str) -> PollRecord:
        """Remember which message shows the poll."""
        return await self._change(poll, lambda p: replace(p, card_id=card_id))

    async def vote(
        self, poll: PollRecord, voter: Person, choice: Any, session: SessionRecord
    ) -> VoteResult:
        """Store or change the voter's choice while the poll is open; who runs it may not vote."""
        if session.is_leader(voter.aad_id):
            # The leader runs the poll; their vote would sway the quieter colleagues it is for.
            raise WrongState("error.leader_votes")
        if is_director(session, voter.aad_id):
            # The facilitator is a participant, but while facilitating runs the poll as the
            # leader does. The guide's "Your role as the session facilitator": "your role is not
            # to lecture or to provide answers but to guide the learning experience in a way
            # that allows your team to arrive at important understandings on their own". And
            # whoever decides when a poll closes must not also hold one of its votes: closing it
            # at exactly MIN_VOTERS, they would read the other two votes from the tally.
            raise WrongState("error.facilitator_votes")
        if poll.status != "open" or not poll.salt:
            raise WrongState("error.poll_closed")
        choices = _parse_choices(choice, len(poll.options), poll.multiple)
        key = self._voter_key(poll, voter)
        written = await self._polls.put_vote(poll.poll_id, key, choices)
        # Is the poll still open, and how many have voted: two reads, asked at the same time.
        current, voters = await asyncio.gather(
            self._polls.get(poll.session_id, poll.poll_id), self._polls.voter_count(poll.poll_id)
        )
        if current is not None:
            self._remember(current)
        barred = await self._barred(current, voter, session) if current is not None else None
        if barred is not None:
            # Named leader or facilitator since the copy of the session this vote was decided on.
            await self._polls.delete_vote(poll.poll_id, key)
            raise WrongState(barred)
        if current is not None and current.status != "open":
            cutoff = await self._cutoff(current)
            if cutoff is None or written > cutoff:
                await self._polls.delete_vote(poll.poll_id, key)
                raise WrongState("error.poll_closed")
            return VoteResult(current, choices, await self.tally(current))
        poll = current or poll
        return VoteResult(poll, choices, _unread(poll, voters))

    async def _barred(self, poll: PollRecord, voter: Person, session: SessionRecord) -> str | None:
        """Why the voter may not vote in this poll as stored now (read after their vote): the
        refusal's key, or None."""
        barred = poll.barred
        if barred is None:
            # A poll stored before it listed who may not vote: the session says.
            stored = await self._sessions.get(session.cycle, session.entity, session.session_id)
            barred = barred_from(stored) if stored is not None else ()
        if voter.aad_id not in barred:
            return None
        # The leader comes first in the list, as in `directors`.
        return "error.leader_votes" if barred[0] == voter.aad_id else "error.facilitator_votes"

    async def bar(self, session: SessionRecord, *, also: Sequence[Person] = ()) -> None:
        """After the leader or facilitator changed (or before: `also`): each open poll lists
        who may not vote as the session is stored now, plus `also`, and each of them loses any
        vote they hold.

        Votes may be decided on a copy of the session a few seconds old; each re-reads its poll
        after writing and takes itself back if its voter is listed. A vote whose re-read came
        before the list changed was written before it, so the deletion here takes it back. The
        session is read here, not taken from the caller: two changes racing end with the list
        of whichever was stored last.
        """
        stored = await self._sessions.get(session.cycle, session.entity, session.session_id)
        if stored is not None:
            await self._bar_as(stored, also)

    async def follow(self, session: SessionRecord) -> None:
        """`bar`, once the change is stored: if the polls cannot follow, they keep barring at
        least whom they barred (a new leader or facilitator was barred before), so the change
        is not reported as failed."""
        try:
            await self.bar(session)
        except StorageUnavailable:
            log.warning("open polls keep who may not vote session=%s", session.session_id)

    async def _bar_as(self, stored: SessionRecord, also: Sequence[Person] = ()) -> None:
        people = [*directors(stored), *(p for p in also if not is_director(stored, p.aad_id))]
        barred = tuple(p.aad_id for p in people)
        for poll in await self._polls.for_session(stored.session_id):
            if poll.status == "open" and poll.salt and poll.barred != barred:
                poll = await self._change(
                    poll, lambda p: replace(p, barred=barred) if p.status == "open" else p
                )
            if poll.status != "open" or not poll.salt:
                continue
            for person in people:
                await self._polls.delete_vote(poll.poll_id, self._voter_key(poll, person))

    async def my_vote(self, poll: PollRecord, voter: Person) -> list[int] | None:
        """The voter's current choice while the poll is open (after close, nobody can tell)."""
        if poll.status != "open" or not poll.salt:
            return None
        return await self._polls.get_vote(poll.poll_id, self._voter_key(poll, voter))

    async def tally(self, poll: PollRecord) -> Tally:
        """Counts per option: the stored final results once closed; while open, only how many
        have voted (the counts nobody may see are not read)."""
        if poll.status == "closed" and poll.results is not None:
            return Tally(list(poll.results), poll.voters)
        if poll.status == "open":
            return _unread(poll, await self._polls.voter_count(poll.poll_id))
        votes = await self._polls.votes(poll.poll_id)
        return _count([choices for choices, _ in votes], len(poll.options))

    async def reveal(self, poll: PollRecord, caller: Person, session: SessionRecord) -> PollRecord:
        """Show the results to everyone (leader or facilitator): the poll closes first.

        Results shown while votes still arrive would change with each vote, and two looks
        would tell how the person who voted between them voted.
        """
        closed = await self.close(poll, caller, session)
        return await self._change(closed, lambda p: replace(p, revealed=True))

    async def close(self, poll: PollRecord, caller: Person, session: SessionRecord) -> PollRecord:
        """Close the poll (leader or facilitator): final results stored, salt and votes deleted."""
        require_director(session, caller)
        return await self._finish_close(poll)

    async def _expire(self, session: SessionRecord, poll: PollRecord) -> PollRecord:
        """The poll, closed first if it is older than the timeout."""
        if poll.status == "closed" or not self._expired(poll):
            return poll
        closed = await self._finish_close(poll)
        self._told(session, closed)
        return closed

    def _expired(self, poll: PollRecord) -> bool:
        """Whether an open poll has outlived its time: the timeout, or its own closing time."""
        ends = poll.created_at + self._timeout
        if poll.closes_at is not None:
            ends = max(ends, poll.closes_at)
        return self._clock() >= ends

    def _told(self, session: SessionRecord, poll: PollRecord) -> None:
        if self._on_close is not None:
            self._on_close(session, poll)

    async def _finish_close(self, poll: PollRecord) -> PollRecord:
        """Close the poll if open, then delete its votes and its index entry.

        In this order, so that a failure never loses the tally: the tally and the salt's
        deletion are one write of the poll row; the votes go after it, the index entry last,
        so a retry or the sweep finishes what a failure left.
        """
        closed = await self._close(poll)
        deleted = await self._polls.delete_votes(closed.poll_id)
        await self._polls.unindex(closed.poll_id)
        if deleted:
            log.info("poll votes deleted poll=%s votes=%d", closed.poll_id, deleted)
        return closed

    async def _close(self, poll: PollRecord) -> PollRecord:
        """Store the final results and delete the salt (a closed poll is returned as it is)."""
        now = self._clock()
        closing = await self._change(
            poll, lambda p: p if p.status != "open" else replace(p, status="closing", closed_at=now)
        )
        if closing.status == "closed":
            return closing
        cutoff = await self._polls.server_time_of(closing.session_id, closing.poll_id)
        votes = await self._polls.votes(closing.poll_id)
        tally = _count([c for c, at in votes if at <= cutoff], len(closing.options))
        closed = await self._change(
            closing,
            lambda p: (
                p
                if p.status == "closed"
                else replace(
                    p,
                    status="closed",
                    salt="",
                    cutoff=cutoff,
                    results=tally.counts,
                    voters=tally.voters,
                )
            ),
        )
        log.info("poll closed poll=%s voters=%d", closed.poll_id, closed.voters)
        return closed

    async def _cutoff(self, poll: PollRecord) -> datetime | None:
        """The storage time at which a closing poll stopped taking votes."""
        waited = 0.0
        while poll.status == "closing" and waited < _CLOSE_WAIT_SECONDS:
            await asyncio.sleep(0.1)
            waited += 0.1
            fresh = await self._polls.get(poll.session_id, poll.poll_id)
            if fresh is None:
                return None
            poll = fresh
        # The close's cut-off is the storage time of its first write; results were counted to it.
        return poll.cutoff if poll.status == "closed" else None

    def _voter_key(self, poll: PollRecord, voter: Person) -> str:
        message = f"{poll.salt}\x1f{poll.poll_id}\x1f{voter.aad_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]

    async def _change(
        self, poll: PollRecord, edit: Callable[[PollRecord], PollRecord]
    ) -> PollRecord:
        changed = await change(
            poll,
            edit,
            self._polls.save,
            lambda: self._polls.get(poll.session_id, poll.poll_id),
            InvalidInput("error.unknown_poll", field="poll"),
        )
        self._remember(changed)
        return changed

    def _remember(self, poll: PollRecord) -> None:
        if poll.status != "open" or not poll.salt:
            self._open.pop(poll.poll_id, None)
            return
        self._open[poll.poll_id] = poll
        self._open.move_to_end(poll.poll_id)
        while len(self._open) > _OPEN_KEPT:
            self._open.popitem(last=False)


def _parse_choices(choice: Any, count: int, multiple: bool) -> list[int]:
    """Card choices arrive as "2" or "0,2": only offered options, once each."""
    if isinstance(choice, int) and not isinstance(choice, bool):
        raw = [str(choice)]
    elif isinstance(choice, str):
        raw = [c.strip() for c in choice.split(",") if c.strip()]
    else:
        raise InvalidInput("error.unknown_option", field="vote")
    if not raw or (len(raw) > 1 and not multiple):
        raise InvalidInput("error.unknown_option", field="vote")
    try:
        picks = [int(c) for c in raw]
    except ValueError:
        raise InvalidInput("error.unknown_option", field="vote") from None
    if any(not 0 <= p < count for p in picks) or len(set(picks)) != len(picks):
        raise InvalidInput("error.unknown_option", field="vote")
    return picks


def barred_from(session: SessionRecord) -> tuple[str, ...]:
    """Who may not vote in the session's polls: its leader and any facilitator."""
    return tuple(p.aad_id for p in directors(session))


def _unread(poll: PollRecord, voters: int) -> Tally:
    """An open poll's tally: how many voted, and zero for each option (counts are not read)."""
    return Tally([0] * len(poll.options), voters)


def _count(votes: list[list[int]], options: int) -> Tally:
    counts = [0] * options
    for choices in votes:
        for pick in choices:
            if 0 <= pick < options:
                counts[pick] += 1
    return Tally(counts, len(votes))
