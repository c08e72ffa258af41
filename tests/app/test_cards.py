"""Cards and catalogs: every template valid in every language, and no string outside catalogs."""

from __future__ import annotations

import json
import re
import string
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.meeting.views import MeetingViews
from bot.signin.views import LEADER, MONITOR, PARTICIPANT, MeetingHint, SignInViews
from bot.teams.replies import Notice, Replies
from cards.catalog import LANGUAGES, Catalogs, resolve_language
from cards.renderer import CardRenderer
from dialogs.signin import SIGNIN, SIGNIN_CLOSED, Sheet
from storage.records import AttendeeRecord, Person, SessionRecord
from testing.cardcheck import CardChecker
from testing.env import ENTITIES, ROOT
from testing.teams import card_text

# Properties whose strings a person reads.
VISIBLE = {"text", "title", "label", "placeholder", "errorMessage", "altText", "fallbackText"}
BINDING = re.compile(r"^(\$\{[!$\w.]+\}|@\{[\w.]+(\|[$\w.]+)?\})$")
CATALOG_REF = re.compile(r"@\{([\w.]+)")


@pytest.fixture(scope="module")
def renderer() -> CardRenderer:
    return CardRenderer(Catalogs.load())


@pytest.fixture(scope="module")
def views(renderer: CardRenderer) -> SignInViews:
    # The card builders only: no directory is read.
    return SignInViews(renderer, Replies(renderer), directory=None)  # type: ignore[arg-type]


MEETING_COMMANDS = ["start", "sheet", "agenda", "end", "remind"]
PERSONAL_COMMANDS = [
    "help",
    "feedback",
    "questions",
    "progress",
    "report",
    "admin",
    "focal",
    "prepare",
]
COMMANDS = {"meeting": MEETING_COMMANDS, "personal": PERSONAL_COMMANDS}


def walk_strings(node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk_strings(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item, key)
    elif isinstance(node, str):
        yield key, node


def test_templates_hold_no_literal_user_visible_string(renderer: CardRenderer):
    literals = [
        (name, key, value)
        for name in renderer.template_names()
        for key, value in walk_strings(renderer.template(name))
        if key in VISIBLE and value.strip() and not BINDING.match(value)
    ]
    assert literals == []


def test_every_catalog_key_a_template_uses_exists(renderer: CardRenderer):
    keys = renderer.catalogs.keys()
    used = {
        match
        for name in renderer.template_names()
        for _, value in walk_strings(renderer.template(name))
        for match in CATALOG_REF.findall(value)
    }
    assert used and used <= keys, sorted(used - keys)


def test_catalogs_agree_on_keys_and_fields(renderer: CardRenderer):
    catalogs = renderer.catalogs

    def fields(entry) -> set[str]:
        texts = entry.values() if isinstance(entry, dict) else [entry]
        return {f for text in texts for _, f, _, _ in string.Formatter().parse(text) if f}

    for key in catalogs.keys():
        expected = fields(catalogs.raw("en", key))
        for lang in LANGUAGES:
            assert fields(catalogs.raw(lang, key)) == expected, (lang, key)
            assert catalogs.raw(lang, key), (lang, key)


def test_a_catalog_missing_a_key_is_refused():
    with pytest.raises(ValueError, match="fr differs"):
        Catalogs({"en": {"a": "A", "b": "B"}, "fr": {"a": "A"}, "es": {"a": "A", "b": "B"}})


def test_locales_resolve_to_supported_languages():
    assert resolve_language("fr-FR") == "fr"
    assert resolve_language("es-419") == "es"
    assert resolve_language("de-DE") == "en"
    assert resolve_language(None) == "en"


def test_plural_forms_and_local_formats(renderer: CardRenderer):
    catalogs = renderer.catalogs
    assert catalogs.text("en", "signin.count", {"count": 1}) == "1 participant signed in"
    assert catalogs.text("fr", "signin.count", {"count": 0}) == "0 participant a émargé"
    assert catalogs.text("es", "signin.count", {"count": 2}) == "2 participantes registrados"
    assert catalogs.date("fr", date(2026, 11, 20)) == "20 novembre 2026"
    assert catalogs.date("es", date(2026, 11, 20)) == "20 de noviembre de 2026"
    assert catalogs.number("fr", 12500).replace("\u202f", " ") == "12 500"


def sample_sheet(status: str, count: int, hints: int = 0) -> Sheet:
    now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    session = SessionRecord(
        session_id="a" * 24,
        cycle=2026,
        entity="DESA",
        unit="Population Division <script>*bold*</script>",
        personnel=40,
        language="en",
        session_date=date(2026, 11, 20),
        leader=Person("0" * 8 + "-0000-0000-0000-" + "0" * 12, "29:leader", "Amina Diallo"),
        conversation_id="19:meeting@thread.v2",
        tenant_id="t",
        service_url="https://smba.example/",
        bot_id="28:bot",
        card_id="1",
        created_at=now,
        status=status,
        monitors=[Person("m", "29:monitor", "Kenji Watanabe")],
    )
    rows = [
        AttendeeRecord(
            key=f"u{n:04d}",
            name=f"Participant Number {n} with a Rather Long Name",
            source="self",
            signed_at=now,
            aad_id=f"{n:04d}",
            mri=f"29:{n}",
            category="non_staff" if n % 5 == 0 else "staff",
            agency="UNHCR" if n % 7 == 0 else "",
        )
        for n in range(count)
    ]
    rows += [
        AttendeeRecord(
            key=f"h{n}", name=f"Joiner {n}", source="hint", signed_at=now, aad_id=f"h{n}"
        )
        for n in range(hints)
    ]
    return Sheet(session, rows)


def every_card(views: SignInViews, replies: Replies) -> list[tuple[str, dict]]:
    today = date(2026, 11, 21)
    cards = []
    for lang in LANGUAGES:
        notice = Notice("error.too_long", {"field": "unit", "max": 120}, "attention")
        entities = [
            (code, name) for code, _, name in (e.partition("=") for e in ENTITIES.split(";"))
        ]
        cards.append((f"setup-{lang}", views.setup_card(lang, today, entities)))
        cards.append(
            (
                f"setup-error-{lang}",
                views.setup_card(lang, today, entities, {"personnel": "12"}, notice),
            )
        )
        start = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
        hints = (
            MeetingHint("Dialogue *Budget*", start, start + timedelta(minutes=90), "Mei", False),
            MeetingHint("", None, None, "", True),
        )
        for n, hint in enumerate(hints):
            cards.append(
                (f"setup-meeting-{n}-{lang}", views.setup_card(lang, today, entities, meeting=hint))
            )
        meeting_views = MeetingViews(views._renderer, replies)
        for status in (SIGNIN, SIGNIN_CLOSED):
            session = sample_sheet(status, 0).session
            for stage in ("opening", "conclusion", "concluded"):
                cards.append(
                    (
                        f"meeting-end-{lang}-{status}-{stage}",
                        meeting_views.end_prompt(replace(session, stage=stage), lang, notice),
                    )
                )
        cards.append(
            (f"help-{lang}", replies.help(lang, in_personal=True, unknown="*what*", **COMMANDS))
        )
        cards.append((f"help-chat-{lang}", replies.help(lang, in_personal=False, **COMMANDS)))
        cards.append((f"notice-{lang}", replies.notice(lang, Notice("error.no_session", {}))))
        for status in (SIGNIN, SIGNIN_CLOSED):
            for count in (0, 3, 25, 120):
                sheet = sample_sheet(status, count, hints=2)
                me = sheet.attendees[0] if count else None
                for viewer in (PARTICIPANT, LEADER, MONITOR):
                    label = f"sheet-{lang}-{status}-{count}-{viewer}"
                    cards.append(
                        (label, views.sheet_card(sheet, lang, viewer=viewer, notice=notice))
                    )
                if me:
                    cards.append((f"{label}-me", views.sheet_card(sheet, lang, me=me)))
            # Only people added by name (no Teams id): nobody can be named monitor.
            named = sample_sheet(status, 2)
            named = Sheet(named.session, [replace(r, aad_id="", mri="") for r in named.attendees])
            cards.append((f"named-{lang}-{status}", views.sheet_card(named, lang, viewer=LEADER)))
    return cards


def test_every_card_passes_the_schema_and_the_renderer(views: SignInViews, renderer):
    cards = every_card(views, Replies(renderer))
    assert len(cards) > 100
    assert CardChecker(ROOT / "node_modules").check(cards) == []


def test_participant_view_never_lists_names_and_leader_view_does(views: SignInViews):
    sheet = sample_sheet(SIGNIN, 3)
    name = sheet.attendees[1].name
    assert name not in str(views.sheet_card(sheet, "en", viewer=PARTICIPANT))
    assert name not in str(views.sheet_card(sheet, "en", me=sheet.attendees[0]))
    assert name in str(views.sheet_card(sheet, "en", viewer=LEADER))


def test_user_text_cannot_inject_markdown(views: SignInViews):
    text = card_text(views.sheet_card(sample_sheet(SIGNIN, 1), "en", viewer=LEADER))
    assert "\\<script\\>\\*bold\\*\\</script\\>" in text
    assert "<script>" not in text


def test_a_large_sheet_still_fits_in_a_teams_message(views: SignInViews):
    import json

    card = views.sheet_card(sample_sheet(SIGNIN, 150), "en", viewer=LEADER)
    assert len(json.dumps(card).encode()) < 40_000


def test_untranslated_pack_items_say_so_plainly(renderer: CardRenderer):
    from dataclasses import replace

    from bot.session.views import DialogueViews
    from cards.content import Text
    from cards.packs import load_pack

    pack = load_pack("2023", "fr")
    scenario = pack.scenarios[0]
    english = replace(scenario, introduction=Text("Read this aloud.", translated=False))
    session = sample_sheet(SIGNIN, 0).session
    card = DialogueViews(renderer, Replies(renderer), None).scenario_card(
        session, english, "fr", leader=False, seconds=0.0
    )
    text = card_text(card)
    assert "Read this aloud. (pas encore traduit)" in text
    assert "pas encore traduite et s'affiche en anglais" in text
    translated = DialogueViews(renderer, Replies(renderer), None).scenario_card(
        session, scenario, "fr", leader=False, seconds=0.0
    )
    assert "pas encore traduit" not in card_text(translated)


def guide_content_cards(renderer: CardRenderer) -> list[tuple[str, dict]]:
    """The cards built from the guide's content: help with the pack, prepare, Appendix D, and
    the video scenario with and without its link, for the leader and a participant."""
    from bot.prepare.views import PrepareViews
    from bot.session.views import DialogueViews
    from cards.packs import load_pack

    replies = Replies(renderer)
    dialogue = DialogueViews(renderer, replies, None)
    session = sample_sheet(SIGNIN, 0).session
    cards = []
    for lang in LANGUAGES:
        pack = load_pack("2023", lang)
        cards.append(
            (f"help-pack-{lang}", replies.help(lang, in_personal=True, pack=pack, **COMMANDS))
        )
        cards.append((f"prepare-{lang}", PrepareViews(renderer, replies).prepare_card(pack, lang)))
        cards.append(
            (
                f"prepare-sheet-{lang}",
                PrepareViews(renderer, replies).prepare_card(
                    pack, lang, sid=session.session_id, notice=Notice("error.no_session", {})
                ),
            )
        )
        cards.append((f"prereading-{lang}", dialogue.prereading_card(pack, lang, session)))
        cards.append(
            (f"prereading-back-{lang}", dialogue.prereading_card(pack, lang, session, back=True))
        )
        video = next(s for s in pack.scenarios if s.format == "video")
        for leader in (True, False):
            for url in ("", "https://media.un.org/en/asset/k1x"):
                cards.append(
                    (
                        f"video-{lang}-{leader}-{bool(url)}",
                        dialogue.scenario_card(
                            session, video, lang, leader=leader, seconds=0.0, video_url=url
                        ),
                    )
                )
    return cards


def test_the_guide_content_cards_pass_the_schema_and_the_renderer(renderer: CardRenderer):
    cards = guide_content_cards(renderer)
    assert CardChecker(ROOT / "node_modules").check(cards) == []
    shown = {name: card_text(card) for name, card in cards}
    assert "No video configured" in shown["video-en-True-False"]
    assert "No video configured" not in shown["video-en-False-False"]
    assert "No video configured" not in shown["video-en-True-True"]
    assert "Aucune vidéo n'est configurée" in shown["video-fr-True-False"]
    assert "Participant's pre-reading (Appendix D)" in shown["prereading-en"]
    assert "Lectures préalables des participants" in shown["prereading-fr"]
    assert "Conseils à l'animateur" in shown["help-pack-fr"]


def test_no_catalog_key_is_written_twice():
    # json.load keeps the last of two equal keys silently: a merge could hide a translation.
    for lang in LANGUAGES:
        path = ROOT / "cards" / "catalogs" / f"{lang}.json"
        pairs = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=lambda p: p)
        keys = [key for key, _ in pairs]
        assert sorted(k for k in set(keys) if keys.count(k) > 1) == [], lang


# A Teams card column is about 460 px of text; bold 14 px text averages about 7.5 px a character,
# and a table cell pads about 16 px. A header word wider than its column breaks mid-word.
CARD_TEXT_PX, BOLD_CHAR_PX, CELL_PADDING_PX = 460, 7.5, 16


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_table_header_word_is_wider_than_its_column(renderer: CardRenderer, lang: str):
    too_wide = []
    for name in renderer.template_names():
        for _, node in _tables(renderer.template(name)):
            widths = [float(c.get("width", 1)) for c in node["columns"]]
            header = node["rows"][0]["cells"]
            for width, cell in zip(widths, header, strict=True):
                room = CARD_TEXT_PX * width / sum(widths) - CELL_PADDING_PX
                for block in cell["items"]:
                    for key in CATALOG_REF.findall(block.get("text", "")):
                        words = renderer.catalogs.text(lang, key, {}).split()
                        longest = max(words, key=len)
                        if len(longest) * BOLD_CHAR_PX > room:
                            too_wide.append(f"{name}: {longest!r} in {room:.0f} px")
    assert not too_wide, too_wide


def _tables(node, key=None):
    if isinstance(node, dict):
        if node.get("type") == "Table" and node.get("firstRowAsHeader"):
            yield key, node
        for k, v in node.items():
            yield from _tables(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _tables(item, key)
