"""User-visible strings in English, French and Spanish, with plural forms and local formats."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

LANGUAGES = ("en", "fr", "es")
DEFAULT_LANGUAGE = "en"
# A field formatted with a catalog key of plural forms: `{sessions:noun.sessions}`.
PLURAL_PREFIX = "noun."


class CatalogError(ValueError):
    """A catalog is missing, malformed, or lacks a key another language has."""


# Integers below this are formatted once per language (at most 3 x 20,000 short strings).
_KEPT_INTEGERS = 10_000


class Catalogs:
    """All catalogs, loaded and checked once at start."""

    def __init__(self, catalogs: Mapping[str, Mapping[str, Any]]) -> None:
        missing = [lang for lang in LANGUAGES if lang not in catalogs]
        if missing:
            raise CatalogError(f"missing catalogs: {', '.join(missing)}")
        reference = set(catalogs[DEFAULT_LANGUAGE])
        for lang in LANGUAGES:
            keys = set(catalogs[lang])
            if keys != reference:
                diff = sorted(reference.symmetric_difference(keys))
                raise CatalogError(f"catalog {lang} differs from en in keys: {', '.join(diff)}")
        self._catalogs = {lang: dict(catalogs[lang]) for lang in LANGUAGES}
        self._locales = {lang: Locale.parse(lang) for lang in LANGUAGES}
        # Counts on cards are small integers formatted again and again (babel takes ~20 us
        # each, and a poll card has a dozen): each language's text of one is kept.
        self._integers: dict[tuple[str, int], str] = {}

    @classmethod
    def load(cls) -> Catalogs:
        """Load the catalogs shipped in cards/catalogs."""
        folder = resources.files("cards").joinpath("catalogs")
        loaded = {}
        for lang in LANGUAGES:
            try:
                loaded[lang] = json.loads(folder.joinpath(f"{lang}.json").read_text("utf-8"))
            except (OSError, ValueError) as error:
                raise CatalogError(f"catalog {lang}.json: {error}") from error
        return cls(loaded)

    def keys(self) -> set[str]:
        """Every key in the catalogs."""
        return set(self._catalogs[DEFAULT_LANGUAGE])

    def raw(self, lang: str, key: str) -> Any:
        """The catalog entry as stored (a string, or plural forms)."""
        return self._catalogs[lang][key]

    def text(self, lang: str, key: str, fields: Mapping[str, Any] | None = None) -> str:
        """The string for key in lang, with plural form chosen by `count` and fields filled."""
        lang = resolve_language(lang)
        try:
            entry = self._catalogs[lang][key]
        except KeyError:
            raise CatalogError(f"no catalog key {key!r}") from None
        fields = fields or {}
        if isinstance(entry, dict):
            count = fields.get("count", 0)
            form = self._locales[lang].plural_form(count)
            entry = entry.get(form, entry["other"])
        return _Formatter(self, lang).vformat(entry, (), fields)

    def date(self, lang: str, value: date) -> str:
        """A date the way the language writes it (21 November 2026, 21 novembre 2026)."""
        return format_date(value, format="long", locale=self._locales[resolve_language(lang)])

    def number(self, lang: str, value: int | float) -> str:
        """A number with the language's separators."""
        lang = resolve_language(lang)
        if type(value) is not int or not -_KEPT_INTEGERS < value < _KEPT_INTEGERS:
            return format_decimal(value, locale=self._locales[lang])
        text = self._integers.get((lang, value))
        if text is None:
            text = self._integers[(lang, value)] = format_decimal(value, locale=self._locales[lang])
        return text


class _Formatter(string.Formatter):
    """Formats numbers in fields the language's way; other values as text."""

    def __init__(self, catalogs: Catalogs, lang: str) -> None:
        self._catalogs = catalogs
        self._lang = lang

    def get_value(self, key: Any, args: Any, kwargs: Mapping[str, Any]) -> Any:
        try:
            return kwargs[key]
        except KeyError:
            raise CatalogError(f"catalog string needs field {key!r}") from None

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith(PLURAL_PREFIX) and isinstance(value, int | float):
            # `{sessions:noun.sessions}`: the count with its noun in the language's plural form
            # ("1 session", "2 sessions"), for strings with more than one count.
            return self._catalogs.text(self._lang, format_spec, {"count": value})
        if isinstance(value, int | float) and not isinstance(value, bool) and not format_spec:
            return self._catalogs.number(self._lang, value)
        return super().format_field(value, format_spec)


def resolve_language(locale: str | None) -> str:
    """The supported language for a Teams locale such as fr-FR or es-419; English otherwise."""
    if locale:
        lang = locale.replace("_", "-").split("-")[0].lower()
        if lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE
