"""Focal points and the Ethics Office: progress, sheets, exports, certification, reminders,
extensions, the cascade, the Organization report and administration. Roles are checked on the
server for every action; the Ethics Office's cards carry counts, never participant names."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.core.teams import TeamsInfo
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.after.actions import AfterActions
from bot.rollup.downloads import TTL_SECONDS, Downloads
from bot.rollup.views import RollupViews
from bot.session.shared_cards import SharedCards
from bot.signin.views import FOCAL, SignInViews
from bot.teams.context import IN_PERSONAL, ActionContext, Card, Command, Handler, send_card
from bot.teams.identity import display_name, person_of, tenant_of
from bot.teams.outbound import Outbound
from bot.teams.replies import Notice, Replies, plain
from cards.library import PackLibrary
from dialogs.directory import Directory, parse_upn
from dialogs.errors import InvalidInput, NotAllowed
from dialogs.feedback import LeaderFeedbackService
from dialogs.leadership import Leadership
from dialogs.rollup import RollupService
from dialogs.signin import ADDED, ENDED, RESTORED, SignInService, is_final
from storage.records import EntityRecord, FocalPoint, HeadOfEntity, Person

log = logging.getLogger(__name__)


class RollupActions:
    """Card actions and commands of focal points and Ethics Office administrators."""

    def __init__(
        self,
        directory: Directory,
        rollup: RollupService,
        signin: SignInService,
        feedback: LeaderFeedbackService,
        after: AfterActions,
        signin_views: SignInViews,
        replies: Replies,
        views: RollupViews,
        downloads: Downloads,
        outbound: Outbound,
        library: PackLibrary,
        leadership: Leadership,
        shared: SharedCards,
    ) -> None:
        self._leadership = leadership
        self._shared = shared
        self._directory = directory
        self._rollup = rollup
        self._signin = signin
        self._feedback = feedback
        self._after = after
        self._signin_views = signin_views
        self._replies = replies
        self._views = views
        self._downloads = downloads
        self._outbound = outbound
        self._library = library

    def verbs(self) -> dict[str, Handler]:
        """The verbs this module answers."""
        return {
            "focal.progress": self._progress,
            "focal.sessions": self._sessions,
            "focal.sheet": self._sheet,
            "focal.reassign": self._reassign,
            "focal.end": self._end,
            "focal.certify_preview": self._certify_preview,
            "focal.certify": self._certify,
            "focal.remind": self._remind,
            "focal.extension": self._extension,
            "focal.cascade": self._cascade,
            "focal.expected": self._expected,
            "focal.history": self._history,
            "focal.sheet_add": self._sheet_add,
            "focal.sheet_remove": self._sheet_remove,
            "focal.personnel": self._personnel,
            "head.confirm": self._head_confirm,
            "admin.cycle": self._admin_cycle,
            "admin.videos": self._admin_videos,
            "admin.entity": self._admin_entity,
            "admin.focal": self._admin_focal,
            "admin.extension": self._admin_extension,
            "admin.focal_remove": self._admin_focal_remove,
            "admin.entity_remove": self._admin_entity_remove,
            "admin.head": self._admin_head,
            "admin.personnel": self._admin_personnel,
        }

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """Refusals show as a notice card; a sheet correction's, on the sheet (its focal point's
        only: anyone else's refusal fails the same check again and gets the notice alone)."""
        if act.verb in ("focal.sheet_add", "focal.sheet_remove"):
            return await self._sheet(act, notice)
        return None

    # Focal points ----------------------------------------------------------------------------

    async def _entity(self, act: ActionContext) -> EntityRecord:
        return await self._directory.require_focal(act.person, act.data.get("entity"))

    async def progress_card(
        self, person: Person, entity: EntityRecord, lang: str, notice: Notice | None = None
    ) -> Card:
        """The progress card with fresh export links."""
        progress = await self._rollup.progress(entity)
        return self._views.progress(
            progress,
            lang,
            csv_url=self._downloads.link("entity", entity.code, "csv", lang, person.aad_id),
            xlsx_url=self._downloads.link("entity", entity.code, "xlsx", lang, person.aad_id),
            ttl_minutes=TTL_SECONDS // 60,
            notice=notice,
        )

    async def _progress(self, act: ActionContext) -> Card:
        return await self.progress_card(act.person, await self._entity(act), act.lang)

    async def _sessions(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        cycle = await self._directory.cycle()
        sessions = await self._signin.of_entity(cycle.year, entity.code)
        return self._views.sessions(entity, sessions, act.lang)

    async def _sheet(self, act: ActionContext, notice: Notice | None = None) -> Card:
        await self._entity(act)
        session = await self._signin.by_keys(act.data)
        sheet = await self._signin.sheet(session)
        card = await self._signin_views.sheet(sheet, act.person, act.lang, notice, viewer=FOCAL)
        return self._views.sheet_corrections(card, sheet, act.lang) if is_final(session) else card

    async def _sheet_add(self, act: ActionContext) -> Card:
        await self._entity(act)
        session = await self._signin.by_keys(act.data)
        typed = act.data.get("fix_upn")
        person = None
        if isinstance(typed, str) and typed.strip():
            upn = parse_upn(typed)
            if upn is None:
                raise InvalidInput("error.member_not_in_meeting", field="name")
            # A member of the session's meeting chat: who Teams knows there, not a typed name.
            person = await lookup_member(
                act.turn_context, upn, conversation_id=session.conversation_id
            )
        _, name, outcome = await self._signin.correct_add(session, act.person, act.data, person)
        self._shared.sheet(session)
        key = {ADDED: "notice.fix_added", RESTORED: "notice.fix_restored"}.get(
            outcome, "notice.already_listed"
        )
        return await self._sheet(act, Notice(key, {"name": name}))

    async def _sheet_remove(self, act: ActionContext) -> Card:
        await self._entity(act)
        session = await self._signin.by_keys(act.data)
        await self._signin.correct_remove(session, act.person, act.data.get("fix_remove_key"))
        self._shared.sheet(session)
        return await self._sheet(act, Notice("notice.fix_removed", {}))

    async def _history(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        entries = await self._directory.entity_history(act.person, entity.code)
        return self._views.history(entity, entries, act.lang)

    async def _reassign(self, act: ActionContext) -> Card:
        await self._entity(act)
        session = await self._signin.by_keys(act.data)
        done = await self._leadership.reassign(act.person, session, act.data.get("new_leader_key"))
        updated, leader = done.session, done.session.leader
        # The shared cards' refresh now targets the new leader, and shows them on the sheet.
        self._shared.sheet(updated)
        self._shared.agenda(updated)
        names = await self._directory.names()
        lang = updated.language
        told = await self._outbound.personal(
            service_url=updated.service_url,
            tenant_id=updated.tenant_id,
            bot_id=updated.bot_id,
            user_mri=leader.mri,
            card=self._replies.notice(
                lang,
                Notice(
                    "msg.you_lead",
                    {
                        "entity": plain(names.get(updated.entity, updated.entity)),
                        "date": self._replies.date(lang, updated.session_date),
                        "unit": plain(updated.unit),
                    },
                ),
            ),
        )
        key = "notice.leader_reassigned" if told else "notice.leader_reassigned_untold"
        notice = Notice(key, {"name": plain(leader.name)}, "good" if told else "warning")
        return await self._sheet(act, notice)

    async def _end(self, act: ActionContext) -> Card:
        await self._entity(act)
        session = await self._signin.by_keys(act.data)
        if session.status != ENDED:
            sheet = await self._signin.end(session, act.person)
            self._shared.sheet(sheet.session)
            self._shared.agenda(sheet.session)
            self._shared.totals(sheet.session)
        return await self._sheet(act, Notice("notice.focal_ended", {}))

    async def _certify_preview(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        progress = await self._rollup.progress(entity)
        return self._views.certify(
            entity, progress.cycle, progress.totals, act.lang, head=progress.head
        )

    async def _certify(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        item = await self._rollup.certify(act.person, entity)
        counts = {"participants": item.participants, "sessions": item.sessions}
        if not item.head_id:
            notice = Notice("notice.certified", counts)
        else:
            told = await self._send_to_head(act, entity)
            fields = {**counts, "head": plain(item.head_name)}
            notice = (
                Notice("notice.submitted_head", fields)
                if told
                else Notice("notice.submitted_head_untold", fields, "warning")
            )
        return await self.progress_card(act.person, entity, act.lang, notice)

    async def _send_to_head(self, act: ActionContext, entity: EntityRecord) -> bool:
        """The Head of Entity's personal card with the submitted Appendix E; False if not sent."""
        progress = await self._rollup.progress(entity)
        head, cert = progress.head, progress.certification
        if head is None or cert is None or not head.mri or not head.service_url:
            return False
        return await self._outbound.personal(
            service_url=head.service_url,
            tenant_id=head.tenant_id,
            bot_id=act.turn_context.activity.recipient.id,
            user_mri=head.mri,
            card=self._views.head_confirm(progress, cert, act.lang),
        )

    async def _head_confirm(self, act: ActionContext) -> Card:
        # Only the named Head of Entity passes (dialogs/rollup.py); the card's data names the
        # entity and the submission, and both are checked against storage.
        progress, cert = await self._rollup.confirm(
            act.person, act.data.get("entity"), act.data.get("submitted")
        )
        return self._views.head_confirm(progress, cert, act.lang)

    async def _personnel(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        record = await self._directory.set_personnel(
            act.person, entity.code, act.data.get("entity_personnel")
        )
        notice = Notice(
            "notice.personnel_saved", {"entity": plain(entity.name), "count": record.personnel}
        )
        return await self.progress_card(act.person, entity, act.lang, notice)

    async def _remind(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        progress = await self._rollup.progress(entity)
        # Closed assessments take no answers: their participants get no reminder (and the
        # background check of each aggregate skips any that closed meanwhile).
        sessions = [s for s in progress.held if self._after.remindable(s)]
        if not sessions:
            return await self.progress_card(
                act.person,
                entity,
                act.lang,
                Notice("notice.entity_reminders_closed", {}, "warning"),
            )
        self._after.send_reminders(sessions)
        return await self.progress_card(
            act.person, entity, act.lang, Notice("notice.entity_reminders", {})
        )

    async def _extension(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        request_id = act.turn_context.activity.id or ""
        item = await self._rollup.request_extension(act.person, entity, act.data, request_id)
        lang = act.lang
        card = self._replies.notice(
            lang, Notice("extension.notify", {"entity": entity.name, "reason": item.reason})
        )

        async def notify() -> None:
            for mri, service_url, tenant in await self._directory.admin_contacts():
                await self._outbound.personal(
                    service_url=service_url,
                    tenant_id=tenant,
                    bot_id=act.turn_context.activity.recipient.id,
                    user_mri=mri,
                    card=card,
                )

        self._outbound.run(notify())
        return await self.progress_card(
            act.person, entity, lang, Notice("notice.extension_requested", {})
        )

    async def _cascade(self, act: ActionContext, notice: Notice | None = None) -> Card:
        entity = await self._entity(act)
        leaders, missing = await self._rollup.cascade(entity)
        has_expected = bool(missing) or await self._rollup.has_expected(entity)
        return self._views.cascade(entity, leaders, missing, has_expected, act.lang, notice)

    async def _expected(self, act: ActionContext) -> Card:
        entity = await self._entity(act)
        count = await self._rollup.import_expected(entity, act.data)
        return await self._cascade(act, Notice("notice.expected_imported", {"count": count}))

    # Ethics Office ---------------------------------------------------------------------------

    async def report_card(self, person: Person, lang: str, notice: Notice | None = None) -> Card:
        """The Organization-wide report (admins only)."""
        cycle, lines = await self._rollup.organization(person)
        extensions = await self._rollup.extensions(person)
        return self._views.organization(
            cycle,
            lines,
            extensions,
            lang,
            csv_url=self._downloads.link("org", "", "csv", lang, person.aad_id),
            xlsx_url=self._downloads.link("org", "", "xlsx", lang, person.aad_id),
            notice=notice,
        )

    async def admin_card(self, person: Person, lang: str, notice: Notice | None = None) -> Card:
        """Cycle, entities, focal points and the audit log (admins only)."""
        self._directory.require_admin(person)
        cycle = await self._directory.cycle()
        entities = await self._directory.entities()
        focal = dict(
            zip(
                [e.code for e in entities],
                await asyncio.gather(*(self._directory.focal_points(e.code) for e in entities)),
                strict=True,
            )
        )
        audit = await self._directory.audit_log(person, limit=10)
        videos = [
            (s, cycle.videos.get(s.id, ""))
            for s in self._library.get(cycle.pack, lang).scenarios
            if s.format == "video"
        ]
        heads, personnel = await asyncio.gather(
            self._directory.heads_of_entity(), self._directory.personnel(cycle.year)
        )
        return self._views.admin(
            cycle,
            entities,
            focal,
            audit,
            self._library.ids(),
            lang,
            notice,
            videos=videos,
            heads=heads,
            personnel=personnel,
        )

    async def _admin_videos(self, act: ActionContext) -> Card:
        self._directory.require_admin(act.person)
        cycle = await self._directory.cycle()
        # Only the cycle's video scenarios take a link: other ids in the data are ignored.
        scenarios = self._library.get(cycle.pack, act.lang).scenarios
        await self._directory.set_videos(
            act.person, act.data, [s.id for s in scenarios if s.format == "video"]
        )
        return await self.admin_card(act.person, act.lang, Notice("notice.videos_saved", {}))

    async def _admin_head(self, act: ActionContext) -> Card:
        self._directory.require_admin(act.person)
        upn = parse_upn(act.data.get("head_upn"))
        if upn is None:
            raise InvalidInput("error.person_not_found", field="focal")
        person = await lookup_member(act.turn_context, upn)
        head = await self._name_head(
            act.turn_context, act.person, act.data.get("head_entity"), person
        )
        return await self.admin_card(
            act.person,
            act.lang,
            Notice("notice.head_named", {"name": plain(head.name), "entity": head.entity}),
        )

    async def _admin_personnel(self, act: ActionContext) -> Card:
        self._directory.require_admin(act.person)
        record = await self._directory.set_personnel(
            act.person, act.data.get("personnel_entity"), act.data.get("entity_personnel")
        )
        return await self.admin_card(
            act.person,
            act.lang,
            Notice("notice.personnel_saved", {"entity": record.entity, "count": record.personnel}),
        )

    async def _name_head(
        self, turn_context: TurnContext, admin: Person, code: Any, person: Person
    ) -> HeadOfEntity:
        """Name the Head of Entity, reachable from the chat they were named in."""
        activity = turn_context.activity
        return await self._directory.name_head_of_entity(
            admin, code, person, service_url=activity.service_url, tenant_id=tenant_of(activity)
        )

    async def _admin_cycle(self, act: ActionContext) -> Card:
        await self._directory.set_cycle(act.person, act.data)
        return await self.admin_card(act.person, act.lang, Notice("notice.cycle_saved", {}))

    async def _admin_entity(self, act: ActionContext) -> Card:
        record = await self._directory.save_entity(act.person, act.data)
        return await self.admin_card(
            act.person, act.lang, Notice("notice.entity_saved", {"code": record.code})
        )

    async def _admin_focal(self, act: ActionContext) -> Card:
        self._directory.require_admin(act.person)
        upn = parse_upn(act.data.get("focal_upn"))
        if upn is None:
            raise InvalidInput("error.person_not_found", field="focal")
        person = await lookup_member(act.turn_context, upn)
        point = await self._name_focal(
            act.turn_context, act.person, act.data.get("focal_entity"), person, act.lang
        )
        return await self.admin_card(
            act.person,
            act.lang,
            Notice("notice.focal_added", {"name": point.name, "entity": point.entity}),
        )

    async def _admin_focal_remove(self, act: ActionContext) -> Card:
        choice = act.data.get("withdraw_focal")
        code, _, aad_id = choice.partition("|") if isinstance(choice, str) else ("", "", "")
        if not await self._directory.remove_focal_point(act.person, code, aad_id):
            raise InvalidInput("error.invalid_field", field="focal")
        return await self.admin_card(act.person, act.lang, Notice("notice.focal_removed", {}))

    async def _admin_entity_remove(self, act: ActionContext) -> Card:
        record = await self._directory.deactivate_entity(
            act.person, act.data.get("deactivate_entity")
        )
        return await self.admin_card(
            act.person, act.lang, Notice("notice.entity_deactivated", {"code": record.code})
        )

    async def _admin_extension(self, act: ActionContext) -> Card:
        self._directory.require_admin(act.person)
        field = act.data.get("field")
        if not isinstance(field, str) or not field.startswith("until_") or len(field) > 10:
            raise InvalidInput("error.unknown_extension", field="extension")
        decided = await self._rollup.decide_extension(
            act.person, act.data.get("key"), act.data.get(field)
        )
        return await self.report_card(
            act.person,
            act.lang,
            Notice(
                "notice.extension_granted",
                {
                    "entity": decided.entity,
                    "date": self._replies.date(act.lang, decided.new_deadline),
                },
            ),
        )

    # Commands --------------------------------------------------------------------------------

    def commands(self) -> dict[str, Command]:
        """`progress` and `report` (focal points), `admin` and `focal CODE @person|upn` (admins)."""
        return {
            "progress": Command(self._progress_command, IN_PERSONAL),
            "report": Command(self._report_command, IN_PERSONAL),
            "admin": Command(self._admin_command, IN_PERSONAL),
            "focal": Command(self._focal_command, IN_PERSONAL),
            "head": Command(self._head_command, IN_PERSONAL),
        }

    async def _caller(self, turn_context: TurnContext) -> Person:
        """Who typed the command, remembered so that a focal point can be written to later."""
        activity = turn_context.activity
        person = person_of(activity)
        if person is None:
            raise NotAllowed("error.focal_only")
        await self._directory.remember_contact(person, activity.service_url, tenant_of(activity))
        return person

    async def _progress_command(self, turn_context: TurnContext, lang: str) -> None:
        person = await self._caller(turn_context)
        roles = await self._directory.roles(person)
        if not roles.focal_for:
            raise NotAllowed("error.no_entity")
        for code in sorted(roles.focal_for)[:5]:
            entity = await self._directory.entity(code)
            if entity is not None:
                await send_card(turn_context, await self.progress_card(person, entity, lang))

    async def _report_command(self, turn_context: TurnContext, lang: str) -> None:
        person = await self._caller(turn_context)
        await send_card(turn_context, await self.report_card(person, lang))

    async def _admin_command(self, turn_context: TurnContext, lang: str) -> None:
        person = await self._caller(turn_context)
        await send_card(turn_context, await self.admin_card(person, lang))

    async def _focal_command(self, turn_context: TurnContext, lang: str) -> None:
        """`focal CODE @mention` or `focal CODE name@un.org`, in a chat the person is in."""
        admin = await self._caller(turn_context)
        self._directory.require_admin(admin)
        code, person = await _code_and_member(turn_context)
        point = await self._name_focal(turn_context, admin, code, person, lang)
        await turn_context.send_activity(
            self._replies.text(lang, "notice.focal_added", name=point.name, entity=code)
        )

    async def _head_command(self, turn_context: TurnContext, lang: str) -> None:
        """`head CODE @mention` or `head CODE name@un.org`: names the Head of Entity."""
        admin = await self._caller(turn_context)
        self._directory.require_admin(admin)
        code, person = await _code_and_member(turn_context)
        head = await self._name_head(turn_context, admin, code, person)
        await turn_context.send_activity(
            self._replies.text(lang, "notice.head_named", name=head.name, entity=head.entity)
        )

    async def _name_focal(
        self, turn_context: TurnContext, admin: Person, code: Any, person: Person, lang: str
    ) -> FocalPoint:
        """Name a focal point; the entity's current focal points are told in personal chat."""
        activity = turn_context.activity
        point, colleagues = await self._directory.add_focal_point(
            admin, code, person, service_url=activity.service_url, tenant_id=tenant_of(activity)
        )
        if colleagues:
            entity = await self._directory.entity(point.entity)
            fields = {
                "name": plain(point.name),
                "entity": plain(entity.name if entity else point.entity),
                "admin": plain(admin.name),
            }
            card = self._replies.notice(lang, Notice("focal.notify", fields))
            bot_id = activity.recipient.id

            async def notify() -> None:
                for mri, service_url, tenant in colleagues:
                    await self._outbound.personal(
                        service_url=service_url,
                        tenant_id=tenant,
                        bot_id=bot_id,
                        user_mri=mri,
                        card=card,
                    )

            self._outbound.run(notify())
        return point


async def _code_and_member(turn_context: TurnContext) -> tuple[str, Person]:
    """`WORD CODE @mention` or `WORD CODE name@un.org`: the entity code and the member."""
    activity = turn_context.activity
    text = (TurnContext.remove_recipient_mention(activity) or "").split()
    code = text[1].upper() if len(text) > 1 else ""
    mentioned = [
        e.additional_properties.get("mentioned", {}).get("id")
        for e in activity.entities or []
        if e.type == "mention"
        and e.additional_properties.get("mentioned", {}).get("id") != activity.recipient.id
    ]
    target = mentioned[0] if mentioned else (text[2] if len(text) > 2 else "")
    if not target:
        raise InvalidInput("error.person_not_found", field="focal")
    return code, await lookup_member(turn_context, target)


async def lookup_member(
    turn_context: TurnContext, member_id: str, *, conversation_id: str | None = None
) -> Person:
    """A chat member by Teams id or UPN, through the Bot Connector's member lookup.

    `conversation_id`: look in that chat (a session's meeting chat) rather than this one.
    """
    try:
        if conversation_id is None:
            member = await TeamsInfo.get_member(turn_context, member_id)
        else:
            connector = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
            member = await connector.conversations.get_conversation_member(
                conversation_id, member_id
            )
    except (HttpOperationError, ClientRequestError) as error:
        log.info("member lookup failed: %s", type(error).__name__)
        raise _not_found(conversation_id) from error
    if member is None or not member.aad_object_id:
        raise _not_found(conversation_id)
    return Person(str(member.aad_object_id).lower(), member.id, display_name(member.name))


def _not_found(conversation_id: str | None) -> InvalidInput:
    if conversation_id is None:
        return InvalidInput("error.person_not_found", field="focal")
    return InvalidInput("error.member_not_in_meeting", field="name")
