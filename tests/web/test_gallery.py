"""Every card as a person sees it: rendered for each role, language and theme, and checked.

One Dialogue per language is driven through the real app; every card a person meets is
rendered by the adaptivecards renderer with Teams' host configs in headless Chromium (one page
load for all), saved under `.artifacts/gallery/`, and measured in its default view (no ShowCard
opened, nothing toggled) at Teams' 500 px chat column.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.settings import Settings
from testing.browser import Browser
from testing.env import ENTITIES, bot_env
from testing.flows import ADMIN, QUESTION, SETUP
from testing.gallery import (
    LANGUAGES,
    THEMES,
    TYPED_POLL,
    Rendered,
    Shot,
    collect,
    render,
    write_index,
)
from testing.teams import BotUnderTest, elements

# Height budget per card kind, in px at 500 px wide (light theme, default view). A card over
# its budget is one Teams collapses behind "See more" or that scrolls its controls away.
BUDGETS = {
    "setup": 800,
    "sheet": 900,
    "plan": 1400,
    "choice": 900,
    "scenario": 1500,
    "poll": 600,
    "feedback": 1900,  # Appendix C: fifteen items, to be filled in once
    "assessment": 1500,
    "progress": 900,  # with the coverage gauge and the weekly chart (issue 15)
    "sessions": 600,
    "certify": 500,
    "report": 800,
    "admin": 1100,
    "help": 1300,  # the command reference, `poll` included
}
# What a person sees without scrolling, from the top of a card or around the button clicked.
SCREEN = 600
# Verbs that send the card's inputs; every other Action.Execute must not validate them.
SUBMITS = {
    "setup.submit",
    "attendance.import_confirm",
    "signin",
    "attendance.add",
    "attendance.remove",
    "session.monitor",
    "session.facilitator",
    "scenarios.choose",
    "question.log",
    "reminder.schedule",
    "poll.vote",
    "poll.open_pack",
    "poll.open_adhoc",
    "feedback.submit",
    "assess.submit",
    "queue.answer",
    "head.confirm",
    "admin.cycle",
    "admin.videos",
    "admin.entity",
    "admin.entity_remove",
    "admin.focal",
    "admin.focal_remove",
    "admin.extension",
    "admin.head",
    "admin.personnel",
    "focal.reassign",
    "focal.extension",
    "focal.expected",
    "focal.personnel",
    "focal.sheet_add",
    "focal.sheet_remove",
}
# Cards that end a journey on purpose: nothing is left to do on them, and the chat's other
# cards (the session plan) stay where they were.
ENDS = {
    ("poll", "closed"): "the poll is over; its results are the last word",
    ("assessment", "stored"): "Appendix F is sent once; the session plan stays in the chat",
}


@dataclass
class Gallery:
    """The cards collected and how they rendered."""

    shots: list[Shot]
    rendered: list[Rendered]


@pytest.fixture(scope="module")
async def gallery(azurite, connector, card_log, browser: Browser) -> AsyncIterator[Gallery]:
    """One Dialogue per language through the real app, every card rendered (about a minute)."""
    connector.reset()
    env = {**bot_env(azurite, "g" + uuid.uuid4().hex[:11]), "ETHICS_ADMIN_IDS": ADMIN.aad_id}
    bot = BotUnderTest(Settings.from_env(env, dev=True), connector.url)
    await bot.start()
    try:
        shots = await collect(bot, connector)
    finally:
        await bot.stop()
    for shot in shots:
        card_log.add(f"gallery {shot.name}", shot.card)
    # Every theme measured; PNGs of every card in light, and of the English cards in the
    # other themes (`make gallery` saves every card in every theme).
    light = await render(browser, shots, themes=("light",))
    others = await render(browser, [s for s in shots if s.lang == "en"], themes=THEMES[1:])
    write_index(light + others)
    yield Gallery(shots, light + others)


def test_the_gallery_holds_every_card_for_every_role_language_and_theme(gallery: Gallery):
    shots = gallery.shots
    assert {s.role for s in shots} == {"participant", "leader", "monitor", "focal", "admin"}
    assert {s.lang for s in shots} == set(LANGUAGES)
    assert {r.theme for r in gallery.rendered} == set(THEMES)
    assert all(r.png is not None and r.png.stat().st_size > 1000 for r in gallery.rendered)
    kinds = {s.kind for s in shots}
    assert kinds == set(BUDGETS), kinds ^ set(BUDGETS)
    # The same card in another theme keeps its layout (a theme changes colours only).
    light_en = {r.shot.name: r.height for r in gallery.rendered if r.theme == "light"}
    for r in gallery.rendered:
        assert abs(r.height - light_en[r.shot.name]) <= 4, (r.shot.name, r.theme)


def test_no_card_is_over_its_height_budget(gallery: Gallery):
    over = [
        f"{r.shot.name}: {r.height} px > {BUDGETS[r.shot.kind]}"
        for r in gallery.rendered
        if r.theme == "light" and r.height > BUDGETS[r.shot.kind]
    ]
    assert over == []


def _clicked_button(shot: Shot, r: Rendered) -> dict[str, Any] | None:
    """Where the clicked action's button is on the returned card, if it is visible there."""
    titles = {
        a.get("title")
        for a in elements(shot.card)
        if a.get("type") == "Action.Execute" and a.get("verb") == shot.verb
    }
    return next((b for b in r.buttons if b["title"] in titles), None)


def test_every_notice_is_visible_from_the_control_that_caused_it(gallery: Gallery):
    hidden = []
    for r in gallery.rendered:
        if r.theme != "light" or r.shot.verb is None or not r.shot.notices:
            continue
        button = _clicked_button(r.shot, r)
        # The button is still there: a notice within a screen of it. Gone (a ShowCard closes
        # when Teams redraws the card): a notice on the card's first screen.
        near = [
            n
            for n in r.notices
            if (
                abs((n["top"] + n["bottom"]) / 2 - (button["top"] + button["bottom"]) / 2) < SCREEN
                if button
                else n["bottom"] <= SCREEN
            )
        ]
        if not near:
            hidden.append(f"{r.shot.name}: notices {r.notices}, button {button}")
    assert hidden == []


def test_no_action_other_than_a_submit_validates_inputs(gallery: Gallery):
    wrong = sorted(
        {
            f"{shot.kind}/{a['verb']}"
            for shot in gallery.shots
            for a in elements(shot.card)
            if a.get("type") in ("Action.Execute", "Action.Submit")
            and a.get("verb") not in SUBMITS
            and a.get("associatedInputs") != "none"
        }
    )
    assert wrong == []


def test_every_card_a_person_reaches_has_a_way_on_or_back(gallery: Gallery):
    dead = [
        r.shot.name
        for r in gallery.rendered
        if r.theme == "light"
        and (r.shot.kind, r.shot.step) not in ENDS
        and not any(
            a.get("type")
            in ("Action.Execute", "Action.ShowCard", "Action.ToggleVisibility", "Action.OpenUrl")
            for a in elements(r.shot.card)
        )
    ]
    assert dead == []
    # The focal point's sessions list and sheet lead back where they came from.
    for r in gallery.rendered:
        if r.shot.role == "focal" and r.shot.kind in ("sessions", "sheet", "certify"):
            back = {"sessions": "focal.progress", "certify": "focal.progress"}.get(
                r.shot.kind, "focal.sessions"
            )
            assert back in {a.get("verb") for a in elements(r.shot.card)}, r.shot.name


def test_the_sheet_a_focal_point_reads_does_not_say_leader_and_monitor_only(gallery: Gallery):
    sheets = [s for s in gallery.shots if s.role == "focal" and s.kind == "sheet"]
    assert len(sheets) == len(LANGUAGES)
    only = ("leader and monitor only", "l'animateur et le moniteur seulement", "solo la ven")
    for shot in sheets:
        text = " ".join(str(n.get("text", "")) for n in elements(shot.card))
        assert not any(phrase in text for phrase in only), shot.name


# Words that are English and no French or Spanish word: one of them on a French or Spanish card
# is English text a person cannot read, unless it is marked "not yet translated".
ENGLISH_ONLY = {
    "the", "and", "your", "you", "with", "what", "this", "that", "from", "have", "has",
    "will", "not", "who", "which", "signed", "sign", "session", "sessions", "leader", "here",
    "please", "next", "back", "show", "close", "open", "answer", "answers", "yet",
}  # fmt: skip
VISIBLE_KEYS = ("text", "title", "label", "placeholder", "errorMessage", "altText")


def _visible(card: dict[str, Any]) -> list[str]:
    return [
        str(node[key])
        for node in elements(card)
        for key in VISIBLE_KEYS
        if isinstance(node.get(key), str)
    ]


def test_no_english_on_a_french_or_spanish_card_outside_the_marked_fallback(gallery: Gallery):
    # What people typed (the unit, names) and the entities' configured names are theirs.
    typed = [name for entry in ENTITIES.split(";") for name in [entry.split("=", 1)[1]]]
    typed += [SETUP["unit"], QUESTION, *TYPED_POLL]
    # The Ethics Office's guide is named by its English title, its translation beside it.
    typed += ["The Roadmap: A Staff Member's Guide to Finding the Right Place", "The Roadmap"]
    marks = {"fr": "(pas encore traduit)", "es": "(aún sin traducir)"}
    english = []
    for shot in gallery.shots:
        if shot.lang == "en":
            continue
        for text in _visible(shot.card):
            if marks[shot.lang] in text:
                continue  # shown in English on purpose, and said so
            for name in typed:
                text = text.replace(name, " ")
            words = set(re.findall(r"[^\W\d_]+", re.sub(r"https?://\S+", " ", text)))
            found = {w for w in words if w.lower() in ENGLISH_ONLY}
            if found:
                english.append(f"{shot.name}: {sorted(found)} in {text[:80]!r}")
    assert english == [], "\n".join(english)
