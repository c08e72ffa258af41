"""The content packs the bot serves, loaded and validated once at start."""

from __future__ import annotations

from collections.abc import Mapping

from cards.catalog import DEFAULT_LANGUAGE, resolve_language
from cards.content import ContentPack


class PackLibrary:
    """Packs by (cycle, language); a language without its own pack falls back to English."""

    def __init__(self, packs: Mapping[tuple[str, str], ContentPack]) -> None:
        self._packs = dict(packs)

    def has(self, pack_id: str) -> bool:
        """Whether the English pack for this cycle exists (every pack needs one)."""
        return (pack_id, DEFAULT_LANGUAGE) in self._packs

    def get(self, pack_id: str, language: str | None) -> ContentPack:
        """The pack in this language, or in English."""
        lang = resolve_language(language)
        return self._packs.get((pack_id, lang)) or self._packs[(pack_id, DEFAULT_LANGUAGE)]

    def ids(self) -> list[str]:
        """Every cycle with a pack."""
        return sorted({cycle for cycle, _ in self._packs})
