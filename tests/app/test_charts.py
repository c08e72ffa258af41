"""Charts on the cards, as a Teams user sees them: the closed poll's tally, Appendix F's released
distribution, the focal point's coverage gauge and sessions per week; each chart's fallback
(what mobile shows) carries the same numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.after.views import AfterViews
from bot.rollup.ethics_views import EthicsViews
from bot.teams.replies import Replies
from cards.catalog import Catalogs
from cards.content import ContentPack
from cards.library import PackLibrary
from cards.packs import load_all
from cards.renderer import CardRenderer
from dialogs.assessment import ItemResult, Results
from dialogs.ethics_reads import AppendixFReport, EntityAppendixF, ItemFigures
from storage.records import CycleConfig, EntityRecord, Person, SessionRecord
from testing.cardcheck import CardChecker, chart_values, charts_in, fallback_numbers
from testing.flows import ADMIN, FOCAL, name_focal_points, open_poll, run_to_conclusion, vote
from testing.teams import Chat, card_text


@pytest.fixture(scope="module")
def checker() -> CardChecker:
    """The card checks every test card goes through."""
    return CardChecker(Path(__file__).resolve().parents[2] / "node_modules")


def charts_of(card: dict) -> list[dict]:
    """The chart elements of a card."""
    return [chart for _, chart in charts_in(card)]


def bar_counts(chart: dict) -> list[int]:
    """The counts written on the fallback's bars, one per bar, in order."""
    counts = []
    for row in chart["fallback"]["items"]:
        columns = row["items"][1]["columns"]
        texts = [item["text"] for column in columns for item in column["items"]]
        assert len(texts) == 1, texts  # each bar writes its count once
        counts.append(int(texts[0]))
    return counts


async def test_the_closed_polls_chart_carries_the_tally_and_nothing_before(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    keys = {"sid": sid, "poll": poll}
    for person, choice in zip(people[1:6], "00110", strict=True):
        voted = await vote(bot, person, chat, card_id, sid, poll, choice)
        assert charts_of(voted) == []  # no chart, for the voter, while the poll is open
    _, open_view = await bot.execute(leader, chat, card_id, "poll.view", keys)
    assert charts_of(open_view) == []

    _, closed = await bot.execute(leader, chat, card_id, "poll.close", keys)

    (chart,) = charts_of(closed)
    assert chart["type"] == "Chart.HorizontalBar"
    assert [(p["x"], p["y"]) for p in chart["data"]] == [("Yes", 3), ("No", 2), ("Not sure", 0)]
    assert bar_counts(chart) == [3, 2, 0]
    assert "Yes: 3 (60%)" in card_text(chart["fallback"])
    # A participant's own refreshed view shows the same chart.
    _, mine = await bot.execute(people[1], chat, card_id, "poll.view", keys, trigger="automatic")
    assert charts_of(mine) == [chart]


async def test_a_poll_closed_below_three_voters_shows_no_chart(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    for person in people[1:3]:
        await vote(bot, person, chat, card_id, sid, poll, "0")

    _, closed = await bot.execute(leader, chat, card_id, "poll.close", {"sid": sid, "poll": poll})

    assert charts_of(closed) == []
    assert "Too few votes" in card_text(closed)


def results_views() -> tuple[AfterViews, PackLibrary]:
    """The real renderer, catalogs and packs the app uses."""
    renderer = CardRenderer(Catalogs.load())
    return AfterViews(renderer, Replies(renderer), min_answers=3), PackLibrary(load_all())


def pack_of(packs: PackLibrary, lang: str) -> ContentPack:
    """The guide's pack in a language."""
    return packs.get(packs.ids()[-1], lang)


@pytest.fixture
def session_record() -> SessionRecord:
    """A concluded session whose leader looks at their Appendix F results."""
    return SessionRecord(
        session_id="a" * 24,
        cycle=2026,
        entity="DESA",
        unit="Population Division",
        personnel=40,
        language="en",
        session_date=date(2026, 11, 20),
        leader=Person("0" * 8 + "-0000-0000-0000-" + "0" * 12, "29:leader", "Amina Diallo"),
        conversation_id="19:meeting@thread.v2",
        tenant_id="t",
        service_url="https://smba.example/",
        bot_id="28:bot",
        card_id="1",
        created_at=datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
        status="ended",
    )


def test_appendix_f_charts_show_the_released_distribution(session_record, checker):
    views, packs = results_views()
    pack = pack_of(packs, "en")
    rated = [item for item in pack.participant_assessment_form if item.kind == "rating"]
    distributions = [[0, 1, 2, 3, 4], [5, 0, 0, 0, 5]]
    results = Results(
        closed=True,
        minimum=3,
        closes_at=datetime(2026, 11, 27, tzinfo=UTC),
        reached=True,
        answers=10,
        items=[
            ItemResult(item.id, 0.0, counts)
            for item, counts in zip(rated, distributions, strict=False)
        ],
    )

    card = views.results(session_record, pack, "en", results)

    shown = charts_of(card)
    assert [chart["type"] for chart in shown] == ["Chart.VerticalBar"] * 2
    for chart, counts in zip(shown, distributions, strict=True):
        assert [p["y"] for p in chart["data"]] == counts
        assert [p["x"] for p in chart["data"]] == ["1", "2", "3", "4", "5"]
        assert bar_counts(chart) == counts
    assert checker.check([("results", card)]) == []
    # Below the minimum, or while open, there is no chart at all.
    hidden = Results(closed=True, minimum=3, closes_at=results.closes_at, reached=False)
    assert charts_of(views.results(session_record, pack, "en", hidden)) == []


async def test_progress_gauge_equals_the_coverage_and_weeks_count_the_session(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await run_to_conclusion(
        bot, connector, Chat(), people[0], people[1:5], unit="Population Division", personnel="20"
    )
    await bot.flush()

    _, card = await bot.execute(
        FOCAL, Chat(kind="personal", id="a:focal-chat"), "1", "focal.progress", {"entity": "DESA"}
    )

    gauge, weeks = charts_of(card)
    text = card_text(card)
    assert "Coverage: 20% of personnel" in text  # 4 of 20, as the text has always said
    assert (gauge["type"], gauge["value"], gauge["max"]) == ("Chart.Gauge", 20, 100)
    assert [s["size"] for s in gauge["segments"]] == [20, 80]
    assert fallback_numbers(gauge["fallback"])[0] == 20
    assert weeks["type"] == "Chart.VerticalBar"
    # The one session held (20 November 2026, ISO week 47), counted once in its week; every
    # week from it to this one is a bar, the later ones empty.
    assert date(2026, 11, 20).isocalendar().week == 47
    assert weeks["data"][0] == {"x": "W47", "y": 1}
    assert sum(p["y"] for p in weeks["data"]) == 1
    assert "Week 47, from Monday November 16, 2026" in card_text(weeks["fallback"])
    assert bar_counts(weeks) == chart_values(weeks)


def test_fallbacks_carry_the_charts_numbers_in_every_language(session_record):
    views, packs = results_views()
    for lang in ("en", "fr", "es"):
        pack = pack_of(packs, lang)
        item = next(i for i in pack.participant_assessment_form if i.kind == "rating")
        results = Results(
            closed=True,
            minimum=3,
            closes_at=datetime(2026, 11, 27, tzinfo=UTC),
            reached=True,
            answers=6,
            items=[ItemResult(item.id, 3.3, [1, 0, 2, 0, 3])],
        )
        (chart,) = charts_of(views.results(session_record, pack, lang, results))
        assert chart["xAxisTitle"] and chart["yAxisTitle"]
        assert bar_counts(chart) == [1, 0, 2, 0, 3], lang


def test_ethics_appendix_f_chart_values_equal_each_entitys_ratings(checker):
    renderer = CardRenderer(Catalogs.load())
    packs = PackLibrary(load_all())
    pack_id = packs.ids()[-1]
    rated = [i for i in packs.get(pack_id, "en").participant_assessment_form if i.kind == "rating"]
    spreads = [(0, 1, 2, 3, 4), (0, 0, 0, 0, 0), (2, 2, 2, 2, 2)]
    figures = tuple(
        ItemFigures(item, number, answered=sum(counts), ratings=counts)
        for number, (item, counts) in enumerate(zip(rated, spreads, strict=False), start=1)
    )
    report = AppendixFReport(
        CycleConfig(2026, pack_id, date(2026, 12, 31)),
        5,
        (
            EntityAppendixF(
                EntityRecord("DESA", "Economic and Social Affairs"),
                shown=True,
                sessions=5,
                answers=10,
                ratings=figures,
            ),
            EntityAppendixF(EntityRecord("DPO", "Peace Operations"), shown=False),
        ),
    )

    card = EthicsViews(renderer).appendix_f(
        report, "fr", csv_url="https://x/c", xlsx_url="https://x/x"
    )

    (chart,) = charts_of(card)  # the entity below the minimum has none
    assert chart["type"] == "Chart.HorizontalBar.Stacked"
    # The item nobody rated has no bar (its line in the fallback says so).
    assert [[p["value"] for p in s["data"]] for s in chart["data"]] == [
        list(spreads[0]),
        list(spreads[2]),
    ]
    legends = [p["legend"] for p in chart["data"][0]["data"]]
    assert legends == [renderer.text("fr", "results.rating", rating=n) for n in range(1, 6)]
    assert checker.check([("ethics-f", card)]) == []
