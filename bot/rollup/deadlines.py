"""The focal points' reminders before their entity's deadline, sent when their job runs."""

from __future__ import annotations

import logging

from bot.teams.outbound import Outbound
from bot.teams.replies import Notice, Replies, plain
from dialogs.directory import Directory
from dialogs.jobs import DeadlineReminders
from storage.records import Job

log = logging.getLogger(__name__)

# Focal points' languages are not stored; the reminder is written in English, the working
# language every entity's focal point reads (their own cards follow their Teams language).
LANGUAGE = "en"


class DeadlineActions:
    """Sends each focal point of an uncertified entity its deadline reminder in personal chat."""

    def __init__(
        self,
        deadlines: DeadlineReminders,
        directory: Directory,
        replies: Replies,
        outbound: Outbound,
        bot_id: str,
    ) -> None:
        self._deadlines = deadlines
        self._directory = directory
        self._replies = replies
        self._outbound = outbound
        self._bot_id = bot_id

    async def send(self, job: Job) -> bool:
        """Tell the entity's focal points; finished even if one could not be reached (a retry
        would tell the others twice)."""
        notice = await self._deadlines.notice(job)
        if notice is None:
            return True  # certified since, or a new deadline: nothing to say
        entity = await self._directory.entity(notice.entity)
        card = self._replies.notice(
            LANGUAGE,
            Notice(
                "deadline.remind",
                {
                    "entity": plain(entity.name if entity else notice.entity),
                    "count": notice.days,
                    "date": self._replies.date(LANGUAGE, notice.deadline),
                },
                "warning",
            ),
        )
        delivered = 0
        for mri, service_url, tenant in notice.contacts:
            delivered += await self._outbound.personal(
                service_url=service_url,
                tenant_id=tenant,
                bot_id=self._bot_id,
                user_mri=mri,
                card=card,
            )
        log.info(
            "deadline reminder days=%d delivered=%d of=%d",
            notice.days,
            delivered,
            len(notice.contacts),
        )
        return True
