"""Validation of what people type into cards: everything submitted is untrusted input."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dialogs.errors import InvalidInput
from dialogs.names import strip_invisible, strip_invisible_in_name
from storage.records import JointUnit, normalized_name

LANGUAGES = ("en", "fr", "es")
CATEGORIES = ("staff", "non_staff")
MAX_UNIT = 120
MAX_NAME = 100
MAX_AGENCY = 80
MAX_PERSONNEL = 100_000
# A session date more than a year away is a typo, not a plan.
DATE_WINDOW = timedelta(days=366)
# The FAQ: "Where the number is far below 10 colleagues, it might be more beneficial and
# efficient to have a second (or higher) reporting officer lead the session, thereby having
# several units hold the session jointly." Five units beside the first reach the recommended
# 10-25 even from units of two or three; more rows would only make the setup card long.
MAX_JOINT_UNITS = 5


@dataclass(frozen=True)
class SessionSetup:
    """The leader's answers on the setup card."""

    entity: str
    unit: str
    personnel: int
    language: str
    session_date: date
    # The other units of a joint session, in the order typed (rows left empty are skipped).
    joint_units: tuple[JointUnit, ...] = ()


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
    joint = parse_joint_units(data, first_unit=unit)
    return SessionSetup(entity, unit, personnel, language, session_date, joint)


def parse_joint_units(data: Mapping[str, Any], *, first_unit: str) -> tuple[JointUnit, ...]:
    """The joint session's other units (`joint_unit_N`, `joint_personnel_N`), each listed once."""
    seen = {normalized_name(first_unit)}
    units = []
    for row in range(1, MAX_JOINT_UNITS + 1):
        name = clean_text(
            data.get(f"joint_unit_{row}"), field="joint_unit", max_length=MAX_UNIT, required=False
        )
        raw = data.get(f"joint_personnel_{row}")
        blank = raw is None or (isinstance(raw, str) and not raw.strip())
        if not name and blank:
            continue
        if not name or blank:
            # Half a row is a mistake, not a choice: each unit counts with its own personnel.
            raise InvalidInput("error.joint_incomplete", field="joint_unit", row=row)
        try:
            personnel = _whole_number(raw, field="joint_personnel", low=1, high=MAX_PERSONNEL)
        except InvalidInput:
            raise InvalidInput(
                "error.joint_number", field="joint_personnel", row=row, low=1, high=MAX_PERSONNEL
            ) from None
        # The same unit twice would count its personnel twice in Appendix E's TOTAL.
        if normalized_name(name) in seen:
            raise InvalidInput("error.joint_duplicate", field="joint_unit", unit=name)
        seen.add(normalized_name(name))
        units.append(JointUnit(name, personnel))
    return tuple(units)


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
