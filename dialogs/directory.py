"""Roles and the organisation of the cycle: admins (from settings), entities, focal points.

Every change is recorded in the audit log with who made it and when. Entity names are read
often (every card shows one) and change rarely: they are cached for a few seconds per instance,
re-read after this instance's own changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from dialogs.common import Expiring
from dialogs.errors import InvalidInput, NotAllowed, NotSaved
from dialogs.forms import clean_text
from dialogs.ports import DirectoryStore
from storage import WriteConflict
from storage.records import (
    AuditEntry,
    CycleConfig,
    EntityPersonnel,
    EntityRecord,
    FocalPoint,
    HeadOfEntity,
    Person,
)

_CACHE_SECONDS = 10.0
# How far back a focal point's history reaches: the newest entries about their entity.
_HISTORY = 30
_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
# An entity's whole personnel: the largest Secretariat entities count tens of thousands.
MAX_ENTITY_PERSONNEL = 1_000_000


# How to reach a person in personal chat: (Teams id, service url, tenant).
Contact = tuple[str, str, str]


# A user principal name as Teams knows it: it goes into the member-lookup URL as is, so nothing
# else (no slash, no query, no space) may pass.
_UPN = re.compile(r"[A-Za-z0-9._%+'-]{1,100}@[A-Za-z0-9.-]{1,100}\.[A-Za-z]{2,30}")


def parse_upn(raw: Any) -> str | None:
    """The typed text as a user principal name (name@un.org), trimmed; None if it is not one."""
    if not isinstance(raw, str):
        return None
    upn = raw.strip()
    return upn if _UPN.fullmatch(upn) else None


# A link a card opens: long enough for a video platform's address, short enough for a card.
_MAX_URL = 500
_URL_FORBIDDEN = set(' "<>\\^`{|}')


def parse_https_url(raw: Any) -> str | None:
    """The typed text as an https web address (trimmed), or None if it is not one.

    Only https: the link opens from a card every participant may see, so no other scheme
    (javascript:, http:, file:) and no credentials (user@host) pass.
    """
    if not isinstance(raw, str):
        return None
    url = raw.strip()
    if not url or len(url) > _MAX_URL or any(c in _URL_FORBIDDEN or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # a malformed port raises here
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        return None
    if port is not None and port <= 0:
        return None
    return url


@dataclass(frozen=True)
class Roles:
    """What a person may see beyond their own sessions."""

    admin: bool
    focal_for: frozenset[str]


class Directory:
    """The cycle, the entities and who is focal point for which; admins change them."""

    def __init__(
        self,
        repo: DirectoryStore,
        *,
        admins: frozenset[str],
        packs: Iterable[str],
        clock: Callable[[], datetime],
    ) -> None:
        self._repo = repo
        self._admins = admins
        self._packs = set(packs)
        self._clock = clock
        self._cached = Expiring(self._repo.entities, _CACHE_SECONDS)
        self._cycle = Expiring(self._read_cycle, _CACHE_SECONDS)

    async def seed(self, year: int, pack: str, entities: Iterable[tuple[str, str]]) -> None:
        """On first start, the cycle and entities from the settings (existing ones are kept)."""
        await self._repo.save_cycle(CycleConfig(year, pack, date(year, 12, 31)), create=True)
        self._cycle.forget()
        for code, name in entities:
            await self._repo.save_entity(EntityRecord(code, name), create=True)
        self._cached.forget()

    async def cycle(self) -> CycleConfig:
        """The current cycle (cached for a few seconds, like the entities)."""
        return await self._cycle.get()

    async def _read_cycle(self) -> CycleConfig:
        config = await self._repo.cycle()
        if config is None:
            raise NotSaved("error.not_saved")
        return config

    async def entities(self, *, active_only: bool = True) -> list[EntityRecord]:
        """The entities, from a cache of a few seconds."""
        return [e for e in await self._cached.get() if e.active or not active_only]

    async def entity(self, code: Any) -> EntityRecord | None:
        """One entity (active or not), or None."""
        return next((e for e in await self.entities(active_only=False) if e.code == code), None)

    async def names(self) -> dict[str, str]:
        """Entity code -> name, for display."""
        return {e.code: e.name for e in await self.entities(active_only=False)}

    async def codes(self) -> set[str]:
        """Codes a new session may be reported under."""
        return {e.code for e in await self.entities()}

    async def roles(self, person: Person) -> Roles:
        """Admin from the settings; focal point from the directory, never for an admin."""
        if person.aad_id in self._admins:
            # Separation of duties: the Ethics Office sees counts, never the sheets' names, so
            # a focal row left for someone now listed as admin opens nothing.
            return Roles(True, frozenset())
        focal = await self._repo.focal_entities(person.aad_id)
        return Roles(False, frozenset(focal))

    def is_admin(self, person: Person) -> bool:
        """Whether this person is an Ethics Office administrator."""
        return person.aad_id in self._admins

    def require_admin(self, person: Person) -> None:
        """Refuse anyone but an Ethics Office administrator."""
        if not self.is_admin(person):
            raise NotAllowed("error.admin_only")

    async def require_focal(self, person: Person, entity: Any) -> EntityRecord:
        """The entity, if this person is its focal point (admins are not: they see no names)."""
        roles = await self.roles(person)
        record = await self.entity(entity)
        if record is None or entity not in roles.focal_for:
            raise NotAllowed("error.focal_only")
        return record

    def deadline(self, cycle: CycleConfig, entity: EntityRecord) -> date:
        """The entity's deadline: its extension if granted, else the cycle's."""
        return entity.extension_until or cycle.deadline

    # Changes (admins only, every one audited) -------------------------------------------------

    async def set_cycle(self, admin: Person, data: Mapping[str, Any]) -> CycleConfig:
        """Set the year, the content pack and the deadline."""
        self.require_admin(admin)
        current = await self.cycle()
        year = _whole(data.get("cycle_year"), "cycle_year", 2013, 2100)
        pack = data.get("cycle_pack")
        if pack not in self._packs:
            raise InvalidInput("error.invalid_field", field="cycle_pack")
        try:
            deadline = date.fromisoformat(str(data.get("cycle_deadline")))
        except ValueError:
            raise InvalidInput("error.date", field="cycle_deadline") from None
        updated = replace(current, year=year, pack=pack, deadline=deadline)
        try:
            await self._repo.save_cycle(updated)
        except WriteConflict:
            raise NotSaved("error.busy") from None
        self._cycle.forget()
        await self._audit(admin, "cycle.set", year=year, pack=pack, deadline=deadline.isoformat())
        return await self.cycle()

    async def videos(self) -> Mapping[str, str]:
        """The cycle's scenario videos: scenario id -> https link."""
        return (await self.cycle()).videos

    async def set_videos(
        self, admin: Person, data: Mapping[str, Any], scenario_ids: Iterable[str]
    ) -> CycleConfig:
        """Set or clear the video link of each of these scenarios (`video_<id>` in the data).

        An empty field clears the link; a scenario the card did not carry keeps its own.
        """
        self.require_admin(admin)
        current = await self.cycle()
        videos = dict(current.videos)
        for scenario_id in scenario_ids:
            raw = data.get(f"video_{scenario_id}")
            if raw is None:
                continue
            if isinstance(raw, str) and not raw.strip():
                videos.pop(scenario_id, None)
                continue
            url = parse_https_url(raw)
            if url is None:
                raise InvalidInput("error.https_url", field="video")
            videos[scenario_id] = url
        if videos == dict(current.videos):
            return current
        try:
            await self._repo.save_cycle(replace(current, videos=videos))
        except WriteConflict:
            raise NotSaved("error.busy") from None
        self._cycle.forget()
        await self._audit(admin, "cycle.videos", videos=videos)
        return await self.cycle()

    async def save_entity(self, admin: Person, data: Mapping[str, Any]) -> EntityRecord:
        """Add an entity, or rename (and reactivate) an existing one."""
        self.require_admin(admin)
        code = clean_text(
            data.get("entity_code"), field="entity_code", max_length=20, required=True
        )
        code = code.upper()
        if len(code) < 2 or not set(code) <= _CODE_CHARS or not code[0].isalpha():
            raise InvalidInput("error.entity_code", field="entity_code")
        name = clean_text(
            data.get("entity_name"), field="entity_name", max_length=200, required=True
        )
        existing = await self.entity(code)
        if existing is None:
            await self._repo.save_entity(EntityRecord(code, name), create=True)
            await self._audit(admin, "entity.add", code=code, name=name)
        else:
            await self._save(replace(existing, name=name, active=True))
            await self._audit(admin, "entity.rename", code=code, name=name)
        self._cached.forget()
        record = await self.entity(code)
        assert record is not None
        return record

    async def deactivate_entity(self, admin: Person, code: Any) -> EntityRecord:
        """Stop offering an entity for new sessions; its sessions and reports stay."""
        self.require_admin(admin)
        existing = await self.entity(code)
        if existing is None:
            raise InvalidInput("error.entity", field="entity")
        await self._save(replace(existing, active=False))
        await self._audit(admin, "entity.deactivate", code=existing.code)
        self._cached.forget()
        return existing

    async def grant_extension(self, admin: Person, code: Any, until: date) -> EntityRecord:
        """Give an entity a new deadline."""
        self.require_admin(admin)
        existing = await self.entity(code)
        if existing is None:
            raise InvalidInput("error.entity", field="entity")
        await self._save(replace(existing, extension_until=until))
        await self._audit(admin, "extension.grant", code=existing.code, until=until.isoformat())
        self._cached.forget()
        updated = await self.entity(code)
        assert updated is not None
        return updated

    async def add_focal_point(
        self,
        admin: Person,
        code: Any,
        person: Person,
        *,
        service_url: str = "",
        tenant_id: str = "",
    ) -> tuple[FocalPoint, list[Contact]]:
        """Nominate a focal point for an entity; also who to tell: its current focal points.

        `service_url` and `tenant_id` say how the bot can reach the person until they write.
        """
        self.require_admin(admin)
        if person.aad_id in self._admins:
            raise NotAllowed("error.admin_not_focal")
        entity = await self.entity(code)
        if entity is None:
            raise InvalidInput("error.entity", field="entity")
        current = await self.focal_points(entity.code)
        point = FocalPoint(
            entity.code,
            person.aad_id,
            person.mri,
            person.name,
            admin.aad_id,
            self._clock(),
            service_url,
            tenant_id,
        )
        await self._repo.add_focal_point(point)
        await self._audit(admin, "focal.add", entity=entity.code, person=person.aad_id)
        if any(f.aad_id == person.aad_id for f in current):
            return point, []  # named again (a retry): the others were told the first time
        return point, await self._contacts_of([f for f in current if f.aad_id not in self._admins])

    async def focal_contacts(self, code: str) -> list[Contact]:
        """How to reach an entity's focal points (those the bot can reach)."""
        points = await self.focal_points(code)
        return await self._contacts_of([f for f in points if f.aad_id not in self._admins])

    async def _contacts_of(self, points: list[FocalPoint]) -> list[Contact]:
        """How to reach these focal points: as they last wrote to the bot, else as named."""
        found = []
        for point in points:
            remembered = await self._repo.contacts({point.aad_id})
            if remembered:
                found.append(remembered[0])
            elif point.mri and point.service_url:
                found.append((point.mri, point.service_url, point.tenant_id))
        return found

    async def remove_focal_point(self, admin: Person, code: Any, aad_id: Any) -> bool:
        """Withdraw a focal point."""
        self.require_admin(admin)
        if not isinstance(code, str) or not isinstance(aad_id, str):
            raise InvalidInput("error.invalid_field", field="focal")
        removed = await self._repo.remove_focal_point(code, aad_id)
        if removed:
            await self._audit(admin, "focal.remove", entity=code, person=aad_id)
        return removed

    # The entity's whole personnel -------------------------------------------------------------

    async def set_personnel(self, person: Person, code: Any, raw: Any) -> EntityPersonnel:
        """Record the entity's whole personnel this cycle: its focal point or an admin."""
        # The guide's goal is everyone, not only the units that held a session: "Our goal is
        # for all international and national UN personnel globally to participate in a
        # Leadership Dialogue session each year." Coverage against the whole entity needs its
        # size, which no sign-in sheet holds.
        if self.is_admin(person):
            entity = await self.entity(code)
            if entity is None:
                raise InvalidInput("error.entity", field="entity")
        else:
            entity = await self.require_focal(person, code)
        personnel = _whole(raw, "entity_personnel", 1, MAX_ENTITY_PERSONNEL)
        cycle = await self.cycle()
        record = EntityPersonnel(cycle.year, entity.code, personnel, person.aad_id, self._clock())
        await self._repo.save_personnel(record)
        await self._audit(person, "entity.personnel", entity=entity.code, personnel=personnel)
        return record

    async def personnel(self, cycle: int) -> dict[str, int]:
        """Each entity's recorded whole personnel for the cycle, by code."""
        return {code: p.personnel for code, p in (await self._repo.personnel(cycle)).items()}

    # Heads of Entity --------------------------------------------------------------------------

    async def name_head_of_entity(
        self,
        admin: Person,
        code: Any,
        person: Person,
        *,
        service_url: str = "",
        tenant_id: str = "",
    ) -> HeadOfEntity:
        """Name the entity's Head of Entity (one per entity: the one named before is replaced).

        Only an admin names them: a focal point who could name the Head could name themselves
        (or anyone) and confirm their own Appendix E, and the confirmation would mean nothing.
        """
        self.require_admin(admin)
        if person.aad_id in self._admins:
            # The Ethics Office receives the certification; it does not give it.
            raise NotAllowed("error.admin_not_head")
        entity = await self.entity(code)
        if entity is None:
            raise InvalidInput("error.entity", field="entity")
        head = HeadOfEntity(
            entity.code,
            person.aad_id,
            person.mri,
            person.name,
            admin.aad_id,
            self._clock(),
            service_url,
            tenant_id,
        )
        await self._repo.save_head_of_entity(head)
        await self._audit(admin, "head.name", entity=entity.code, person=person.aad_id)
        return head

    async def heads_of_entity(self) -> dict[str, HeadOfEntity]:
        """Every entity's Head of Entity, by code."""
        return await self._repo.heads_of_entity()

    async def head_of_entity(self, code: str) -> HeadOfEntity | None:
        """The entity's Head of Entity, or None when none is named."""
        return (await self._repo.heads_of_entity()).get(code)

    async def require_head(self, person: Person, code: Any) -> tuple[EntityRecord, HeadOfEntity]:
        """The entity and its Head, if this person is that Head (anyone else: refused alike)."""
        entity = await self.entity(code) if isinstance(code, str) else None
        head = await self.head_of_entity(entity.code) if entity else None
        if entity is None or head is None or head.aad_id != person.aad_id:
            raise NotAllowed("error.head_only")
        return entity, head

    async def focal_points(self, code: str) -> list[FocalPoint]:
        """An entity's focal points."""
        return await self._repo.focal_points(code)

    async def audit_log(self, admin: Person, limit: int = 20) -> list[AuditEntry]:
        """The newest changes (admins only)."""
        self.require_admin(admin)
        return await self._repo.audit_log(limit)

    async def entity_history(self, focal: Person, code: Any) -> list[AuditEntry]:
        """The newest changes concerning one entity, for its focal point only."""
        entity = await self.require_focal(focal, code)
        return await self._repo.audit_of_entity(entity.code, _HISTORY)

    async def remember_contact(self, person: Person, service_url: str, tenant_id: str) -> None:
        """Keep how to reach an admin or a focal point, so notices reach them in personal chat."""
        if person.aad_id in self._admins or bool(await self._repo.focal_entities(person.aad_id)):
            await self._repo.save_contact(person.aad_id, person.mri, service_url, tenant_id)

    async def admin_contacts(self) -> list[tuple[str, str, str]]:
        """How to reach the admins who have used the bot: (mri, service url, tenant)."""
        return await self._repo.contacts(set(self._admins))

    async def record(self, actor: Person, action: str, **details: Any) -> None:
        """Audit a change made elsewhere (certification, extension request)."""
        await self._audit(actor, action, **details)

    async def _audit(self, actor: Person, action: str, **details: Any) -> None:
        # The entity an entry concerns, so its focal point can read it (one query).
        entity = details.get("entity") or details.get("code") or ""
        entry = AuditEntry(self._clock(), actor.aad_id, action, details, str(entity))
        await self._repo.record(entry)

    async def _save(self, record: EntityRecord) -> None:
        try:
            await self._repo.save_entity(record)
        except WriteConflict:
            raise NotSaved("error.busy") from None


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    # Years read as years (2013), not as quantities (2,013).
    raise InvalidInput("error.number", field=field, low=str(low), high=str(high))
