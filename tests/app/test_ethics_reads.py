"""The Ethics Office's Appendix C by entity through the real app: the card every item labelled as
on the form, the CSV and Excel export in the form's layout (one row per session), and a focal
point or a leader refused, on the card and on a link made out to them."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from urllib.parse import urlsplit

import aiohttp
from openpyxl import load_workbook

from bot.app import DOWNLOADS
from testing.flows import ADMIN, FOCAL, last_card, name_focal_points, run_to_conclusion, urls
from testing.teams import BotUnderTest, Chat, card_text, inputs


async def fetch(bot: BotUnderTest, url: str) -> tuple[int, bytes]:
    """GET one of the bot's links from the test's own port."""
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + urlsplit(url).path) as response:
            return response.status, await response.read()


async def submit_c(bot, chat, leader, agenda_id, keys, **answers: str) -> None:
    """The leader submits Appendix C from the prefilled form, with these answers."""
    _, form = await bot.execute(leader, chat, agenda_id, "feedback.open", keys)
    data = {**keys, **{k: str(v) for k, v in inputs(form).items() if v is not None}}
    data.pop("forward_questions", None)
    _, card = await bot.execute(leader, chat, agenda_id, "feedback.submit", {**data, **answers})
    assert "Appendix C is stored" in card_text(card)


async def two_forms(bot, connector, people):
    """Two DESA sessions with Appendix C, the first amended once; the leaders' chats."""
    chat, leader = Chat(), people[0]
    _, agenda_id, keys = await run_to_conclusion(
        bot, connector, chat, leader, people[1:4], question="Can I repost a UN job advert?"
    )
    base = {"c9": "5", "c11": "Too short", "c15": "Think before posting"}
    await submit_c(bot, chat, leader, agenda_id, keys, c7="2", c10="First draft", **base)
    await submit_c(bot, chat, leader, agenda_id, keys, c7="4", c10=f"{people[1].name} led", **base)
    other, second = Chat(), people[5]
    _, agenda_id, keys = await run_to_conclusion(
        bot, connector, other, second, people[6:9], unit="Population Division"
    )
    await submit_c(bot, other, second, agenda_id, keys, c7="5", c9="3", c13="More video")
    return (chat, leader), (other, second)


async def test_the_admin_reads_every_appendix_c_item_and_exports_the_form(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await two_forms(bot, connector, people)
    admin_chat = Chat(kind="personal", id="a:admin-c")
    _, card = await bot.execute(ADMIN, admin_chat, "1", "admin.feedback", {})
    text = card_text(card)
    assert "Department of Economic and Social Affairs: 2 forms" in text
    for label in (
        "1. Date of session",
        "2. Discussion leader",
        "7. Rating of Leader's Guide's quality of content and ease of use",
        "8. Which discussion topics did you use?",
        "12. Were there any questions or issues that you could not answer",
        "15. Summarize the key contributions",
    ):
        assert label in text, label
    # The newest version only: the first draft's 2 and its text are gone.
    assert "average 4.5 from 2 · 1: 0 · 2: 0 · 3: 0 · 4: 1 · 5: 1" in text
    assert "First draft" not in text
    assert "Scenario 1: 2 sessions · Scenario 2: 2 sessions · Scenario 3: 0 sessions" in text
    assert "total 6 (2 forms)" in text  # participants, summed
    assert "“Can I repost a UN job advert?”" in text and "“Think before posting”" in text
    # The mask, escaped like all typed text ("[name]" as Teams shows it).
    assert "“\\[name\\] led”" in text and "withheld" in text
    assert not any(p.name in text for p in people)

    csv_url, xlsx_url = urls(card)
    status, body = await fetch(bot, csv_url)
    assert status == 200
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0][0].startswith("LEADERSHIP DIALOGUE 2026: APPENDIX C")
    header = table[1]
    assert header[:4] == ["NO.", "Code", "1. Date of session", "2. Discussion leader"]
    assert len(header) == 2 + 15 and header[-1].startswith("15. Summarize")
    rows = table[2:]
    assert len(rows) == 2  # one row per session, each its newest version
    by_unit = {row[header.index("4. Unit/Section/Team holding session")]: row for row in rows}
    first = by_unit["Statistics Division, Data Section"]
    assert first[header.index("2. Discussion leader")] == "(withheld)"
    rating = next(h for h in header if h.startswith("7. "))
    assert first[header.index(rating)] == "4" and first[header.index(header[-1])] == (
        "Think before posting"
    )
    assert first[header.index("10. What went well during your session?")] == "[name] led"
    assert by_unit["Population Division"][header.index(rating)] == "5"
    assert not any(p.name in body.decode("utf-8-sig") for p in people)

    status, body = await fetch(bot, xlsx_url)
    assert status == 200
    sheet = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert list(sheet[1][:4]) == header[:4] and len(sheet) == 4
    assert {r[header.index(rating)] for r in sheet[2:]} == {4, 5}  # numbers, not text

    # In French: the form's own labels, from the French pack.
    french = Chat(kind="personal", id="a:admin-c-fr")
    _, card = await bot.execute(replace(ADMIN, locale="fr-FR"), french, "1", "admin.feedback", {})
    assert "1. Date de la séance" in card_text(card)


async def test_a_focal_point_and_a_leader_are_refused(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    (chat, leader), _ = await two_forms(bot, connector, people)
    personal = Chat(kind="personal", id="a:refused-c")
    for person in (FOCAL, leader):
        for verb in ("admin.feedback", "admin.assessments"):
            _, card = await bot.execute(person, personal, "1", verb, {})
            text = card_text(card)
            assert "Only Ethics Office administrators" in text, (person.name, verb)
            assert "Think before posting" not in text and "Rating" not in text
    # A link made out to them (as if forwarded, or forged with the key) gives nothing either.
    downloads = bot._runner.app[DOWNLOADS]
    for person in (FOCAL, leader):
        for kind in ("appendix_c", "appendix_f"):
            url = downloads.link(kind, "", "csv", "en", person.aad_id)
            status, body = await fetch(bot, url)
            assert status == 404 and b"Think before posting" not in body, (person.name, kind)
    # The focal point's own progress card still works: only the office's reads are refused.
    await bot.say(FOCAL, personal, "progress", mention=False)
    assert "Leadership Dialogue 2026" in card_text(last_card(connector, personal))
