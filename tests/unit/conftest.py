"""The unit tier: the rules of dialogs/ on the in-memory fakes; no HTTP, no Azurite."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cards.library import PackLibrary
from cards.packs import load_all
from dialogs.assessment import AssessmentService
from dialogs.directory import Directory
from dialogs.feedback import LeaderFeedbackService
from dialogs.leadership import Leadership, SetupRequests
from dialogs.polls import PollService
from dialogs.queue import QuestionQueue
from dialogs.rollup import RollupService
from dialogs.session import DialogueService
from dialogs.signin import Chat, Sheet, SignInService
from storage.records import Person
from testing.fakes import FakeStore

ENTITIES = [
    ("DESA", "Department of Economic and Social Affairs"),
    ("DPO", "Department of Peace Operations"),
    ("OICT", "Office of Information and Communications Technology"),
]


# These names shadow the fixtures of tests/conftest.py that start processes: a unit test that
# asks for one (directly or through `bot`, `make_settings`, ...) fails instead of waiting.
@pytest.fixture(scope="session")
def azurite() -> None:
    """Refused here: the unit tier runs without Azurite."""
    pytest.fail("tests/unit runs on testing/fakes.py; Azurite belongs to tests/contract and app")


@pytest.fixture(scope="session")
def connector() -> None:
    """Refused here: the unit tier runs without HTTP."""
    pytest.fail("tests/unit calls dialogs/ directly; the connector belongs to tests/app")


@pytest.fixture(scope="session")
def library() -> PackLibrary:
    """The content packs, loaded once (a third of a second)."""
    return PackLibrary(load_all())


@pytest.fixture
def store(clock) -> FakeStore:
    """Fresh in-memory repositories; storage's own time follows the test's clock."""
    return FakeStore(storage_time=clock)


@pytest.fixture
def persons(people) -> list[Person]:
    """The colleagues of tests/conftest.py as dialogs/ sees them: persons[0] leads."""
    return [Person(u.aad_id, u.mri, u.name) for u in people]


@pytest.fixture
def leader(persons) -> Person:
    """The discussion leader."""
    return persons[0]


@pytest.fixture
def admin() -> Person:
    """An Ethics Office administrator (from the settings)."""
    return Person("admin-aad", "29:admin", "Ethics Admin")


@pytest.fixture
async def directory(store, library, clock, admin) -> Directory:
    """The directory service on the fake, seeded like a first start."""
    service = Directory(
        store.directory, admins=frozenset({admin.aad_id}), packs=library.ids(), clock=clock
    )
    await service.seed(2026, "2023", ENTITIES)
    return service


SECRET = "unit-tier-anonymity-secret"
MIN_ANSWERS = 5


@pytest.fixture
def closed_polls() -> list[tuple[str, str]]:
    """(session id, poll id) of every poll closed without its leader's click, as told."""
    return []


@pytest.fixture
def polls(store, clock, closed_polls) -> PollService:
    """The poll service on the fakes (timeout: the default two hours)."""
    return PollService(
        store.polls,
        store.sessions,
        SECRET,
        clock,
        on_close=lambda session, poll: closed_polls.append((session.session_id, poll.poll_id)),
    )


@pytest.fixture
def signin(store, directory, polls, clock) -> SignInService:
    """The sign-in service on the fakes."""
    return SignInService(
        store.sessions, store.attendance, directory=directory, polls=polls, clock=clock
    )


@pytest.fixture
def dialogue(store, library, polls, clock) -> DialogueService:
    """The agenda service on the fakes."""
    return DialogueService(store.sessions, store.questions, library, polls, clock)


@pytest.fixture
def min_answers() -> int:
    """From how many answers the Appendix F results are released."""
    return MIN_ANSWERS


@pytest.fixture
def assessment(store, clock) -> AssessmentService:
    """The Appendix F service on the fakes: open a week, released from MIN_ANSWERS answers."""
    return AssessmentService(
        store.assessments, store.attendance, SECRET, MIN_ANSWERS, clock, sessions=store.sessions
    )


@pytest.fixture
def leadership(store, directory, polls) -> Leadership:
    """The focal point's reassignment of a leader, on the fakes."""
    return Leadership(store.sessions, store.attendance, directory, polls)


@pytest.fixture
def setups(store, clock) -> SetupRequests:
    """Who asked for each setup card, on the fakes."""
    return SetupRequests(store.setups, store.sessions, clock)


@pytest.fixture
def feedback(store, clock) -> LeaderFeedbackService:
    """The Appendix C service on the fake."""
    return LeaderFeedbackService(store.feedback, clock)


@pytest.fixture
def queue(store, admin, clock, signin) -> QuestionQueue:
    """The Ethics Office queue on the fake."""
    return QuestionQueue(store.queue, frozenset({admin.aad_id}), clock, signin)


@pytest.fixture
def rollup(store, directory, clock) -> RollupService:
    """The roll-up service on the fakes."""
    return RollupService(store.sessions, store.rollup, store.attendance, directory, clock)


def _setup_data(**changes: Any) -> dict[str, Any]:
    data = {
        "entity": "DESA",
        "unit": "Statistics Division",
        "personnel": "20",
        "language": "en",
        "date": "2026-11-20",
    }
    data.update(changes)
    return data


@pytest.fixture
def setup_data() -> Callable[..., dict[str, Any]]:
    """The setup card as a leader fills it, with changes."""
    return _setup_data


Start = Callable[..., Awaitable[Sheet]]


@pytest.fixture
def start(signin, leader, clock) -> Start:
    """Start a session in a new chat (or `chat`), led by `leader` unless another is given."""

    async def started(by: Person | None = None, chat: Chat | None = None, **data: Any) -> Sheet:
        where = chat or Chat(
            f"19:meeting_{uuid.uuid4().hex}@thread.v2", "tenant", "https://s/", "b"
        )
        return await signin.start(
            where, f"card-{uuid.uuid4().hex[:8]}", by or leader, _setup_data(**data), clock().date()
        )

    return started
