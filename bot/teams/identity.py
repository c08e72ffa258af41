"""Who sent an activity and from where, read from the envelope Teams signs, never from card data."""

from __future__ import annotations

import re
from typing import Any

from botbuilder.schema import Activity

from dialogs.names import strip_invisible_in_name
from storage.records import Person

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def tenant_of(activity: Activity) -> str:
    """The Entra tenant id of the activity (channelData.tenant.id, else the conversation's)."""
    channel_data: dict[str, Any] = (
        activity.channel_data if isinstance(activity.channel_data, dict) else {}
    )
    tenant = channel_data.get("tenant")
    if not isinstance(tenant, dict):
        tenant = {}
    tenant_id = tenant.get("id") or getattr(activity.conversation, "tenant_id", None) or ""
    return str(tenant_id).lower()


def person_of(activity: Activity) -> Person | None:
    """The sender as a Person, identified by Entra object id; None when Teams gave none."""
    sender = activity.from_property
    if sender is None or not sender.aad_object_id or not sender.id:
        return None
    # Entra object ids are GUIDs: anything else is not a person Teams vouches for.
    if not _GUID.fullmatch(str(sender.aad_object_id)) or not isinstance(sender.id, str):
        return None
    return Person(
        aad_id=str(sender.aad_object_id).lower(),
        mri=str(sender.id),
        name=display_name(sender.name),
    )


def display_name(raw: object) -> str:
    """A Teams display name as stored: nothing invisible, single-spaced, bounded, never empty."""
    # Shown on sheets and compared with typed names, so a disguised copy is not a new person.
    text = raw if isinstance(raw, str) else ""
    return " ".join(strip_invisible_in_name(text).split())[:100] or "?"


def is_group_chat(activity: Activity) -> bool:
    """Whether the activity comes from a group chat, meeting chat or channel."""
    conversation = activity.conversation
    kind = getattr(conversation, "conversation_type", None)
    return kind in ("groupChat", "channel") or bool(getattr(conversation, "is_group", False))
