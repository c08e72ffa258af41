"""Jobs: work due at a time, run once by whichever bot instance claims it first.

There is no timer in one process: a job is a row of the jobs table. Every instance sweeps now
and then; it lists the due jobs and claims each with one conditional write (the row replaced
under its ETag, running, with a lease). Of several instances sweeping at once exactly one claim
succeeds, so a job runs once; a restart loses nothing, since the row is the job. An instance
that dies while running a job leaves it running: once its lease runs out another may claim it.
Once a job is done (or cancelled, or given up) it never runs again.

Two kinds of jobs, both here: the leader's reminder with the Participant's pre-reading, and the
focal points' reminders before their entity's deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from dialogs.common import require_leader
from dialogs.directory import Contact, Directory
from dialogs.errors import InvalidInput, WrongState
from dialogs.ports import JobStore, RollupStore, SessionStore
from storage import WriteConflict
from storage.records import (
    JOB_CANCELLED,
    JOB_DONE,
    JOB_DUE,
    JOB_FAILED,
    JOB_RUNNING,
    Job,
    Person,
    SessionRecord,
)

log = logging.getLogger(__name__)

PREREADING = "prereading"
DEADLINE = "deadline"
# Long enough for any job to finish (a message, with Teams' retries), short enough that a job
# whose instance died is picked up again the same hour.
LEASE = timedelta(minutes=10)
# A job that keeps failing (Teams refusing the message) is retried this often, then given up.
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=5)

# Runs one claimed job; True when it is finished, False to try again later.
JobHandler = Callable[[Job], Awaitable[bool]]


class Jobs:
    """Claims due jobs one conditional write at a time and runs each with its kind's handler."""

    def __init__(self, store: JobStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._handlers: dict[str, JobHandler] = {}

    def handle(self, kind: str, handler: JobHandler) -> None:
        """Run jobs of this kind with `handler` (registered once, at wiring)."""
        self._handlers[kind] = handler

    async def sweep(self) -> int:
        """Run every due job this instance manages to claim; how many it finished."""
        finished = 0
        for job in await self._store.due(self._clock()):
            claimed = await self._claim(job)
            if claimed is not None and await self._run(claimed):
                finished += 1
        return finished

    async def _claim(self, job: Job) -> Job | None:
        """The job, running under this instance's lease; None when another instance has it."""
        now = self._clock()
        if not job.claimable(now) or job.kind not in self._handlers:
            return None
        try:
            return await self._store.save(
                replace(job, status=JOB_RUNNING, lease_until=now + LEASE, attempts=job.attempts + 1)
            )
        except WriteConflict:
            return None  # another instance claimed (or the leader changed) it first

    async def _run(self, job: Job) -> bool:
        try:
            finished = await self._handlers[job.kind](job)
        except Exception:  # a job must not stop the sweep; it is tried again after a while
            log.exception("job failed kind=%s", job.kind)
            finished = False
        now = self._clock()
        if finished:
            outcome = replace(job, status=JOB_DONE, finished_at=now, lease_until=None)
        elif job.attempts >= MAX_ATTEMPTS:
            outcome = replace(job, status=JOB_FAILED, finished_at=now, lease_until=None)
        else:
            outcome = replace(job, status=JOB_DUE, due_at=now + RETRY_AFTER, lease_until=None)
        try:
            await self._store.save(outcome)
        except WriteConflict:
            # Changed under our claim: cancelled by the leader meanwhile, or (after a lease that
            # ran out) claimed again. Whoever changed it decides what happens next.
            log.warning("job changed while it ran kind=%s", job.kind)
        log.info("job ran kind=%s status=%s attempts=%d", job.kind, outcome.status, job.attempts)
        return outcome.status == JOB_DONE


# The reminder 1–3 days ahead ---------------------------------------------------------------

# The guide's pre-session checklist, "1-3 days ahead": "Send a reminder to participants about
# the date and time for the session. Distribute the Participant's Guide to participants." The
# bot sends it, with the pre-reading of Appendix D, to the meeting chat at the time the leader
# chooses; at most this far ahead (a reminder is for the days before the session).
MAX_AHEAD = timedelta(days=30)


@dataclass(frozen=True)
class ScheduledReminder:
    """The leader's reminder: when it goes (as the leader entered it), and where it stands."""

    job: Job

    @property
    def due_at(self) -> datetime:
        """When it is (or was) due, in UTC."""
        return self.job.due_at

    @property
    def local_due(self) -> datetime:
        """When it is due, at the UTC offset the leader scheduled it from."""
        minutes = int(self.job.payload.get("offset", 0))
        return self.job.due_at.astimezone(timezone(timedelta(minutes=minutes)))

    @property
    def state(self) -> str:
        """`scheduled`, `sending`, `sent`, `cancelled` or `failed`."""
        return {
            JOB_DUE: "scheduled",
            JOB_RUNNING: "sending",
            JOB_DONE: "sent",
            JOB_CANCELLED: "cancelled",
            JOB_FAILED: "failed",
        }[self.job.status]


class PreReadingReminders:
    """The leader schedules, sees and cancels the one reminder of their session."""

    def __init__(
        self, store: JobStore, sessions: SessionStore, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._clock = clock

    def key_for(self, session: SessionRecord) -> str:
        """The job key of a session's reminder: one per session."""
        return self._store.key_for(PREREADING, session.session_id)

    async def of_session(self, session: SessionRecord) -> ScheduledReminder | None:
        """The session's reminder, scheduled, sent or cancelled; None if never scheduled."""
        job = await self._store.get(self.key_for(session))
        return ScheduledReminder(job) if job is not None else None

    def may_schedule(self, session: SessionRecord) -> bool:
        """Whether a reminder may still be scheduled: the session has not begun its plan."""
        return not session.held and session.status == "signin" and not session.stage_seconds

    async def schedule(
        self, session: SessionRecord, caller: Person, data: Mapping[str, Any], zone: tzinfo
    ) -> ScheduledReminder:
        """Schedule (or move) the reminder to the date and time the leader typed, in `zone`."""
        require_leader(session, caller)
        if not self.may_schedule(session):
            raise WrongState("error.reminder_too_late")
        local = _local_moment(data.get("reminder_date"), data.get("reminder_time"), zone)
        due = local.astimezone(UTC)
        now = self._clock()
        if due <= now:
            raise InvalidInput("error.reminder_past", field="reminder_date")
        if local.date() > session.session_date:
            raise InvalidInput("error.reminder_after_session", field="reminder_date")
        if due > now + MAX_AHEAD:
            raise InvalidInput("error.reminder_too_far", field="reminder_date", days=MAX_AHEAD.days)
        offset = local.utcoffset() or timedelta(0)
        job = Job(
            key=self.key_for(session),
            kind=PREREADING,
            due_at=due,
            # Ids only: where the session is stored; the offset only to show the time back.
            payload={
                "cycle": session.cycle,
                "entity": session.entity,
                "session": session.session_id,
                "offset": int(offset.total_seconds() // 60),
            },
            created_by=caller.aad_id,
        )
        stored = await self._store.schedule(job)
        if replace(stored, etag=None) == job:
            return ScheduledReminder(stored)  # newly scheduled (or the same click again)
        # A reminder existed: move it, unless it is being sent or was sent (never twice).
        if stored.status in (JOB_RUNNING, JOB_DONE, JOB_FAILED):
            raise WrongState("error.reminder_already_sent")
        try:
            moved = await self._store.save(replace(job, etag=stored.etag))
        except WriteConflict:
            raise WrongState("error.reminder_already_sent") from None
        return ScheduledReminder(moved)

    async def cancel(self, session: SessionRecord, caller: Person) -> ScheduledReminder:
        """Cancel the scheduled reminder (leader only); a sent one stays sent."""
        require_leader(session, caller)
        job = await self._store.get(self.key_for(session))
        if job is None or job.status == JOB_CANCELLED:
            raise WrongState("error.reminder_none")
        if job.status != JOB_DUE:
            raise WrongState("error.reminder_already_sent")
        try:
            cancelled = await self._store.save(
                replace(job, status=JOB_CANCELLED, finished_at=self._clock())
            )
        except WriteConflict:
            # Claimed by a sweep in the meantime: it is being sent.
            raise WrongState("error.reminder_already_sent") from None
        return ScheduledReminder(cancelled)

    async def session_of(self, job: Job) -> SessionRecord | None:
        """The session a reminder job is for, if it may still be sent (not begun, not ended)."""
        cycle, entity = job.payload.get("cycle"), job.payload.get("entity")
        session_id = str(job.payload.get("session", ""))
        if not isinstance(cycle, int) or not isinstance(entity, str) or not session_id:
            return None
        session = await self._sessions.get(cycle, entity, session_id)
        if session is None or not self.may_schedule(session):
            return None  # the session began, ended or is gone: a reminder would come too late
        return session


def _local_moment(raw_date: Any, raw_time: Any, zone: tzinfo) -> datetime:
    """The card's Input.Date (YYYY-MM-DD) and Input.Time (HH:MM) as a moment in `zone`."""
    try:
        day = date.fromisoformat(str(raw_date))
    except ValueError:
        raise InvalidInput("error.reminder_date", field="reminder_date") from None
    text = str(raw_time or "")
    try:
        at = time.fromisoformat(text) if len(text) in (5, 8) else None
    except ValueError:
        at = None
    if at is None:
        raise InvalidInput("error.reminder_time", field="reminder_time")
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone)


# Deadline reminders to focal points ---------------------------------------------------------

# Days before the entity's deadline (its extension, if granted) at which focal points who have
# not certified are reminded. The guide: "Once you have collected all sign-in sheets (Appendix
# A) for your Entity, summarize the information using Appendix E ... and submit Appendix E
# online ... This will serve as certification that your Entity has concluded the Leadership
# Dialogue"; the FAQ: focal points submit "final participation statistics ... by 31 December".
THRESHOLDS = (30, 14, 7, 1)
# The hour (UTC) of the day a threshold is reached at which its reminder becomes due.
REMIND_AT = time(8, 0, tzinfo=UTC)
# A threshold missed by more than this (the bot was down, the entity added late) is skipped:
# the next one comes instead of a burst of stale reminders.
GRACE = timedelta(days=1)


@dataclass(frozen=True)
class DeadlineNotice:
    """Who to remind of which entity's deadline, and how many days are left."""

    entity: str
    deadline: date
    days: int
    contacts: list[Contact]


class DeadlineReminders:
    """Plans the reminders of each entity's deadline as jobs, and says who each one tells.

    Planned by the sweep, idempotently, when each becomes due (not when the cycle or an entity
    is set): the job's key is the cycle, the entity, the deadline and the threshold, inserted
    only if absent, so every instance may plan at once and a reminder is planned once; and an
    extension (a new deadline) plans fresh reminders without anything left to unplan.
    """

    def __init__(
        self,
        store: JobStore,
        rollup: RollupStore,
        directory: Directory,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._rollup = rollup
        self._directory = directory
        self._clock = clock

    async def plan(self) -> int:
        """Insert the reminders due now for every active, uncertified entity; how many."""
        now = self._clock()
        cycle = await self._directory.cycle()
        certified = await self._rollup.certifications(cycle.year)
        planned = 0
        for entity in await self._directory.entities():
            if entity.code in certified:
                continue
            deadline = self._directory.deadline(cycle, entity)
            for days in THRESHOLDS:
                due = datetime.combine(deadline - timedelta(days=days), REMIND_AT)
                if not due <= now < due + GRACE:
                    continue
                await self._store.schedule(
                    Job(
                        key=self._store.key_for(
                            DEADLINE, str(cycle.year), entity.code, str(deadline), str(days)
                        ),
                        kind=DEADLINE,
                        due_at=due,
                        payload={
                            "cycle": cycle.year,
                            "entity": entity.code,
                            "deadline": deadline.isoformat(),
                            "days": days,
                        },
                    )
                )
                planned += 1
        return planned

    async def notice(self, job: Job) -> DeadlineNotice | None:
        """Who a claimed reminder tells; None when it no longer applies (certified since, a new
        deadline, another cycle, the entity deactivated, or too late)."""
        cycle = await self._directory.cycle()
        entity = await self._directory.entity(job.payload.get("entity"))
        if entity is None or not entity.active or job.payload.get("cycle") != cycle.year:
            return None
        deadline = self._directory.deadline(cycle, entity)
        if job.payload.get("deadline") != deadline.isoformat():
            return None
        if self._clock() >= job.due_at + GRACE:
            return None
        if entity.code in await self._rollup.certifications(cycle.year):
            return None
        days = job.payload.get("days")
        return DeadlineNotice(
            entity.code,
            deadline,
            days if isinstance(days, int) else 0,
            await self._directory.focal_contacts(entity.code),
        )
