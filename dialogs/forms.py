"""Validation of what people type into cards: everything submitted is untrusted input."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dialogs.errors import InvalidInput
from dialogs.names import strip_invisible, strip_invisible_in_name

LANGUAGES = ("en", "fr", "es")
CATEGORIES = ("staff", "non_staff")
MAX_UNIT = 120
MAX_NAME = 100
MAX_AGENCY = 80
MAX_PERSONNEL = 100_000
# A session date more than a year away is a typo, not a plan.
DATE_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class SessionSetup:
    """The leader's answers on the setup card."""

    entity: str
    unit: str
    personnel: int
    language: str
    session_date: date


@dataclass(frozen=True)
class PersonDetails:
    """Category and agency of someone on the sheet."""

    category: str = "staff"
    agency: str = ""


def clean_text(value: Any, *, field: str, max_length: int, required: bool) -> str:
    """Trimmed single-line text without control or invisible format characters, within bounds."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput("error.invalid_field", field=field)
    # Direction overrides and zero-width characters would make stored text read differently
    # from what it holds (and two equal texts differ): dropped before anything else.
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in strip_invisible(value)
    )
    text = " ".join(text.split())
    if required and not text:
        raise InvalidInput("error.required", field=field)
    if len(text) > max_length:
        raise InvalidInput("error.too_long", field=field, max=max_length)
    return text


def parse_setup(data: Mapping[str, Any], entity_codes: set[str], today: date) -> SessionSetup:
    """Validate the setup card's inputs; raise InvalidInput naming the first bad field."""
    entity = data.get("entity")
    if not isinstance(entity, str) or entity not in entity_codes:
        raise InvalidInput("error.entity", field="entity")
    unit = clean_text(data.get("unit"), field="unit", max_length=MAX_UNIT, required=True)
    personnel = _whole_number(data.get("personnel"), field="personnel", low=1, high=MAX_PERSONNEL)
    language = data.get("language")
    if language not in LANGUAGES:
        raise InvalidInput("error.language", field="language")
    raw_date = data.get("date")
    try:
        session_date = date.fromisoformat(raw_date) if isinstance(raw_date, str) else None
    except ValueError:
        session_date = None
    if session_date is None or abs(session_date - today) > DATE_WINDOW:
        raise InvalidInput("error.date", field="date")
    return SessionSetup(entity, unit, personnel, language, session_date)


def parse_details(data: Mapping[str, Any], *, prefix: str) -> PersonDetails:
    """Category and agency inputs named `{prefix}_category` and `{prefix}_agency`."""
    category = data.get(f"{prefix}_category") or "staff"
    if category not in CATEGORIES:
        raise InvalidInput("error.category", field="category")
    agency = clean_text(
        data.get(f"{prefix}_agency"), field="agency", max_length=MAX_AGENCY, required=False
    )
    return PersonDetails(category, agency)


def parse_name(data: Mapping[str, Any], key: str) -> str:
    """A person's name as typed by the leader or monitor, without any invisible character."""
    value = data.get(key)
    if isinstance(value, str):
        value = strip_invisible_in_name(value)
    return clean_text(value, field="name", max_length=MAX_NAME, required=True)


def _whole_number(value: Any, *, field: str, low: int, high: int) -> int:
    # Input.Number submits a string in Teams and a number elsewhere; accept both, nothing else.
    if isinstance(value, bool):
        raise InvalidInput("error.number", field=field, low=low, high=high)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise InvalidInput("error.number", field=field, low=low, high=high) from None
    if not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput("error.number", field=field, low=low, high=high)
    return value
