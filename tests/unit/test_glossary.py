"""One word for one thing: the French and Spanish texts use their glossary's terms only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cards.catalog import Catalogs

CARDS = Path(__file__).resolve().parents[2] / "cards"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every text in a catalog or pack, with where it sits."""
    if isinstance(value, str):
        yield where, PLACEHOLDER.sub(" ", value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _texts(language: str) -> list[tuple[str, str]]:
    catalog = json.loads((CARDS / "catalogs" / f"{language}.json").read_text(encoding="utf-8"))
    texts = list(_strings(catalog, f"catalogs/{language}.json"))
    for pack in sorted((CARDS / "packs").glob(f"*/{language}.yaml")):
        data = yaml.safe_load(pack.read_text(encoding="utf-8"))
        texts += _strings(data, f"packs/{pack.parent.name}/{language}.yaml")
    return texts


def _word(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


@pytest.mark.parametrize("language", ["fr", "es"])
def test_no_text_uses_a_variant_its_glossary_refuses(language: str) -> None:
    glossary = yaml.safe_load((CARDS / "glossary" / f"{language}.yaml").read_text("utf-8"))
    texts = _texts(language)
    found = [
        f"{where}: {variant!r} (use {entry['use']!r})"
        for entry in glossary
        for variant in entry["not"]
        for where, text in texts
        if _word(variant).search(text)
    ]
    assert not found, "\n".join(found[:30])
    unused = [e["use"] for e in glossary if not any(_word(e["use"]).search(t) for _, t in texts)]
    assert not unused, f"glossary terms no text uses (stale entries): {unused}"


def test_the_check_finds_a_refused_variant() -> None:
    assert _word("session").search("ouvrir la Session du jour")
    assert not _word("session").search("les sessionnaires")


@pytest.mark.parametrize(
    ("lang", "key", "fields", "wanted", "unwanted"),
    [
        ("es", "progress.deadline", {"days": 1}, "(en 1 día)", "quedan 1"),
        ("es", "progress.deadline", {"days": 29}, "(en 29 días)", "quedan"),
        (
            "fr",
            "progress.changed",
            {"certified": 1, "sessions": 1, "now_participants": 2, "now_sessions": 1},
            "la certification comptait 1 participant en 1 séance",
            "certifiés",
        ),
    ],
)
def test_counts_of_one_read_as_grammar_wants(lang, key, fields, wanted, unwanted):
    text = Catalogs.load().text(lang, key, {"date": "31 décembre 2026", **fields})
    assert wanted in text and unwanted not in text


@pytest.mark.parametrize(
    ("lang", "value", "shown"),
    [
        ("en", 1234, "1,234"),
        ("fr", 1234, "1\u202f234"),
        ("es", 12345, "12.345"),
        ("en", 12345678, "12,345,678"),
        ("fr", 2.5, "2,5"),
        ("en", -3, "-3"),
    ],
)
def test_counts_show_the_language_separators_every_time(lang, value, shown):
    catalogs = Catalogs.load()
    # Asked twice, and after the same count in another language: a kept text stays its own.
    first = catalogs.number(lang, value)
    catalogs.number("fr" if lang != "fr" else "en", value)
    assert first == catalogs.number(lang, value) == shown
