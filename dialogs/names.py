"""People's names as typed: invisible characters removed, look-alikes compared as one.

Why a table of our own rather than a library: the packages on PyPI either only detect mixed
scripts (confusable-homoglyphs, which ships the whole Unicode confusables file) or have not been
maintained for years (confusables, homoglyphs). Names on a sign-in sheet need much less: the
Cyrillic and Greek letters that look like Latin ones, which a keyboard layout switch or a copy
from another document brings in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Joiners that change how a script or an emoji is drawn (Persian and Indic text, family and
# flag emoji): visible meaning in free text, so they stay there. In a name they disguise.
_MEANINGFUL_JOINERS = frozenset("\u200c\u200d")

# Not of category Cf, yet drawn as nothing (or as blank): the combining grapheme joiner,
# Hangul fillers, Khmer inherent vowels, Mongolian free variation selectors and the
# variation selectors, which in a name only make the same letters compare different.
_INVISIBLE_IN_NAMES = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)

# Letters of other scripts drawn like a Latin letter in common fonts, mapped to that letter.
# Case is kept here and folded afterwards, because a capital and its small letter may look like
# different Latin letters (Greek Ν is N, ν is v; Cyrillic Н is H, н is not a look-alike).
# Accented forms need no entry: names are decomposed first (ё is е + diaeresis, so it becomes ë).
_LOOK_ALIKES = {
    # Cyrillic capitals
    "\u0410": "A",  # А
    "\u0412": "B",  # В
    "\u0415": "E",  # Е
    "\u041a": "K",  # К
    "\u041c": "M",  # М
    "\u041d": "H",  # Н
    "\u041e": "O",  # О
    "\u0420": "P",  # Р
    "\u0421": "C",  # С
    "\u0422": "T",  # Т
    "\u0423": "Y",  # У
    "\u0425": "X",  # Х
    "\u0405": "S",  # Ѕ
    "\u0406": "I",  # І (Ukrainian, Belarusian)
    "\u0408": "J",  # Ј (Serbian, Macedonian)
    "\u04ae": "Y",  # Ү
    "\u04ba": "H",  # Һ
    "\u04c0": "I",  # Ӏ palochka
    "\u051a": "Q",  # Ԛ
    "\u051c": "W",  # Ԝ
    # Cyrillic small letters
    "\u0430": "a",  # а
    "\u0435": "e",  # е
    "\u043e": "o",  # о
    "\u0440": "p",  # р
    "\u0441": "c",  # с
    "\u0443": "y",  # у
    "\u0445": "x",  # х
    "\u0455": "s",  # ѕ
    "\u0456": "i",  # і
    "\u0458": "j",  # ј
    "\u04bb": "h",  # һ
    "\u04af": "y",  # ү
    "\u04cf": "l",  # ӏ small palochka
    "\u0501": "d",  # ԁ
    "\u051b": "q",  # ԛ
    "\u051d": "w",  # ԝ
    # Greek capitals
    "\u0391": "A",  # Α
    "\u0392": "B",  # Β
    "\u0395": "E",  # Ε
    "\u0396": "Z",  # Ζ
    "\u0397": "H",  # Η
    "\u0399": "I",  # Ι
    "\u039a": "K",  # Κ
    "\u039c": "M",  # Μ
    "\u039d": "N",  # Ν
    "\u039f": "O",  # Ο
    "\u03a1": "P",  # Ρ
    "\u03a4": "T",  # Τ
    "\u03a5": "Y",  # Υ
    "\u03a7": "X",  # Χ
    "\u03f9": "C",  # Ϲ lunate sigma
    "\u037f": "J",  # Ϳ
    # Greek small letters
    "\u03b1": "a",  # α
    "\u03b3": "y",  # γ
    "\u03b9": "i",  # ι
    "\u03ba": "k",  # κ
    "\u03bd": "v",  # ν
    "\u03bf": "o",  # ο
    "\u03c1": "p",  # ρ
    "\u03c5": "u",  # υ
    "\u03c7": "x",  # χ
    "\u03f2": "c",  # ϲ lunate sigma
    "\u03f3": "j",  # ϳ
    # Latin letters without their dot or with a hook that look like plain ones
    "\u0131": "i",  # ı dotless i
    "\u0237": "j",  # ȷ dotless j
    "\u0261": "g",  # ɡ script g
}
_LOOK_ALIKE_TABLE = str.maketrans(_LOOK_ALIKES)


def _is_format(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def strip_invisible(text: str) -> str:
    """Free text without direction overrides, zero-width spaces, BOMs and other Cf characters.

    The joiners that scripts and emoji need (ZWJ, ZWNJ) are kept.
    """
    return "".join(ch for ch in text if ch in _MEANINGFUL_JOINERS or not _is_format(ch))


def strip_invisible_in_name(name: str) -> str:
    """A name without any character drawn as nothing (every Cf, the joiners included)."""
    return "".join(ch for ch in name if not _is_format(ch) and ch not in _INVISIBLE_IN_NAMES)


def name_skeleton(name: str) -> str:
    """What a name looks like: names with one skeleton are the same person on a sheet.

    Compatibility forms folded (fullwidth, ligatures), invisible characters dropped, Cyrillic
    and Greek look-alikes read as Latin, case folded, spaces collapsed.
    """
    text = strip_invisible_in_name(unicodedata.normalize("NFKC", name))
    text = unicodedata.normalize("NFD", text).translate(_LOOK_ALIKE_TABLE)
    text = unicodedata.normalize("NFC", text.casefold())
    return " ".join(text.split())


# Put where a participant's name was, in text kept for the Ethics Office. An invisible separator
# (Cf) can never come from what people type (clean_text drops every Cf character), so views can
# replace it with the catalog's "[name]" in the reader's language; a view that forgets shows
# nothing at all, never the name.
NAME_MASK = "\u2063"

# Words of a name too short to mask alone (initials, "Li", "Ng" would hit syllables of other
# words); a full name is masked whatever the length of its parts.
MIN_PART = 3
# Particles of family names: masking "van" or "del" alone would blank ordinary words.
_PARTICLES = frozenset(
    "abu al bin ben bint da das de del della der des di do dos du el ibn la las le los san st "
    "ten ter van von y".split()
)
# Names that are also everyday words in English, French or Spanish: masked alone only when
# written with a capital ("Grace said…"), not in "a grace period" or "we may".
_EVERYDAY = frozenset(
    "amber april august bill black brown can cruz dawn faith frank grace green grey gray hope "
    "jack joy june king long luz mark max may miles paz page pierre rich rosa rose ray sol "
    "summer sunny white will young".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_PIECE = re.compile(r"[^\W\d_]+")


def _mask_key(word: str) -> str:
    """A word as compared for masking: its skeleton without accents ("sofia" is Sofía)."""
    decomposed = unicodedata.normalize("NFD", name_skeleton(word))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class NameMask:
    """Finds the names of a session's sheet in free text, whole words only, and masks them."""

    def __init__(self, names: Iterable[str]) -> None:
        full: set[tuple[str, ...]] = set()
        parts: set[str] = set()
        for name in names:
            words = tuple(_mask_key(w) for w in _WORD.findall(unicodedata.normalize("NFC", name)))
            if not words:
                continue
            full.add(words)
            for word in words:
                # "Jean-Pierre" and "O'Connor" as written, and each of their pieces.
                for part in {word, *_PIECE.findall(word)}:
                    if len(part) >= MIN_PART and part not in _PARTICLES:
                        parts.add(part)
        # Longest names first, so "Mei Lin Wang" is one mask and not three.
        self._full = sorted((f for f in full if len(f) > 1), key=len, reverse=True)
        self._parts = frozenset(parts)

    def apply(self, text: str) -> str:
        """The text with every name of the sheet replaced by NAME_MASK; unchanged if none."""
        if not self._parts and not self._full:
            return text
        normalized = unicodedata.normalize("NFC", text)
        words = list(_WORD.finditer(normalized))
        keys = [_mask_key(m.group()) for m in words]
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            length = self._full_name_at(normalized, words, keys, i)
            if length:
                spans.append((words[i].start(), words[i + length - 1].end()))
                i += length
                continue
            spans += self._parts_of(words[i])
            i += 1
        if not spans:
            return text
        out, last = [], 0
        for start, end in spans:
            out += [normalized[last:start], NAME_MASK]
            last = end
        out.append(normalized[last:])
        return "".join(out)

    def _full_name_at(self, text: str, words: list[re.Match[str]], keys: list[str], i: int) -> int:
        for name in self._full:
            end = i + len(name)
            if tuple(keys[i:end]) != name:
                continue
            # The words of a name stand next to each other, with only spaces between them.
            if all(
                not text[words[j].end() : words[j + 1].start()].strip() for j in range(i, end - 1)
            ):
                return len(name)
        return 0

    def _parts_of(self, word: re.Match[str]) -> list[tuple[int, int]]:
        # All of the word, or runs of its pieces ("Thabo's", "O'Connor's", "Kenji-style"),
        # the longest run first.
        pieces = [
            (word.start() + p.start(), word.start() + p.end())
            for p in _PIECE.finditer(word.group())
        ]
        text = word.string
        spans = []
        i = 0
        while i < len(pieces):
            for j in range(len(pieces), i, -1):
                if self._masks(text[pieces[i][0] : pieces[j - 1][1]]):
                    spans.append((pieces[i][0], pieces[j - 1][1]))
                    i = j
                    break
            else:
                i += 1
        return spans

    def _masks(self, word: str) -> bool:
        """Whether this word (or run of pieces) is a participant's name."""
        key = _mask_key(word)
        if key not in self._parts:
            return False
        return key not in _EVERYDAY or word[:1].isupper()
