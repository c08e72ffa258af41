"""Appendix C means what the content pack says: a pack that renumbers its items (other ids, the
same kinds, prefills and summary places) gets the same inputs, checks, prefill and Ethics Office
summary. Nothing in bot/ or dialogs/ may know the guide's ids (c1, c7, c10 ...)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.after.views import AfterViews
from bot.teams.replies import Replies
from cards.catalog import Catalogs
from cards.library import PackLibrary
from cards.renderer import CardRenderer
from dialogs.errors import InvalidInput, NotAllowed
from dialogs.ethics_reads import EthicsOfficeReads
from dialogs.feedback import Prefill, leader_items
from dialogs.names import NAME_MASK
from storage.records import QuestionRecord
from testing.teams import elements

# The guide's item -> the renumbered pack's id. Reversed, so that no guide id keeps its meaning
# ("c1", the date, becomes the last comment's id, and so on), and the order shuffled.
RENUMBERED = {f"c{n}": f"c{16 - n}" for n in range(1, 16)}
SHUFFLED = ["c7", "c1", "c10", "c5", "c2", "c12", "c9", "c3", "c13", "c6", "c8", "c11", "c4"]
SHUFFLED += ["c15", "c14"]


@pytest.fixture
def guide(library):
    """The 2023 pack in English, as shipped."""
    return library.get("2023", "en")


@pytest.fixture
def renumbered(guide):
    """The same pack with Appendix C renumbered and reordered, every attribute kept."""
    items = {item.id: item for item in guide.leader_feedback_form}
    form = tuple(replace(items[old], id=RENUMBERED[old]) for old in SHUFFLED)
    return replace(guide, leader_feedback_form=form)


def new(old: str) -> str:
    """The renumbered id of a guide item."""
    return RENUMBERED[old]


def filled(**answers: Any) -> dict[str, Any]:
    """Appendix C as a leader fills it, by guide item, under the renumbered ids."""
    data = {
        "c1": "2026-11-20",
        "c2": "Amina Diallo",
        "c3": "DESA",
        "c4": "Statistics Division",
        "c5": "12",
        "c6": "20",
        "c7": "4",
        "c8": "1,3",
        "c9": "2",
        "c12": "Can I like a post?",
    }
    data.update(answers)
    return {new(old): value for old, value in data.items()}


async def held_session(start, signin, dialogue, leader, participants):
    """A concluded session with these participants signed in."""
    session = (await start()).session
    for person in participants:
        await signin.sign_in(session, person, {})
    session = await dialogue.begin(session, "agenda-card")
    for _ in range(3):
        session = await dialogue.next_section(session, leader)
    return await dialogue.conclude(session, leader)


def form_inputs(session, pack) -> dict[str, tuple[str, Any, str]]:
    """Input id -> (type, multiline, label) of the Appendix C card for this pack."""
    renderer = CardRenderer(Catalogs.load())
    views = AfterViews(renderer, Replies(renderer), min_answers=5)
    card = views.feedback_form(session, pack, "en", Prefill({}, []), None, has_questions=False)
    return {
        node["id"]: (node["type"], node.get("isMultiline"), node["label"])
        for node in elements(card)
        if str(node.get("type", "")).startswith("Input.") and "id" in node
    }


async def test_the_inputs_follow_the_pack_s_kinds(renumbered, guide, start):
    session = (await start()).session
    shipped, moved = form_inputs(session, guide), form_inputs(session, renumbered)
    assert set(moved) == {new(old) for old in shipped}
    for old, (kind, multiline, label) in shipped.items():
        moved_kind, moved_multiline, moved_label = moved[new(old)]
        assert (moved_kind, moved_multiline) == (kind, multiline), old
        assert moved_label.split(". ", 1)[1] == label.split(". ", 1)[1], old
    assert moved[new("c1")][0] == "Input.Date"
    assert moved[new("c5")][0] == moved[new("c6")][0] == "Input.Number"
    assert moved[new("c7")][0] == moved[new("c8")][0] == "Input.ChoiceSet"
    assert moved[new("c10")][:2] == ("Input.Text", True)
    assert moved[new("c2")][:2] == ("Input.Text", False)
    # The label's number is the item's place in the form, not a piece of its id.
    labels = [moved[item.id][2] for item in renumbered.leader_feedback_form]
    assert [label.split(".", 1)[0] for label in labels] == [str(n) for n in range(1, 16)]


async def test_the_prefill_follows_the_pack(renumbered, start, feedback, clock):
    session = replace((await start()).session, scenario_order=["s3", "s1"])
    questions = [QuestionRecord("q1", session.session_id, "First?", clock())]
    prefill = feedback.prefill(session, renumbered, "Economic and Social Affairs", 12, questions)
    assert prefill.values == {
        new("c1"): "2026-11-20",
        new("c2"): session.leader.name,
        new("c3"): "Economic and Social Affairs",
        new("c4"): "Statistics Division",
        new("c5"): 12,
        new("c6"): 20,
        new("c8"): "1,3",
        new("c12"): "First?",
    }
    assert leader_items(renumbered.leader_feedback_form) == {new("c2")}


async def test_the_server_checks_follow_the_pack(renumbered, start, feedback):
    session = (await start()).session
    leader = session.leader.aad_id
    stored = await feedback.submit(session, leader, renumbered, filled(c10="Went well"))
    assert stored.answers[new("c1")] == "2026-11-20"
    assert (stored.answers[new("c5")], stored.answers[new("c6")]) == (12, 20)
    assert stored.answers[new("c8")] == [1, 3]
    assert (stored.answers[new("c7")], stored.answers[new("c9")]) == (4, 2)
    assert stored.answers[new("c10")] == "Went well"
    for old, bad, key in [
        ("c1", "20 November", "error.date"),
        ("c5", "-1", "error.number"),
        ("c8", "1,9", "error.invalid_field"),
        ("c7", "6", "error.rating"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await feedback.submit(session, leader, renumbered, filled(**{old: bad}))
        assert (refused.value.key, refused.value.fields["field"]) == (key, new(old)), old


async def test_the_ethics_office_summary_follows_the_pack(
    renumbered, start, signin, dialogue, directory, feedback, assessment, leader, persons, admin
):
    packs = PackLibrary({("2023", "en"): renumbered})
    reads = EthicsOfficeReads(directory, signin, feedback, assessment, packs)
    kenji = persons[1]
    first = await held_session(start, signin, dialogue, leader, [kenji])
    second = await held_session(start, signin, dialogue, leader, persons[2:4])
    await feedback.submit(
        first,
        leader.aad_id,
        renumbered,
        filled(c7="4", c9="2", c10=f"{kenji.name} spoke well", c13="More time", c15="Shown"),
    )
    await feedback.submit(second, leader.aad_id, renumbered, filled(c7="5", c9="3", c11="Late"))
    summary = await reads.appendix_c(admin, "en")
    [line] = summary.entities
    assert (line.entity.code, line.forms) == ("DESA", 2)
    # Every item, in the renumbered pack's order and numbered by its place there; what each
    # figure is follows the item's kind, never its id.
    assert [f.item.id for f in line.items] == [item.id for item in renumbered.leader_feedback_form]
    assert [f.number for f in line.items] == list(range(1, 16))
    figures = {f.item.id: f for f in line.items}
    assert (figures[new("c7")].average, figures[new("c9")].average) == (4.5, 2.5)
    assert figures[new("c8")].scenarios == ((1, 2), (2, 0), (3, 2))
    assert figures[new("c5")].total == 24 and figures[new("c2")].withheld
    assert figures[new("c10")].texts == (f"{NAME_MASK} spoke well",)
    assert figures[new("c15")].texts == ("Shown",) and figures[new("c11")].texts == ("Late",)
    with pytest.raises(NotAllowed):
        await reads.appendix_c(leader, "en")
