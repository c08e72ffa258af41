"""The guide's content a leader and participants see: prepare, help, the agenda's general
questions and closing remarks, Appendix D, the Ethics Office's contacts, the scenario video."""

from __future__ import annotations

import json

from testing.flows import ADMIN, data_of, find_posted, last_card, rows, start_session, urls
from testing.teams import Chat, User, card_sid, card_text, verbs

GENERAL_QUESTION = "Where could you go for help or advice?"
CLOSING_REMARK = "please let me or the Ethics Office know through Appendix F"
PRE_READING = "Twitter guidelines for UN senior staff and spokespeople"
VIDEO = "https://media.un.org/en/asset/k1x/k1xyz2023"


async def begin(bot, connector, people, chat):
    """Setup and five sign-ins; (sign-in card id, sid, agenda card id)."""
    card_id, view = await start_session(bot, connector, chat, people[0])
    sid = card_sid(view)
    for p in people[1:6]:
        await bot.execute(p, chat, card_id, "signin", {"sid": sid})
    agenda_id, _ = find_posted(connector, chat, "question.log")
    return card_id, sid, agenda_id


async def next_section(bot, leader, chat, agenda_id, sid):
    _, card = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    _, card = await bot.execute(
        leader, chat, agenda_id, "agenda.next", data_of(card, "agenda.next")
    )
    return card


# --------------------------------------------------------------------------------------------
# prepare and help


async def test_prepare_in_personal_chat_gives_the_guides_checklist_and_contacts(bot, connector):
    leader = User.make("Amina Diallo", 1)
    personal = Chat(kind="personal", id="a:prepare")
    assert await bot.say(leader, personal, "prepare", mention=False) == 201
    card = last_card(connector, personal)
    text = card_text(card)
    assert "Preparing your Leadership Dialogue session" in text
    for when in ("1–2 weeks ahead", "1–3 days ahead", "Dialogue Day"):
        assert when in text
    assert "Prepare an example from your own experience" in text
    assert PRE_READING in text  # the resources to review
    assert "What did you learn from the experience?" in text  # the personal story
    assert "Make the decision yourself." in text and "Ask participants in advance" in text
    assert "let the group choose in an anonymous poll" in text
    assert "Scenario 3: Gumisai's Facebook activities" in text
    assert "Your role as the session facilitator" in text
    assert "You are the facilitator of the discussion." in text
    assert "When a colleague vents" in text and "Multilingual groups" in text
    assert "The difference between personal and official use of social media." in text
    assert "E-mail: ethicsoffice@un.org" in text and "+1-917-367-9858" in text
    assert "The Roadmap" in text and "Putting Ethics to Work" in text
    assert "https://www.un.org/en/ethics" in urls(card)


async def test_prepare_in_french_and_spanish_is_translated(bot, connector):
    leader = User.make("Amina Diallo", 1, locale="fr-FR")
    personal = Chat(kind="personal", id="a:preparer")
    await bot.say(leader, personal, "préparer", mention=False)
    text = card_text(last_card(connector, personal))
    assert "Préparer votre séance" in text and "1 à 2 semaines avant" in text
    assert "Quand un collègue exprime sa frustration" in text
    assert "Courriel : ethicsoffice@un.org" in text
    assert "pas encore traduit" not in text
    await bot.say(leader, personal, "preparar", mention=False)
    text = card_text(last_card(connector, personal))
    assert "Día del Diálogo" in text and "Grupos multilingües" in text


async def test_help_lists_prepare_the_tips_and_the_ethics_office(bot, connector):
    person = User.make("Priya Raman", 2)
    personal = Chat(kind="personal", id="a:help")
    await bot.say(person, personal, "help", mention=False)
    card = last_card(connector, personal)
    text = card_text(card)
    assert "prepare" in text and "the guide's checklist" in text
    assert "E-mail: ethicsoffice@un.org" in text and "The Roadmap" in text
    assert "Tips for the facilitator" in text and "When a colleague vents" in text


async def test_the_leaders_sheet_offers_the_preparation_until_the_discussion(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    card_id, sid, agenda_id = await begin(bot, connector, people, chat)
    _, sheet = await bot.execute(leader, chat, card_id, "signin.view", {"sid": sid})
    assert "prepare.view" in verbs(sheet)
    _, card = await bot.execute(leader, chat, card_id, "prepare.view", {"sid": sid})
    assert "1–3 days ahead" in card_text(card) and "signin.view" in verbs(card)
    # A participant has no such button, and clicking it anyway is refused.
    _, theirs = await bot.execute(people[1], chat, card_id, "signin.view", {"sid": sid})
    assert "prepare.view" not in verbs(theirs)
    _, refused = await bot.execute(people[1], chat, card_id, "prepare.view", {"sid": sid})
    assert "Only the session's discussion leader" in card_text(refused)
    assert "1–3 days ahead" not in card_text(refused)
    # Once the scenarios are under way the sheet no longer offers it.
    await next_section(bot, leader, chat, agenda_id, sid)
    await next_section(bot, leader, chat, agenda_id, sid)
    _, sheet = await bot.execute(leader, chat, card_id, "signin.view", {"sid": sid})
    assert "prepare.view" not in verbs(sheet)


# --------------------------------------------------------------------------------------------
# The agenda: general questions, closing remarks, Appendix D


async def test_general_questions_are_the_leaders_while_the_scenarios_are_discussed(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    _, sid, agenda_id = await begin(bot, connector, people, chat)
    _, intro = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    assert GENERAL_QUESTION not in card_text(intro)
    await next_section(bot, leader, chat, agenda_id, sid)
    card = await next_section(bot, leader, chat, agenda_id, sid)
    assert "General questions to encourage open dialogue" in card_text(card)
    assert GENERAL_QUESTION in card_text(card)
    _, theirs = await bot.execute(
        people[1], chat, agenda_id, "agenda.view", {"sid": sid}, trigger="automatic"
    )
    assert "Scenario Discussions" in card_text(theirs)
    assert GENERAL_QUESTION not in card_text(theirs)


def _text_blocks(card: dict) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


async def test_the_guides_numbered_steps_are_each_on_their_own_line(bot, connector, people):
    chat, leader = Chat(), people[0]
    _, sid, agenda_id = await begin(bot, connector, people, chat)
    await next_section(bot, leader, chat, agenda_id, sid)
    card = await next_section(bot, leader, chat, agenda_id, sid)
    blocks = _text_blocks(card)
    for step in ("1. Introduce the scenario", "4. Wait", "5. Include", "6. Multilingualism"):
        starting = [b for b in blocks if b.lstrip("› ").startswith(step)]
        assert starting, f"{step!r} does not start a line"
    # A line holds one step: "5. Include" and "7. Conclude" never share a paragraph.
    assert not [b for b in blocks if "5. Include" in b and "7. Conclude" in b]


async def test_the_conclusion_gives_the_closing_remarks_and_the_ethics_office(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    _, sid, agenda_id = await begin(bot, connector, people, chat)
    for _ in range(2):
        await next_section(bot, leader, chat, agenda_id, sid)
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    card = await next_section(bot, leader, chat, agenda_id, sid)
    text = card_text(card)
    assert "Closing remarks (read or paraphrase)" in text and CLOSING_REMARK in text
    assert "E-mail: ethicsoffice@un.org" in text and "The Roadmap" in text
    _, theirs = await bot.execute(
        people[1], chat, agenda_id, "agenda.view", {"sid": sid}, trigger="automatic"
    )
    assert CLOSING_REMARK not in card_text(theirs)  # the leader's script
    assert "E-mail: ethicsoffice@un.org" in card_text(theirs)  # for everyone
    _, done = await bot.execute(leader, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    assert "The Dialogue is concluded" in card_text(done)
    assert "ethicsoffice@un.org" in card_text(done)


async def test_participants_read_appendix_d_from_the_session_plan(bot, connector, people):
    chat = Chat()
    _, sid, agenda_id = await begin(bot, connector, people, chat)
    _, agenda = await bot.execute(
        people[2], chat, agenda_id, "agenda.view", {"sid": sid}, trigger="automatic"
    )
    assert "agenda.prereading" in verbs(agenda)
    _, card = await bot.execute(people[2], chat, agenda_id, "agenda.prereading", {"sid": sid})
    text = card_text(card)
    assert "Participant's pre-reading (Appendix D)" in text
    assert PRE_READING in text and "Staff Regulation 1.2 (f)" in text
    assert "Statistics Division, Data Section" in text and "November 20, 2026" in text
    assert "ethicsoffice@un.org" in text
    assert data_of(card, "agenda.view") == {"sid": sid}  # back to the plan
    # In Spanish for a Spanish-speaking participant.
    reader = User.make("Sofía Ramírez", 3, locale="es-ES")
    _, card = await bot.execute(reader, chat, agenda_id, "agenda.prereading", {"sid": sid})
    assert "Lecturas previas de los participantes (apéndice D)" in card_text(card)


# --------------------------------------------------------------------------------------------
# The scenario 3 video


async def start_scenario_3(bot, connector, people, chat):
    leader = people[0]
    _, sid, agenda_id = await begin(bot, connector, people, chat)
    for _ in range(2):
        await next_section(bot, leader, chat, agenda_id, sid)
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s3,s1"}
    )
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    return sid, scenario_id


async def test_without_a_video_link_the_leader_is_told_to_ask_the_ethics_office(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    sid, scenario_id = await start_scenario_3(bot, connector, people, chat)
    _, card = await bot.execute(
        leader, chat, scenario_id, "scenario.view", {"sid": sid, "scenario": "s3"}
    )
    assert "Scenario 3" in card_text(card)
    assert "No video configured for this scenario: ask the Ethics Office" in card_text(card)
    assert urls(card) == []
    _, theirs = await bot.execute(
        people[1],
        chat,
        scenario_id,
        "scenario.view",
        {"sid": sid, "scenario": "s3"},
        trigger="automatic",
    )
    assert "No video configured" not in card_text(theirs)


async def test_the_ethics_office_sets_the_video_and_the_scenario_plays_it(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    personal = Chat(kind="personal", id="a:admin")
    await bot.say(ADMIN, personal, "admin", mention=False)
    admin_card = last_card(connector, personal)
    assert "admin.videos" in verbs(admin_card)
    assert "Video of scenario 3: not configured" in card_text(admin_card)
    _, card = await bot.execute(ADMIN, personal, "1", "admin.videos", {"video_s3": f" {VIDEO} "})
    assert "The scenario videos are saved" in card_text(card)
    assert "Video of scenario 3: set" in card_text(card)
    cycle = next(r for r in await rows(bot, "directory") if r["PartitionKey"] == "cycle")
    assert json.loads(cycle["Videos"]) == {"s3": VIDEO}

    chat, leader = Chat(), people[0]
    sid, scenario_id = await start_scenario_3(bot, connector, people, chat)
    _, shared = find_posted(connector, chat, "scenario.view")
    assert VIDEO in urls(shared)  # everyone's card plays it
    _, card = await bot.execute(
        leader, chat, scenario_id, "scenario.view", {"sid": sid, "scenario": "s3"}
    )
    assert VIDEO in urls(card) and "Watch the video" in card_text(card)
    assert "No video configured" not in card_text(card)

    # An empty field removes the link again.
    await bot.execute(ADMIN, personal, "1", "admin.videos", {"video_s3": ""})
    cycle = next(r for r in await rows(bot, "directory") if r["PartitionKey"] == "cycle")
    assert json.loads(cycle["Videos"]) == {}


async def test_only_an_admin_sets_a_video_and_only_an_https_link(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    personal = Chat(kind="personal", id="a:admin")
    _, refused = await bot.execute(people[0], personal, "1", "admin.videos", {"video_s3": VIDEO})
    assert "Only Ethics Office administrators" in card_text(refused)
    for bad in (
        "http://media.un.org/video",
        "javascript:alert(1)",
        "https://user:pw@evil.example/x",
        "https://",
        "media.un.org/video",
        ["https://media.un.org/video"],
    ):
        _, card = await bot.execute(ADMIN, personal, "1", "admin.videos", {"video_s3": bad})
        assert "Video link: give a web address starting with https" in card_text(card), bad
    cycle = next(r for r in await rows(bot, "directory") if r["PartitionKey"] == "cycle")
    assert json.loads(cycle.get("Videos") or "{}") == {}
