"""The content packs: the shipped ones load, and broken ones are refused with a useful message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cards.content import ContentPack, Text
from cards.packs import LANGUAGES, PackError, default_root, load_all, load_pack

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = default_root()


def _english() -> dict[str, Any]:
    return yaml.safe_load((SHIPPED / "2023" / "en.yaml").read_text(encoding="utf-8"))


def _write(root: Path, language: str, data: Any, cycle: str = "2023") -> Path:
    folder = root / cycle
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{language}.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    file.write_text(text, encoding="utf-8")
    return file


def _refused(root: Path, language: str = "en") -> str:
    with pytest.raises(PackError) as caught:
        load_pack("2023", language, root)
    return str(caught.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cards.packs", "validate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --------------------------------------------------------------------------------------------
# The shipped packs


def test_every_shipped_pack_loads() -> None:
    packs = load_all()
    assert {("2023", language) for language in LANGUAGES} <= set(packs)
    for (cycle, language), pack in packs.items():
        assert isinstance(pack, ContentPack)
        assert (pack.cycle, pack.language) == (cycle, language)


def test_english_is_complete() -> None:
    pack = load_pack("2023", "en")
    assert pack.untranslated == ()
    assert pack.title == Text("Personal use of social media: How is my online behaviour?")
    assert pack.source == "United Nations Ethics Office, Leadership Dialogue 2023 Leader's Guide"
    assert all(q.translated for s in pack.scenarios for q in s.questions[0].follow_ups)


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_2023_translations_are_complete(language: str) -> None:
    english = load_pack("2023", "en")
    pack = load_pack("2023", language)
    assert pack.language == language
    assert pack.title.translated and pack.title != english.title
    # What the leader reads aloud and the points they may raise, all in the session's language.
    assert pack.untranslated == ()
    for translated, original in zip(pack.scenarios, english.scenarios, strict=True):
        assert translated.title.translated
        assert translated.title.value != original.title.value
        first = translated.questions[0]
        assert first.follow_ups[0].translated
        assert first.follow_ups[0].value != original.questions[0].follow_ups[0].value
        assert first.important_points[0].text.translated
        assert translated.polls[0].options[0].translated
    assert all(item.text.translated for item in pack.leader_feedback_form)
    assert all(item.text.translated for item in pack.participant_assessment_form)
    # Structure comes from English whatever the language.
    assert [a.minutes for a in pack.agenda] == [a.minutes for a in english.agenda]
    assert [f.kind for f in pack.leader_feedback_form] == [
        f.kind for f in english.leader_feedback_form
    ]


def test_the_2023_pack_follows_the_leaders_guide() -> None:
    pack = load_pack("2023", "en")
    assert [(a.id, a.minutes) for a in pack.agenda] == [
        ("introduction", 10),
        ("opening", 10),
        ("scenarios", 65),
        ("conclusion", 5),
    ]
    assert sum(a.minutes for a in pack.agenda) == 90
    assert all(a.activities.value and a.prompts for a in pack.agenda)
    assert pack.minimum_scenarios == 2
    assert [(s.id, s.number, s.format) for s in pack.scenarios] == [
        ("s1", 1, "written"),
        ("s2", 2, "script"),
        ("s3", 3, "video"),
    ]
    for scenario in pack.scenarios:
        assert scenario.suggested_minutes == (25, 30)
        assert scenario.questions and scenario.key_messages and scenario.resources
        assert len(scenario.polls) == 2
        for question in scenario.questions:
            assert question.follow_ups
            assert question.important_points
            assert any(point.reference for point in question.important_points)
    s1, s2, s3 = pack.scenarios
    assert s1.text and not s1.script
    assert s2.script and s3.script and s3.video_url == ""
    outside = s1.questions[2].important_points[0]
    assert outside.text.value.startswith("Outside activities")
    assert outside.reference == Text(
        "Staff Regs 1.2 (o) (p), Staff Rule 1.2 (r), ST/AI/2000/13, ST/IC/2006/30"
    )
    assert len(pack.opening_questions) == 6
    assert len(pack.key_messages_recap) == 4
    assert len(pack.pre_reading) == 5
    form = pack.leader_feedback_form
    assert [item.id for item in form] == [f"c{n}" for n in range(1, 16)]
    # The guide's items 1-6 and 8 are facts the bot knows; 12, the questions it kept.
    assert [(item.id, item.kind, item.prefill) for item in form if item.prefill] == [
        ("c1", "date", "date"),
        ("c2", "line", "leader"),
        ("c3", "line", "entity"),
        ("c4", "line", "unit"),
        ("c5", "number", "participants"),
        ("c6", "number", "personnel"),
        ("c8", "scenarios", "scenarios"),
        ("c12", "text", "questions"),
    ]
    kinds = {item.id: item.kind for item in form}
    assert {i for i, k in kinds.items() if k == "rating"} == {"c7", "c9"}
    assert {i for i, k in kinds.items() if k == "text"} == {f"c{n}" for n in range(10, 16)}
    # The Ethics Office's summary: the two ratings averaged, four answers quoted.
    assert {item.id: item.summary for item in form if item.summary} == {
        "c7": "guide",
        "c9": "topics",
        **dict.fromkeys(("c10", "c11", "c13", "c14"), "comment"),
    }
    assessment = pack.participant_assessment_form
    assert [(i.id, i.kind) for i in assessment] == [
        *((f"f{n}", "rating") for n in range(1, 6)),
        ("f6", "text"),
        ("f7", "text"),
        ("f8", "text"),
    ]
    # The guide's closing remarks: "if you have any suggestions for how the Dialogues may be
    # improved for future years, please let me or the Ethics Office know through Appendix F".
    assert [i.id for i in assessment if i.summary == "comment"] == ["f8"]
    assert "future" in assessment[7].text.value


# --------------------------------------------------------------------------------------------
# Broken packs


def test_missing_title(tmp_path: Path) -> None:
    data = _english()
    del data["title"]
    file = _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert str(file) in message
    assert "title" in message and "is missing" in message


def test_unknown_key_is_a_typo(tmp_path: Path) -> None:
    data = _english()
    question = data["scenarios"][1]["questions"][2]
    question["folow_ups"] = question.pop("follow_ups")
    file = _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert str(file) in message
    assert "scenarios[1].questions[2].folow_ups" in message
    assert "unknown field 'folow_ups'" in message and "did you mean 'follow_ups'" in message


def test_duplicate_scenario_id(tmp_path: Path) -> None:
    data = _english()
    data["scenarios"][2]["id"] = "s1"
    file = _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert str(file) in message
    assert "scenarios[2].id" in message and "duplicate id 's1'" in message


def test_poll_with_one_option(tmp_path: Path) -> None:
    data = _english()
    data["scenarios"][0]["polls"][1]["options"] = ["Yes"]
    file = _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert str(file) in message
    assert "scenarios[0].polls[1].options" in message and "at least 2" in message


def test_unquoted_yes_is_explained(tmp_path: Path) -> None:
    source = (SHIPPED / "2023" / "en.yaml").read_text(encoding="utf-8")
    source = source.replace('options: ["Yes", "No", "Not sure"]', "options: [Yes, No, Not sure]")
    _write(tmp_path, "en", source)
    message = _refused(tmp_path)
    assert "scenarios[0].polls[0].options[0]" in message and "put quotes" in message


def test_minutes_must_add_up_to_90(tmp_path: Path) -> None:
    data = _english()
    data["agenda"][2]["minutes"] = 60
    file = _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert str(file) in message
    assert "agenda" in message and "add up to 85" in message and "90" in message


def test_suggested_minutes_in_order(tmp_path: Path) -> None:
    data = _english()
    data["scenarios"][1]["suggested_minutes"] = [30, 25]
    _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert "scenarios[1].suggested_minutes" in message and "more than the maximum" in message


def test_minimum_scenarios_within_the_pack(tmp_path: Path) -> None:
    data = _english()
    data["minimum_scenarios"] = 4
    _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert "minimum_scenarios" in message and "only 3 scenario(s)" in message


def test_string_over_2000_characters(tmp_path: Path) -> None:
    data = _english()
    data["scenarios"][0]["text"][1] = "x" * 2001
    file = _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert str(file) in message
    assert "scenarios[0].text[1]" in message and "2001 characters" in message


def test_malformed_yaml(tmp_path: Path) -> None:
    file = _write(tmp_path, "en", 'title: "unterminated\nagenda: [\n')
    message = _refused(tmp_path)
    assert str(file) in message
    assert "line " in message and "not valid YAML" in message


def test_key_given_twice(tmp_path: Path) -> None:
    source = (SHIPPED / "2023" / "en.yaml").read_text(encoding="utf-8")
    source = source.replace(
        "minimum_scenarios: 2\n", "minimum_scenarios: 2\nminimum_scenarios: 3\n"
    )
    _write(tmp_path, "en", source)
    message = _refused(tmp_path)
    assert "minimum_scenarios" in message and "given twice" in message


def test_french_only_scenario(tmp_path: Path) -> None:
    _write(tmp_path, "en", _english())
    french = {
        "title": "Titre",
        "scenarios": [
            {"id": "s1", "title": "Omar"},
            {"id": "s4", "title": "Un scénario qui n'existe qu'en français"},
        ],
    }
    file = _write(tmp_path, "fr", french)
    message = _refused(tmp_path, "fr")
    assert str(file) in message
    assert "scenarios[1].id" in message and "'s4' is not in en.yaml" in message


def test_translation_cannot_add_items_or_change_structure(tmp_path: Path) -> None:
    data = _english()
    _write(tmp_path, "en", data)
    options = data["scenarios"][0]["polls"][0]["options"]
    french = {
        "agenda": [{"id": "scenarios", "minutes": 60}],
        "scenarios": [{"id": "s1", "polls": [{"id": "s1-p1", "options": [*options, "Extra"]}]}],
    }
    _write(tmp_path, "fr", french)
    message = _refused(tmp_path, "fr")
    assert "agenda[0].minutes" in message and "same as in en.yaml" in message
    assert "scenarios[0].polls[0].options[3]" in message and "cannot add" in message


def test_form_semantics_must_fit(tmp_path: Path) -> None:
    data = _english()
    form = data["leader_feedback_form"]
    form[0]["prefill"] = "participants"  # a count into the date input
    form[8]["summary"] = "guide"  # c9: a second "guide" average (c7 has it)
    form[9]["summary"] = "topics"  # c10: a text item averaged
    form[7]["summary"] = "comment"  # c8: scenario numbers quoted as a comment
    form[1]["kind"] = "prefilled"  # the old vocabulary
    data["participant_assessment_form"][0]["kind"] = "date"
    data["participant_assessment_form"][5]["prefill"] = "leader"  # Appendix F is anonymous
    data["participant_assessment_form"][6]["summary"] = "guide"  # F has no averaged place
    data["participant_assessment_form"][1]["summary"] = "comment"  # a rating is no comment
    _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert "leader_feedback_form[1].kind" in message and "must be one of" in message
    # The shape error stops the check there; the cross-field rules are checked on their own.
    form[1]["kind"] = "line"
    _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert "leader_feedback_form[0].prefill" in message and "fills a number item" in message
    assert "leader_feedback_form[8].summary" in message and "already" in message
    assert "leader_feedback_form[9].summary" in message and "rating item" in message
    assert "leader_feedback_form[7].summary" in message and "a comment is" in message
    assert "participant_assessment_form[0].kind" in message
    assert "participant_assessment_form[5].prefill" in message
    assert "participant_assessment_form[6].summary" in message
    assert "participant_assessment_form[1].summary" in message


def test_translation_cannot_change_form_semantics(tmp_path: Path) -> None:
    _write(tmp_path, "en", _english())
    french = {
        "leader_feedback_form": [
            {"id": "c7", "summary": "topics"},
            {"id": "c15", "prefill": "questions"},
        ]
    }
    _write(tmp_path, "fr", french)
    message = _refused(tmp_path, "fr")
    assert "leader_feedback_form[0].summary" in message and "same as in en.yaml" in message
    assert "leader_feedback_form[1].prefill" in message and "cannot add" in message


def test_translation_of_a_broken_english_pack_is_refused(tmp_path: Path) -> None:
    data = _english()
    del data["scenarios"][0]["title"]
    english = _write(tmp_path, "en", data)
    _write(tmp_path, "es", {"title": "Título"})
    message = _refused(tmp_path, "es")
    assert str(english) in message and "scenarios[0].title" in message


def test_language_file_names(tmp_path: Path) -> None:
    _write(tmp_path, "en", _english())
    german = _write(tmp_path, "de", {"title": "Titel"})
    with pytest.raises(PackError) as caught:
        load_all(tmp_path)
    assert str(german) in str(caught.value) and "en.yaml, fr.yaml, es.yaml" in str(caught.value)
    with pytest.raises(PackError):
        load_pack("2023", "de", tmp_path)


def test_partial_translation_with_placeholders(tmp_path: Path) -> None:
    _write(tmp_path, "en", _english())
    _write(tmp_path, "fr", {"general_questions": [None, "Deuxième question ?"]})
    pack = load_pack("2023", "fr", tmp_path)
    assert not pack.general_questions[0].translated
    assert pack.general_questions[1] == Text("Deuxième question ?")
    assert "general_questions[0]" in pack.untranslated
    assert "general_questions[1]" not in pack.untranslated
    assert "title" in pack.untranslated


# --------------------------------------------------------------------------------------------
# The leader's preparation, the facilitator's tips and the Ethics Office's contacts


def test_the_2023_pack_carries_the_guides_preparation_tips_and_contacts() -> None:
    pack = load_pack("2023", "en")
    assert len(pack.key_lessons) == 5
    assert pack.key_lessons[0].value.startswith("The difference between personal and official")
    assert "You are the facilitator of the discussion." in pack.facilitator_role[0].value
    assert [t.id for t in pack.tips] == ["difficult_topics", "venting", "multilingual"]
    assert [s.when.value for s in pack.preparation] == [
        "1–2 weeks ahead",
        "1–3 days ahead",
        "Dialogue Day",
    ]
    assert pack.scenario_choice[0].value == "Make the decision yourself."
    office = pack.ethics_office
    assert (office.email, office.phone) == ("ethicsoffice@un.org", "+1-917-367-9858")
    assert office.website.startswith("https://")
    assert [r.value.split(":")[0] for r in office.resources] == [
        "Putting Ethics to Work",
        "The Roadmap",
    ]


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_preparation_is_translated_with_the_english_contacts(language: str) -> None:
    english, pack = load_pack("2023", "en"), load_pack("2023", language)
    assert all(t.translated for t in pack.key_lessons)
    assert pack.tips[1].title.translated and pack.tips[1].title != english.tips[1].title
    assert pack.preparation[2].when.translated
    assert pack.ethics_office.email == "ethicsoffice@un.org"  # the same address everywhere
    assert pack.ethics_office.website == english.ethics_office.website


def test_a_translation_without_the_tips_shows_them_in_english(tmp_path: Path) -> None:
    _write(tmp_path, "en", _english())
    _write(tmp_path, "fr", {"tips": [{"id": "venting", "title": "Quand un collègue s'épanche"}]})
    pack = load_pack("2023", "fr", tmp_path)
    assert pack.tips[1].title == Text("Quand un collègue s'épanche")
    assert not pack.tips[0].title.translated and not pack.tips[1].items[0].translated
    assert "tips[0].title" in pack.untranslated and "tips[1].items[0]" in pack.untranslated
    assert pack.ethics_office.email == "ethicsoffice@un.org"


def test_the_checklist_keeps_the_guides_three_steps_in_order(tmp_path: Path) -> None:
    data = _english()
    data["preparation"].reverse()
    _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert "preparation" in message and "weeks_ahead, days_ahead, dialogue_day" in message


def test_the_ethics_office_needs_an_email_address_and_an_https_site(tmp_path: Path) -> None:
    data = _english()
    data["ethics_office"]["email"] = "ethicsoffice at un.org"
    data["ethics_office"]["website"] = "http://www.un.org/en/ethics"
    _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert "ethics_office.email" in message and "not an e-mail address" in message
    assert "ethics_office.website" in message and "https://" in message


def test_a_pack_without_the_ethics_office_is_refused(tmp_path: Path) -> None:
    data = _english()
    del data["ethics_office"], data["key_lessons"]
    _write(tmp_path, "en", data)
    message = _refused(tmp_path)
    assert "ethics_office" in message and "key_lessons" in message and "is missing" in message


# --------------------------------------------------------------------------------------------
# Command line


def test_cli_accepts_the_shipped_packs() -> None:
    result = _cli()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK 2023 en (0 items not yet translated)" in result.stdout
    assert "OK 2023 fr (" in result.stdout and "OK 2023 es (" in result.stdout


def test_cli_refuses_a_broken_pack(tmp_path: Path) -> None:
    data = _english()
    data["agenda"][0]["minutes"] = 15
    file = _write(tmp_path, "en", data)
    result = _cli(str(file))
    assert result.returncode == 1
    assert "FAILED 2023 en" in result.stdout and "add up to 95" in result.stdout
    folder = _cli(str(tmp_path))
    assert folder.returncode == 1 and str(file) in folder.stdout


def test_cli_checks_a_given_folder(tmp_path: Path) -> None:
    _write(tmp_path, "en", _english())
    _write(tmp_path, "es", {"title": "Título"})
    result = _cli(str(tmp_path / "2023"))
    assert result.returncode == 0, result.stdout
    assert "OK 2023 en (0 items" in result.stdout and "OK 2023 es (" in result.stdout
