"""The Dialogue's services and journeys, wired to one store and one adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from botbuilder.integration.aiohttp import CloudAdapter

from bot.after.actions import AfterActions
from bot.after.views import AfterViews
from bot.meeting.actions import MeetingActions
from bot.meeting.views import MeetingViews
from bot.polls.actions import PollActions
from bot.polls.views import PollViews
from bot.prepare.actions import PrepareActions
from bot.prepare.views import PrepareViews
from bot.rollup.actions import RollupActions
from bot.rollup.deadlines import DeadlineActions
from bot.rollup.downloads import Downloads
from bot.rollup.ethics import EthicsReadActions
from bot.rollup.ethics_views import EthicsViews
from bot.rollup.views import RollupViews
from bot.session.actions import DialogueActions
from bot.session.reminders import ReminderActions
from bot.session.shared_cards import SharedCards
from bot.session.views import DialogueViews
from bot.settings import Settings
from bot.signin.actions import SignInActions
from bot.signin.views import SignInViews
from bot.teams.card_updates import CardUpdater, Coalescer
from bot.teams.edits import CardEdits
from bot.teams.graph import GraphClient, GraphTokens
from bot.teams.meetings import MeetingApi
from bot.teams.outbound import Outbound
from bot.teams.pacing import ChatPacer
from bot.teams.replies import Replies
from bot.teams.router import DialogueBot, Journey
from bot.web.identity import WebIdentity
from bot.web.meeting import MeetingPages
from cards.content import ContentPack
from cards.library import PackLibrary
from cards.renderer import CardRenderer
from dialogs.assessment import AssessmentService
from dialogs.directory import Directory
from dialogs.ethics_reads import EthicsOfficeReads
from dialogs.feedback import LeaderFeedbackService
from dialogs.jobs import DEADLINE, PREREADING, DeadlineReminders, Jobs, PreReadingReminders
from dialogs.leadership import Leadership, SetupRequests
from dialogs.polls import PollService
from dialogs.queue import QuestionQueue
from dialogs.rollup import RollupService
from dialogs.session import DialogueService
from dialogs.signin import SignInService
from storage import TableStore

# How often each instance closes the Appendix F assessments whose time has come, so that they
# close even if nobody looks; closes are idempotent, so every instance may run it.
ASSESSMENT_SWEEP_SECONDS = 3600.0


@dataclass(frozen=True)
class Sweep:
    """Work every instance runs now and then (idempotent, so instances need not agree)."""

    name: str
    seconds: float
    work: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Wired:
    """What the app serves with: the router, the background work to settle, the sweeps."""

    bot: DialogueBot
    downloads: Downloads
    meeting_views: MeetingViews
    updater: CardUpdater
    edits: CardEdits
    outbound: Outbound
    totals: Coalescer
    sweeps: tuple[Sweep, ...]
    # What the web views read (they render; they never write).
    directory: Directory
    rollup: RollupService
    rollup_views: RollupViews
    meeting: MeetingPages
    graph: GraphClient | None = None

    async def close(self) -> None:
        """Close the clients the journeys opened (at shutdown)."""
        await self.edits.close()
        if self.graph is not None:
            await self.graph.close()

    async def flush(self) -> None:
        """Settle background work (at shutdown, and in tests)."""
        # Background work triggers more (a sheet update refreshes totals): settle it all.
        for _ in range(3):
            await self.outbound.flush()
            await self.updater.flush()
            await self.totals.flush()


async def wire(
    settings: Settings,
    store: TableStore,
    adapter: CloudAdapter,
    renderer: CardRenderer,
    library: PackLibrary,
    clock: Callable[[], datetime],
    web_identity: WebIdentity,
    *,
    pacer: ChatPacer,
) -> Wired:
    """Every service over the store, every journey over the services, and the router."""
    directory = Directory(
        store.directory, admins=settings.admin_ids, packs=library.ids(), clock=clock
    )
    # The settings seed the cycle and entities on first start; admins manage them after.
    await directory.seed(
        settings.cycle,
        settings.content_pack,
        [(e.code, e.name) for e in settings.entities],
    )
    polls = PollService(
        store.polls,
        store.sessions,
        settings.anonymity_secret,
        clock,
        timeout=timedelta(minutes=settings.poll_timeout_minutes),
        # Called only once the app serves, when `shared` exists: a poll closed at the
        # conclusion, at `end` or by its timeout shows it on its card.
        on_close=lambda session, poll: shared.poll(session, poll.poll_id),
    )
    signin = SignInService(
        store.sessions, store.attendance, directory=directory, polls=polls, clock=clock
    )
    rollup = RollupService(store.sessions, store.rollup, store.attendance, directory, clock)
    dialogue = DialogueService(store.sessions, store.questions, library, polls, clock)
    replies = Replies(renderer)
    signin_views = SignInViews(renderer, replies, directory)
    reminders = PreReadingReminders(store.jobs, store.sessions, clock)
    dialogue_views = DialogueViews(
        renderer, replies, dialogue, videos=directory.videos, reminders=reminders
    )
    poll_views = PollViews(renderer, replies, polls)
    meeting_views = MeetingViews(renderer, replies)
    edits = CardEdits(adapter, settings.app_id, pacer)
    updater = CardUpdater(edits, settings.card_update_interval, instances=pacer.shares)
    totals = Coalescer(settings.card_update_interval * 2, spread=pacer.shares)
    shared = SharedCards(updater, signin_views, dialogue_views, poll_views, signin, rollup, totals)
    outbound = Outbound(adapter, settings.app_id)
    feedback = LeaderFeedbackService(store.feedback, clock)
    assessment = AssessmentService(
        store.assessments,
        store.attendance,
        settings.anonymity_secret,
        settings.assessment_min_answers,
        clock,
        timedelta(days=settings.assessment_open_days),
        sessions=store.sessions,
    )
    after_views = AfterViews(renderer, replies, settings.assessment_min_answers)
    after = AfterActions(
        settings,
        directory,
        rollup,
        signin,
        dialogue,
        feedback,
        assessment,
        QuestionQueue(store.queue, settings.admin_ids, clock, signin),
        dialogue_views,
        replies,
        after_views,
        outbound,
    )
    ethics_reads = EthicsOfficeReads(directory, signin, feedback, assessment, library)
    downloads = Downloads(
        settings.anonymity_secret,
        settings.public_base_url,
        rollup,
        directory,
        renderer,
        ethics_reads,
    )
    rollup_views = RollupViews(renderer, replies)
    rollup_actions = RollupActions(
        directory,
        rollup,
        signin,
        feedback,
        after,
        signin_views,
        replies,
        rollup_views,
        downloads,
        outbound,
        library,
        Leadership(store.sessions, store.attendance, directory, polls),
        shared,
    )
    setups = SetupRequests(store.setups, store.sessions, clock)
    reminder_actions = ReminderActions(
        signin, dialogue, reminders, dialogue_views, replies, outbound
    )
    jobs = Jobs(store.jobs, clock)
    jobs.handle(PREREADING, reminder_actions.send)
    deadlines = DeadlineReminders(store.jobs, store.rollup, directory, clock)
    # Teams knows a bot as "28:" and its app id (the id a personal chat is opened with).
    deadline_actions = DeadlineActions(
        deadlines, directory, replies, outbound, f"28:{settings.app_id}"
    )
    jobs.handle(DEADLINE, deadline_actions.send)

    async def run_jobs() -> int:
        # Planning is idempotent and claims are conditional: every instance runs both.
        await deadlines.plan()
        return await jobs.sweep()

    # The attendance report needs the app's own credentials (app-only Graph token); without
    # them (--dev) the leader's comparison says it is unavailable.
    graph = (
        GraphClient(
            settings.graph_base_url,
            GraphTokens(
                settings.app_id,
                settings.app_password,
                settings.graph_authority,
                settings.graph_scope,
                validate_authority=settings.validate_authority,
            ),
        )
        if settings.app_id and settings.app_password
        else None
    )
    meetings = MeetingApi()
    signin_actions = SignInActions(
        signin,
        dialogue,
        signin_views,
        dialogue_views,
        shared,
        clock,
        setups,
        replies,
        meetings,
        graph=graph,
    )
    meeting_actions = MeetingActions(
        signin,
        dialogue,
        assessment,
        signin_views,
        dialogue_views,
        meeting_views,
        shared,
        outbound,
        meetings,
        store.dedupe.first_delivery,
        lambda session: after_views.reminder(session, session.language),
        settings.public_base_url,
        clock,
    )
    # The order of the journeys is the order of the help card's commands.
    journeys: list[Journey] = [
        signin_actions,
        DialogueActions(
            signin,
            dialogue,
            polls,
            dialogue_views,
            poll_views,
            replies,
            shared,
            after.post_conclusion_reminder,
        ),
        PollActions(signin, dialogue, polls, dialogue_views, poll_views, shared),
        reminder_actions,
        after,
        rollup_actions,
        PrepareActions(directory, library, signin, dialogue, PrepareViews(renderer, replies)),
        EthicsReadActions(ethics_reads, EthicsViews(renderer), downloads),
        meeting_actions,
    ]

    async def current_pack(lang: str) -> ContentPack:
        return library.get((await directory.cycle()).pack, lang)

    bot = DialogueBot(
        replies,
        journeys,
        on_join=signin_actions.joined,
        current_pack=current_pack,
        events=meeting_actions.events(),
    )
    return Wired(
        bot=bot,
        downloads=downloads,
        meeting_views=meeting_views,
        updater=updater,
        edits=edits,
        outbound=outbound,
        totals=totals,
        meeting=MeetingPages(
            web_identity,
            signin,
            dialogue,
            polls,
            dialogue_views,
            poll_views,
            shared,
            outbound,
            replies,
            clock,
        ),
        sweeps=(
            Sweep("assessment", ASSESSMENT_SWEEP_SECONDS, assessment.close_due),
            Sweep("poll", settings.poll_sweep_seconds, polls.sweep),
            Sweep("jobs", settings.job_sweep_seconds, run_jobs),
        ),
        graph=graph,
        directory=directory,
        rollup=rollup,
        rollup_views=rollup_views,
    )
