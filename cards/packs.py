"""Load and check the yearly content packs: `cards/packs/<cycle>/<language>.yaml`.

The English file of a cycle must be complete. A French or Spanish file holds only what has been
translated: whatever it leaves out (or leaves empty) is taken from the English file, marked
`translated=False`, and its path recorded in `ContentPack.untranslated`. A translation may not
add anything the English file lacks, and may not change numbers, formats or kinds.

Lists of items with an `id` (agenda sections, scenarios, polls, form items) are matched across
languages by id; other lists (questions, follow-ups, options...) are matched by position, and a
translation may hold `~` (null) in a position it has not translated yet.

Paths in messages count list items from 0: `scenarios[1].questions[2].text` is the text of the
third question of the second scenario. Check packs with `python -m cards.packs validate`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cards.content import (
    AgendaSection,
    ContentPack,
    EthicsOffice,
    FormItem,
    Point,
    Poll,
    PreparationStep,
    Question,
    Scenario,
    ScriptLine,
    Text,
    Tip,
)

ENGLISH = "en"
LANGUAGES = ("en", "fr", "es")
SESSION_MINUTES = 90  # the session plan's total
AGENDA_IDS = ("introduction", "opening", "scenarios", "conclusion")
FORMATS = ("written", "script", "video")
FORM_KINDS = ("rating", "text", "line", "number", "date", "scenarios")
# What the bot can prefill an Appendix C item with, and the kinds of input each fits.
PREFILLS = {
    "date": ("date",),
    "leader": ("line", "text"),
    "entity": ("line", "text"),
    "unit": ("line", "text"),
    "participants": ("number",),
    "personnel": ("number",),
    "scenarios": ("scenarios",),
    "questions": ("line", "text"),
}
# The Ethics Office's summary of Appendix C: two averaged ratings and the comments quoted.
SUMMARY_RATINGS = ("guide", "topics")
SUMMARIES = (*SUMMARY_RATINGS, "comment")
# Appendix F is anonymous and nothing about it is known beforehand: ratings and comments only.
ASSESSMENT_KINDS = ("rating", "text")
MAX_TEXT = 2000  # per string: an Adaptive Card must stay small
MIN_OPTIONS = 2
MAX_OPTIONS = 10
SUFFIX = ".yaml"
# The guide's pre-session checklist, in its order: "1-2 weeks ahead", "1-3 days ahead",
# "Dialogue Day". The leader's preparation card shows them under these ids.
PREPARATION_IDS = ("weeks_ahead", "days_ahead", "dialogue_day")

# Ids end up in card actions and storage keys; cycles end up in file paths (no "..").
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_CYCLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,100}\.[A-Za-z]{2,30}")
_PARENT = re.compile(r"(?:\.?[^.\[\]]+|\[\d+\])$")  # "a[1].b" -> "a[1]" -> "a" -> ""
_MAX_DEPTH = 40  # guards the line-number walk against self-referencing YAML anchors


# --------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a pack file: where it is and what is wrong."""

    file: str
    path: str
    problem: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "(file)"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{self.file}: {where}: {self.problem}"


class PackError(ValueError):
    """A pack file is missing, unreadable or wrong; the message lists every problem found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


# --------------------------------------------------------------------------------------------
# The shape of a pack file. Field names are the dataclass field names in cards/content.py.


@dataclass(frozen=True)
class _Spec:
    kind: str  # text | str | url | email | id | int | choice | pair | list | record
    required: bool = True
    fields: tuple[tuple[str, _Spec], ...] = ()  # record
    make: Any = None  # record: the dataclass to build
    item: _Spec | None = None  # list
    keyed: bool = False  # list of records matched across languages by id
    nonempty: bool = False  # list
    min_items: int = 0
    max_items: int | None = None
    choices: tuple[str, ...] = ()  # choice


def _text(required: bool = True) -> _Spec:
    return _Spec("text", required=required)


def _list(item: _Spec, required: bool = False, nonempty: bool = False, **kw: Any) -> _Spec:
    return _Spec("list", required=required, item=item, nonempty=nonempty, **kw)


def _record(make: Any, *fields: tuple[str, _Spec]) -> _Spec:
    return _Spec("record", fields=fields, make=make)


_ID_SPEC = _Spec("id")
_POINT = _record(Point, ("text", _text()), ("reference", _text(required=False)))
_QUESTION = _record(
    Question,
    ("text", _text()),
    ("follow_ups", _list(_text())),
    ("important_points", _list(_POINT)),
)
_POLL = _record(
    Poll,
    ("id", _ID_SPEC),
    ("question", _text()),
    (
        "options",
        _list(_text(), required=True, min_items=MIN_OPTIONS, max_items=MAX_OPTIONS),
    ),
)
_SCRIPT_LINE = _record(ScriptLine, ("speaker", _text()), ("line", _text()))
_SCENARIO = _record(
    Scenario,
    ("id", _ID_SPEC),
    ("number", _Spec("int")),
    ("title", _text()),
    ("format", _Spec("choice", choices=FORMATS)),
    ("suggested_minutes", _Spec("pair")),
    ("introduction", _text()),
    ("text", _list(_text())),
    ("script", _list(_SCRIPT_LINE)),
    ("video_url", _Spec("url", required=False)),
    ("questions", _list(_QUESTION, required=True, nonempty=True)),
    ("key_messages", _list(_text())),
    ("resources", _list(_text())),
    ("polls", _list(_POLL, keyed=True)),
)
_AGENDA = _record(
    AgendaSection,
    ("id", _ID_SPEC),
    ("title", _text()),
    ("minutes", _Spec("int")),
    ("activities", _text()),
    ("prompts", _list(_text())),
)
_FORM_ITEM = _record(
    FormItem,
    ("id", _ID_SPEC),
    ("text", _text()),
    ("kind", _Spec("choice", choices=FORM_KINDS)),
    ("prefill", _Spec("choice", required=False, choices=tuple(PREFILLS))),
    ("summary", _Spec("choice", required=False, choices=SUMMARIES)),
)
_TIP = _record(
    Tip,
    ("id", _ID_SPEC),
    ("title", _text()),
    ("items", _list(_text(), required=True, nonempty=True)),
)
_PREPARATION = _record(
    PreparationStep,
    ("id", _ID_SPEC),
    ("when", _text()),
    ("tasks", _list(_text(), required=True, nonempty=True)),
)
_ETHICS_OFFICE = _record(
    EthicsOffice,
    ("name", _text()),
    ("email", _Spec("email")),
    ("phone", _Spec("str")),
    ("website", _Spec("url")),
    ("helpline", _text()),
    ("resources", _list(_text(), required=True, nonempty=True)),
)
_PACK = _record(
    None,  # ContentPack also needs cycle, language and untranslated: built in _assemble
    ("source", _Spec("str")),
    ("title", _text()),
    ("minimum_scenarios", _Spec("int")),
    ("agenda", _list(_AGENDA, required=True, nonempty=True, keyed=True)),
    ("ground_rules", _list(_text(), required=True, nonempty=True)),
    ("general_questions", _list(_text(), required=True, nonempty=True)),
    ("opening_questions", _list(_text(), required=True, nonempty=True)),
    ("scenarios", _list(_SCENARIO, required=True, nonempty=True, keyed=True)),
    ("conclusion_remarks", _list(_text(), required=True, nonempty=True)),
    ("key_messages_recap", _list(_text(), required=True, nonempty=True)),
    ("pre_reading", _list(_text(), required=True, nonempty=True)),
    ("key_lessons", _list(_text(), required=True, nonempty=True)),
    ("facilitator_role", _list(_text(), required=True, nonempty=True)),
    ("tips", _list(_TIP, required=True, nonempty=True, keyed=True)),
    ("preparation", _list(_PREPARATION, required=True, nonempty=True, keyed=True)),
    ("scenario_choice", _list(_text(), required=True, nonempty=True)),
    ("ethics_office", _ETHICS_OFFICE),
    # Required so that a forgotten form is noticed; `[]` says "no such form this year".
    ("leader_feedback_form", _list(_FORM_ITEM, required=True, keyed=True)),
    ("participant_assessment_form", _list(_FORM_ITEM, required=True, keyed=True)),
)


# --------------------------------------------------------------------------------------------
# Reading a file


@dataclass
class _Doc:
    """A parsed pack file, its line numbers by path, and the problems found in it so far."""

    file: Path
    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def issue(self, path: str, problem: str) -> None:
        """Record a problem at a field path."""
        self.issues.append(Issue(str(self.file), path, problem, self.line(path)))

    def line(self, path: str) -> int | None:
        """The line of a path, or of its nearest parent that is in the file."""
        while path not in self.lines:
            if not path:
                return None
            path = _PARENT.sub("", path, count=1)
        return self.lines[path]


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk_nodes(doc: _Doc, node: yaml.Node, path: str, depth: int) -> None:
    """Note each path's line, and refuse a key given twice (YAML would keep the last silently)."""
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = _child(path, key)
            if key in seen:
                doc.issues.append(
                    Issue(
                        str(doc.file),
                        child,
                        "this field is given twice in the same place; keep only one",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            seen.add(key)
            doc.lines[child] = key_node.start_mark.line + 1
            _walk_nodes(doc, value_node, child, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk_nodes(doc, item, f"{path}[{index}]", depth + 1)


# libyaml's loader (in PyYAML's wheels) reads the packs 16 times faster than the pure-Python one,
# which was most of the bot's cold start; the same safe constructors either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(file: Path) -> _Doc:
    """Parse a pack file; raise PackError if it cannot be read or is not valid YAML."""
    try:
        source = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackError([Issue(str(file), "", "no such pack file")]) from None
    except UnicodeDecodeError as error:
        raise PackError([Issue(str(file), "", f"not UTF-8 text ({error.reason})")]) from None
    except OSError as error:
        raise PackError([Issue(str(file), "", f"cannot be read: {error.strerror}")]) from None
    try:
        data = yaml.load(source, Loader=_LOADER)
        node = yaml.compose(source, Loader=_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        reason = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
        raise PackError([Issue(str(file), where, reason)]) from None
    doc = _Doc(file, data)
    if node is not None:
        _walk_nodes(doc, node, "", 0)
    return doc


# --------------------------------------------------------------------------------------------
# Shape: types, required fields, unknown keys, lengths, ids


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return 'true/false (put quotes around words such as "Yes", "No", "On", "Off")'
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, (dt.date, dt.datetime)):
        return "a date (put quotes around it)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a group of fields"
    if value is None:
        return "nothing"
    return type(value).__name__


def _shape(doc: _Doc, spec: _Spec, value: Any, path: str, partial: bool) -> None:
    """Check one value against its spec; a partial (translated) file may leave anything out."""
    kind = spec.kind
    if kind in ("text", "str", "url", "email", "id", "choice"):
        if not isinstance(value, str):
            doc.issue(path, f"must be text, not {_describe(value)}")
            return
        if len(value) > MAX_TEXT:
            doc.issue(path, f"is {len(value)} characters long; the limit is {MAX_TEXT}")
        if kind == "text" and not partial and not value.strip():
            doc.issue(path, "is empty")
        elif kind == "id" and not _ID.fullmatch(value):
            doc.issue(
                path,
                f"'{value}' is not a valid id: use up to 40 letters, digits, '-' or '_'",
            )
        elif kind == "url" and value and not value.startswith("https://"):
            doc.issue(path, "must start with https://")
        elif kind == "email" and not _EMAIL.fullmatch(value):
            doc.issue(path, f"'{value}' is not an e-mail address (e.g. ethicsoffice@un.org)")
        elif kind == "choice" and value not in spec.choices:
            doc.issue(path, f"'{value}' must be one of: {', '.join(spec.choices)}")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            doc.issue(path, f"must be a whole number, not {_describe(value)}")
        elif value <= 0:
            doc.issue(path, f"must be more than 0 (is {value})")
    elif kind == "pair":
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        )
        if not ok:
            doc.issue(path, "must be [minimum, maximum] in minutes, e.g. [25, 30]")
        elif value[0] > value[1]:
            doc.issue(path, f"the minimum ({value[0]}) is more than the maximum ({value[1]})")
    elif kind == "list":
        _shape_list(doc, spec, value, path, partial)
    elif kind == "record":
        _shape_record(doc, spec, value, path, partial)


def _shape_list(doc: _Doc, spec: _Spec, value: Any, path: str, partial: bool) -> None:
    if not isinstance(value, list):
        doc.issue(path, f"must be a list (lines starting with '- '), not {_describe(value)}")
        return
    assert spec.item is not None
    if not partial:
        if spec.nonempty and not value:
            doc.issue(path, "must have at least one item")
        if len(value) < spec.min_items:
            doc.issue(path, f"has {len(value)} item(s); at least {spec.min_items} are needed")
    if spec.max_items is not None and len(value) > spec.max_items:
        doc.issue(path, f"has {len(value)} items; at most {spec.max_items} are allowed")
    first_index: dict[str, int] = {}
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if item is None:
            if not partial:
                doc.issue(item_path, "is empty")
            continue
        _shape(doc, spec.item, item, item_path, partial)
        if spec.keyed and isinstance(item, dict) and isinstance(item.get("id"), str):
            item_id = item["id"]
            if item_id in first_index:
                doc.issue(
                    f"{item_path}.id",
                    f"duplicate id '{item_id}' (also {path}[{first_index[item_id]}])",
                )
            else:
                first_index[item_id] = index


def _shape_record(doc: _Doc, spec: _Spec, value: Any, path: str, partial: bool) -> None:
    if not isinstance(value, dict):
        doc.issue(path, f"must be a group of fields (name: value), not {_describe(value)}")
        return
    names = [name for name, _ in spec.fields]
    for key in value:
        if not isinstance(key, str) or key not in names:
            shown = key if isinstance(key, str) else _describe(key)
            hint = difflib.get_close_matches(str(key), names, n=1)
            problem = f"unknown field '{shown}'"
            if hint:
                problem += f" (did you mean '{hint[0]}'?)"
            doc.issue(_child(path, str(key)), f"{problem}; expected one of: {', '.join(names)}")
    for name, field_spec in spec.fields:
        field_path = _child(path, name)
        item = value.get(name)
        if item is None:
            # Ids are how a translation finds its English item, so they are never optional.
            if field_spec.kind == "id" or (field_spec.required and not partial):
                doc.issue(field_path, "is missing" if name not in value else "is empty")
            continue
        _shape(doc, field_spec, item, field_path, partial)


# --------------------------------------------------------------------------------------------
# Rules that span fields (English file only: a translation cannot change these)


def _check_english(doc: _Doc) -> None:
    data = doc.data
    agenda = data["agenda"]
    ids = tuple(section["id"] for section in agenda)
    if ids != AGENDA_IDS:
        doc.issue(
            "agenda",
            f"the sections must be {', '.join(AGENDA_IDS)}, in this order (found {', '.join(ids)})",
        )
    total = sum(section["minutes"] for section in agenda)
    if total != SESSION_MINUTES:
        doc.issue(
            "agenda",
            f"the sections' minutes add up to {total}; the session plan needs {SESSION_MINUTES}",
        )
    scenarios = data["scenarios"]
    if data["minimum_scenarios"] > len(scenarios):
        doc.issue(
            "minimum_scenarios",
            f"is {data['minimum_scenarios']} but the pack has only {len(scenarios)} scenario(s)",
        )
    numbers: dict[int, int] = {}
    polls: dict[str, str] = {}
    for index, scenario in enumerate(scenarios):
        path = f"scenarios[{index}]"
        if scenario["number"] in numbers:
            doc.issue(
                f"{path}.number",
                f"duplicate number {scenario['number']} "
                f"(also scenarios[{numbers[scenario['number']]}])",
            )
        numbers.setdefault(scenario["number"], index)
        if scenario["format"] == "written" and not scenario.get("text"):
            doc.issue(f"{path}.text", "a written scenario needs its text")
        if scenario["format"] == "script" and not scenario.get("script"):
            doc.issue(f"{path}.script", "a script scenario needs its script lines")
        for poll_index, poll in enumerate(scenario.get("polls") or []):
            poll_path = f"{path}.polls[{poll_index}].id"
            if poll["id"] in polls:
                doc.issue(poll_path, f"duplicate poll id '{poll['id']}' (also {polls[poll['id']]})")
            polls.setdefault(poll["id"], poll_path)
    preparation = tuple(step["id"] for step in data["preparation"])
    if preparation != PREPARATION_IDS:
        doc.issue(
            "preparation",
            f"the steps must be {', '.join(PREPARATION_IDS)}, in this order "
            f"(found {', '.join(preparation)})",
        )
    _check_forms(doc)
    # Each form's own duplicates are reported by the shape check; here, ids shared by both forms.
    first_form: dict[str, str] = {}
    for form in ("leader_feedback_form", "participant_assessment_form"):
        for index, item in enumerate(data[form]):
            other = first_form.setdefault(item["id"], f"{form}[{index}].id")
            if not other.startswith(f"{form}["):
                doc.issue(
                    f"{form}[{index}].id", f"duplicate form item id '{item['id']}' (also {other})"
                )


def _check_forms(doc: _Doc) -> None:
    """Each prefill fits its input, each summary place is taken once, Appendix F stays plain
    (ratings and text, and only `summary: comment` on a text item)."""
    taken: dict[str, str] = {}
    for index, item in enumerate(doc.data["leader_feedback_form"]):
        path = f"leader_feedback_form[{index}]"
        kind, prefill, summary = item["kind"], item.get("prefill"), item.get("summary")
        if prefill and kind not in PREFILLS[prefill]:
            fits = " or ".join(PREFILLS[prefill])
            doc.issue(f"{path}.prefill", f"'{prefill}' fills a {fits} item, not a {kind} item")
        if summary in SUMMARY_RATINGS:
            if kind != "rating":
                doc.issue(
                    f"{path}.summary", f"'{summary}' averages a rating item, not a {kind} item"
                )
            elif summary in taken:
                doc.issue(f"{path}.summary", f"'{summary}' is already {taken[summary]}")
            taken.setdefault(summary, f"{path}.summary")
        elif summary == "comment" and kind not in ("text", "line"):
            doc.issue(f"{path}.summary", f"a comment is a text or line item, not a {kind} item")
    for index, item in enumerate(doc.data["participant_assessment_form"]):
        path = f"participant_assessment_form[{index}]"
        if item["kind"] not in ASSESSMENT_KINDS:
            doc.issue(
                f"{path}.kind", f"Appendix F takes only {' and '.join(ASSESSMENT_KINDS)} items"
            )
        if item.get("prefill"):
            doc.issue(f"{path}.prefill", "is for Appendix C (leader_feedback_form) only")
        # Appendix F's one summary place: a text item the Ethics Office reads (the suggestions
        # for future Dialogues), aggregated by entity; ratings reach it anyway, nothing else does.
        summary = item.get("summary")
        if summary and (summary != "comment" or item["kind"] != "text"):
            doc.issue(f"{path}.summary", "Appendix F takes only 'comment', on a text item")


# --------------------------------------------------------------------------------------------
# Merging a translation over English, and building the dataclasses


@dataclass
class _Merge:
    """The translation being merged: where to report problems, and what fell back to English."""

    doc: _Doc
    untranslated: list[str] = field(default_factory=list)


def _merge(m: _Merge, spec: _Spec, en: Any, tr: Any, en_path: str, tr_path: str) -> Any:
    """One value of the pack in the target language; English where the translation has none."""
    kind = spec.kind
    if kind == "text":
        if isinstance(tr, str) and tr.strip():
            return Text(tr)
        if en is None:
            return None  # an optional text (a point's reference) that English leaves out
        m.untranslated.append(en_path)
        return Text(en, translated=False)
    if kind in ("str", "url", "email"):
        # A translation may point at its own video, or cite the source in its language.
        return tr if isinstance(tr, str) and tr else (en or "")
    if kind in ("int", "choice", "pair"):
        if tr is not None and tr != en:
            m.doc.issue(tr_path, f"must be the same as in en.yaml ({en!r}), not {tr!r}")
        if en is None:
            return ""  # an optional choice English leaves out (a form item's prefill or summary)
        return tuple(en) if kind == "pair" else en
    if kind == "id":
        return en
    if kind == "list":
        return _merge_list(m, spec, en or [], tr or [], en_path, tr_path)
    return _merge_record(m, spec, en, tr if isinstance(tr, dict) else {}, en_path, tr_path)


def _merge_list(
    m: _Merge, spec: _Spec, en: list[Any], tr: list[Any], en_path: str, tr_path: str
) -> tuple[Any, ...]:
    assert spec.item is not None
    if not spec.keyed:
        if len(tr) > len(en):
            m.doc.issue(
                f"{tr_path}[{len(en)}]",
                f"en.yaml has only {len(en)} item(s) here; a translation cannot add items",
            )
        return tuple(
            _merge(
                m,
                spec.item,
                item,
                tr[index] if index < len(tr) else None,
                f"{en_path}[{index}]",
                f"{tr_path}[{index}]",
            )
            for index, item in enumerate(en)
        )
    english_ids = [item["id"] for item in en]
    found: dict[str, tuple[int, Any]] = {}
    for index, item in enumerate(tr):
        if item is None:
            continue
        if item["id"] not in english_ids:
            shown = ", ".join(english_ids) or "none"
            m.doc.issue(
                f"{tr_path}[{index}].id",
                f"'{item['id']}' is not in en.yaml (ids there: {shown}); "
                "a translation cannot add items",
            )
        found.setdefault(item["id"], (index, item))
    merged = []
    for index, item in enumerate(en):
        tr_index, tr_item = found.get(item["id"], (index, None))
        merged.append(
            _merge(m, spec.item, item, tr_item, f"{en_path}[{index}]", f"{tr_path}[{tr_index}]")
        )
    return tuple(merged)


def _merge_record(
    m: _Merge, spec: _Spec, en: dict[str, Any], tr: dict[str, Any], en_path: str, tr_path: str
) -> Any:
    values = {}
    for name, field_spec in spec.fields:
        en_value, tr_value = en.get(name), tr.get(name)
        own = field_spec.kind in ("str", "url", "email")  # may differ by language, see _merge
        if not own and en_value in (None, [], "") and tr_value not in (None, [], ""):
            m.doc.issue(
                _child(tr_path, name),
                "en.yaml has nothing here; a translation cannot add items",
            )
            tr_value = None  # reported once, here
        values[name] = _merge(
            m, field_spec, en_value, tr_value, _child(en_path, name), _child(tr_path, name)
        )
    return spec.make(**values) if spec.make is not None else values


def _assemble(cycle: str, language: str, english: _Doc, translation: _Doc) -> ContentPack:
    merge = _Merge(translation)
    values = _merge(merge, _PACK, english.data, translation.data, "", "")
    if translation.issues:
        raise PackError(translation.issues)
    return ContentPack(
        cycle=cycle, language=language, untranslated=tuple(merge.untranslated), **values
    )


# --------------------------------------------------------------------------------------------
# Loading


def default_root() -> Path:
    """The folder of the packs shipped with the bot."""
    return Path(__file__).resolve().parent / "packs"


def _checked(file: Path, english: bool) -> _Doc:
    """A parsed file whose shape is right (and, for English, whose cross-field rules hold)."""
    doc = _read(file)
    if doc.data is None and not english:
        doc.data = {}  # an empty translation: nothing translated yet
    if doc.data is None:
        doc.issue("", "the file is empty")
    else:
        _shape(doc, _PACK, doc.data, "", partial=not english)
        if english and not doc.issues:
            _check_english(doc)
    if doc.issues:
        raise PackError(doc.issues)
    return doc


def _pack_file(root: Path, cycle: str, language: str) -> Path:
    file = root / cycle / f"{language}{SUFFIX}"
    if not _CYCLE.fullmatch(cycle):
        raise PackError(
            [Issue(str(file), "", f"'{cycle}' is not a valid cycle folder name (e.g. 2023)")]
        )
    if language not in LANGUAGES:
        raise PackError(
            [Issue(str(file), "", f"the language must be one of {', '.join(LANGUAGES)}")]
        )
    return file


def load_pack(cycle: str, language: str, root: Path | None = None) -> ContentPack:
    """The pack of one cycle in one language, with English filling what is not translated."""
    root = default_root() if root is None else Path(root)
    file = _pack_file(root, cycle, language)
    english = _checked(_pack_file(root, cycle, ENGLISH), english=True)
    translation = english if language == ENGLISH else _checked(file, english=False)
    return _assemble(cycle, language, english, translation)


def _files(root: Path) -> Iterator[tuple[str, str, Path]]:
    """Every (cycle, language, file) under a root, including misnamed files (to report them)."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")):
            continue  # __pycache__, editor folders
        for file in sorted(folder.iterdir()):
            if file.suffix in (SUFFIX, ".yml"):
                yield folder.name, file.stem, file


def _problems_with_name(cycle: str, language: str, file: Path) -> list[Issue]:
    if file.suffix != SUFFIX:
        return [Issue(str(file), "", f"pack files must end in {SUFFIX}")]
    if language not in LANGUAGES:
        names = ", ".join(f"{lang}{SUFFIX}" for lang in LANGUAGES)
        return [Issue(str(file), "", f"the file name must be one of {names}")]
    if not (file.parent / f"{ENGLISH}{SUFFIX}").is_file():
        return [Issue(str(file.parent / f"{ENGLISH}{SUFFIX}"), "", "no such pack file")]
    if not _CYCLE.fullmatch(cycle):
        return [Issue(str(file), "", f"'{cycle}' is not a valid cycle folder name")]
    return []


def load_all(root: Path | None = None) -> dict[tuple[str, str], ContentPack]:
    """Every pack under the root, by (cycle, language); PackError lists all problems found."""
    root = default_root() if root is None else Path(root)
    if not root.is_dir():
        raise PackError([Issue(str(root), "", "no such folder")])
    packs: dict[tuple[str, str], ContentPack] = {}
    issues: list[Issue] = []
    for cycle, language, file in _files(root):
        named = _problems_with_name(cycle, language, file)
        if named:
            issues.extend(i for i in named if i not in issues)
            continue
        try:
            packs[cycle, language] = load_pack(cycle, language, root)
        except PackError as error:
            issues.extend(i for i in error.issues if i not in issues)
    if issues:
        raise PackError(issues)
    return packs


# --------------------------------------------------------------------------------------------
# Command line: python -m cards.packs validate [FILE_OR_DIR ...]


def _targets(paths: Sequence[str]) -> Iterator[tuple[str, str, Path] | Issue]:
    if not paths:
        yield from _files(default_root())
        return
    for name in paths:
        path = Path(name)
        if path.is_file():
            yield path.parent.name, path.stem, path
        elif path.is_dir() and any(path.glob(f"*{SUFFIX}")):
            yield from ((path.name, f.stem, f) for f in sorted(path.glob("*.y*ml")))
        elif path.is_dir():
            yield from _files(path)
        else:
            yield Issue(name, "", "no such file or folder")


def main(argv: Sequence[str] | None = None) -> int:
    """Check pack files and print one line per pack; return 1 if anything is wrong."""
    parser = argparse.ArgumentParser(
        prog="python -m cards.packs", description="Check the Dialogue content packs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser(
        "validate", help="check pack files (default: every shipped pack)"
    )
    validate.add_argument("paths", nargs="*", metavar="FILE_OR_DIR")
    arguments = parser.parse_args(argv)

    failed = False
    shown: set[Issue] = set()  # an English problem would otherwise repeat for fr and es
    for target in _targets(arguments.paths):
        if isinstance(target, Issue):
            print(f"ERROR {target}")
            failed = True
            continue
        cycle, language, file = target
        issues = _problems_with_name(cycle, language, file)
        if not issues:
            try:
                pack = load_pack(cycle, language, file.parent.parent)
            except PackError as error:
                issues = list(error.issues)
            else:
                count = len(pack.untranslated)
                print(f"OK {cycle} {language} ({count} items not yet translated)")
                continue
        failed = True
        print(f"FAILED {cycle} {language}")
        fresh = [issue for issue in issues if issue not in shown]
        for issue in fresh:
            print(f"  {issue}")
        if not fresh:
            print("  (the problems shown above)")
        shown.update(fresh)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
