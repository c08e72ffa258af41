"""The path of unanswered questions: session → Ethics Office queue → reply to the leader."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from dialogs.common import require_leader
from dialogs.errors import InvalidInput, NotAllowed, NotSaved, WrongState
from dialogs.feedback import clean_multiline
from dialogs.ports import EthicsQueueStore
from dialogs.signin import SignInService
from storage import WriteConflict
from storage.records import Person, QuestionRecord, QueuedQuestion, SessionRecord

log = logging.getLogger(__name__)

MAX_REPLY = 2000


class QuestionQueue:
    """Leaders forward; Ethics Office admins list and answer; no participant is ever named."""

    def __init__(
        self,
        queue: EthicsQueueStore,
        admins: frozenset[str],
        clock: Callable[[], datetime],
        signin: SignInService,
    ) -> None:
        self._queue = queue
        self._admins = admins
        self._clock = clock
        self._signin = signin

    def is_admin(self, person: Person) -> bool:
        """Whether this person is an Ethics Office administrator (from the settings)."""
        return person.aad_id in self._admins

    async def forward(
        self, session: SessionRecord, caller: Person, questions: list[QuestionRecord]
    ) -> int:
        """Send the session's questions to the Ethics Office (leader only); count of new ones."""
        require_leader(session, caller)
        now = self._clock()
        # A question may name a colleague ("as Kenji said…"): the queue never holds the name.
        mask = await self._signin.name_mask(session)
        added = 0
        for question in questions:
            item = QueuedQuestion(
                key=self._queue.key_for(session.session_id, question.question_id),
                cycle=session.cycle,
                entity=session.entity,
                session_id=session.session_id,
                session_date=session.session_date.isoformat(),
                text=mask.apply(question.text),
                leader_id=session.leader.aad_id,
                leader_mri=session.leader.mri,
                leader_name=session.leader.name,
                tenant_id=session.tenant_id,
                service_url=session.service_url,
                forwarded_at=now,
            )
            if await self._queue.add(item):
                added += 1
        log.info("questions forwarded session=%s new=%d", session.session_id, added)
        return added

    async def items(self, caller: Person, cycle: int) -> list[QueuedQuestion]:
        """The cycle's queue, open questions first (admins only)."""
        self._require_admin(caller)
        items = await self._queue.for_cycle(cycle)
        return sorted(items, key=lambda q: (q.status != "open", q.forwarded_at))

    async def answer(
        self, caller: Person, cycle: int, key: Any, data: Mapping[str, Any]
    ) -> QueuedQuestion:
        """Record the Ethics Office's reply (admins only); the caller then tells the leader."""
        self._require_admin(caller)
        if not isinstance(key, str) or len(key) > 100:
            raise InvalidInput("error.unknown_question", field="question")
        reply = clean_multiline(data.get("reply"), "reply", MAX_REPLY)
        if not reply:
            raise InvalidInput("error.required", field="reply")
        for _ in range(5):
            item = await self._queue.get(cycle, key)
            if item is None:
                raise InvalidInput("error.unknown_question", field="question")
            if item.status == "answered":
                raise WrongState("error.already_answered")
            try:
                return await self._queue.save(
                    replace(
                        item,
                        status="answered",
                        reply=reply,
                        answered_by=caller.aad_id,
                        answered_at=self._clock(),
                    )
                )
            except WriteConflict:
                continue
        raise NotSaved("error.busy")

    # The FAQ ("What if I cannot answer all the questions raised during the session?"): "For
    # matters that you continue to struggle with, document the question(s) and consult with the
    # Ethics Office. After your consultation, you can go back to your staff and share helpful
    # information." The leader shares an answer with the session's meeting chat, once.
    async def share(
        self, caller: Person, cycle: Any, key: Any
    ) -> tuple[QueuedQuestion, SessionRecord, bool]:
        """Claim an answered question for sharing with the team (its session's leader only).

        Returns the item, its session, and whether this call claimed it (False: shared before).
        The claim is a conditional write, so a double click or a retried invoke shares once; the
        caller posts it and, should that fail, hands it back with `unshare`.
        """
        if isinstance(cycle, str) and cycle.isdecimal() and len(cycle) <= 6:
            cycle = int(cycle)
        if not isinstance(cycle, int) or isinstance(cycle, bool) or not isinstance(key, str):
            raise InvalidInput("error.unknown_question", field="question")
        if len(key) > 100:
            raise InvalidInput("error.unknown_question", field="question")
        for _ in range(5):
            item = await self._queue.get(cycle, key)
            if item is None:
                raise InvalidInput("error.unknown_question", field="question")
            session = await self._signin.by_keys(
                {"cycle": item.cycle, "entity": item.entity, "sid": item.session_id}
            )
            # Checked before anything of the item is shown: a refusal says only that.
            require_leader(session, caller)
            if item.status != "answered":
                raise InvalidInput("error.unknown_question", field="question")
            if item.shared_at is not None:
                return item, session, False
            try:
                claimed = await self._queue.save(replace(item, shared_at=self._clock()))
            except WriteConflict:
                continue
            log.info("answer shared session=%s", session.session_id)
            return claimed, session, True
        raise NotSaved("error.busy")

    async def unshare(self, item: QueuedQuestion) -> QueuedQuestion:
        """Hand back a claim whose message did not reach the meeting chat, so it can be retried."""
        current = item
        for _ in range(5):
            try:
                return await self._queue.save(replace(current, shared_at=None))
            except WriteConflict:
                fresh = await self._queue.get(item.cycle, item.key)
                if fresh is None or fresh.shared_at != item.shared_at:
                    return fresh or item
                current = fresh
        raise NotSaved("error.busy")

    def _require_admin(self, caller: Person) -> None:
        if not self.is_admin(caller):
            raise NotAllowed("error.admin_only")
