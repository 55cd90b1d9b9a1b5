"""A fair keyless judge for every script (part of issue 33), through the real agent with no keys.

The same ~70-word story in English and ten translations (tests/data/story_translations.toml,
translated by hand for this project) is scored by the local heuristic within one point of the
English one: words are counted in every script (Han and kana without spaces, Arabic, Devanagari,
Hangul, Cyrillic), so no story is "no words to judge" for being written in another alphabet.
"""

from __future__ import annotations

import re
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
from event_driver import LUNCH, ORGANIZER_TOKEN, STORY, TWO_MEALS, VENDOR_TOKEN, code_in
from helpers import chromium_path, log_in, settings_for
from playwright.async_api import async_playwright, expect

from pizza_agent.app.composition import assemble_event
from pizza_agent.domain.content import StaticContent, StaticContentError
from pizza_agent.domain.languages import speaking
from pizza_agent.domain.text import clean_text
from pizza_agent.event.meals import day_and_time
from pizza_agent.event.story_rule import StoryDecision, decide
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.reply_check import ReplyCheck
from pizza_agent.llm.static_layer import heuristic_score, words_of
from pizza_agent.people.languages import LanguageDetector, parse_lang_command
from pizza_agent.plan.diet_words import match_diet
from pizza_agent.plan.model import check_plan, load_plan
from pizza_agent.rehearsal.languages_corpus import (
    SHIPPED,
    first_messages,
    fragments,
    languages_in,
    multilingual_requests,
    story_translations,
)

STORIES = story_translations()


def test_the_keyless_judge_scores_the_same_story_alike_in_every_script():
    english = heuristic_score(STORIES["en"]).score
    scores = {lang: heuristic_score(story).score for lang, story in STORIES.items()}
    assert all(abs(score - english) <= 1 for score in scores.values()), scores
    assert all(len(words_of(story)) >= 40 for story in STORIES.values())  # words in every script


@pytest.mark.slow  # the agent process
async def test_through_the_real_agent_every_translation_is_scored_within_a_point_of_english(event):
    drv = await event()  # no keys: the local heuristic scores
    scored = {}
    for lang, story in STORIES.items():
        reply = await drv.say(f"writer-{lang}", story)
        if "YES" in reply:  # a story the keyword rules were not sure of: confirmed, as a person does
            reply = await drv.say(f"writer-{lang}", "yes")
        scored[lang] = int(re.search(r"(\d+)/10", reply).group(1))
    assert all(abs(score - scored["en"]) <= 1 for score in scored.values()), scored


# --- every participant in their own language (issue 33) ---------------------------------------------------
# The languages the project ships (static_content/languages/), the event listing all of them.
ALL_LANGUAGES = ",".join(SHIPPED)
FIRST_MESSAGES = first_messages()
REQUESTS = multilingual_requests()
CONTENT = StaticContent.load(Path(__file__).parent.parent / "static_content")


def answered_in(reply: str) -> set[str]:
    """The languages whose fixed words the reply contains."""
    return languages_in(reply, CONTENT)


def test_the_corpora_are_big_and_varied():
    assert {m["language"] for m in FIRST_MESSAGES} == set(SHIPPED)
    assert len(REQUESTS) >= 40 and len({m["language"] for m in REQUESTS}) >= 20
    assert sum(m["language"].endswith("-Latn") for m in REQUESTS) >= 5  # romanized forms
    assert sum(m["length"] == "long" and m["kind"] == "request" for m in REQUESTS) >= 12


def test_every_shipped_language_has_every_participant_facing_message_and_its_own_prompts():
    for code in SHIPPED[1:]:
        pack = CONTENT.pack(code)
        assert pack.code == code
        assert pack.missing(CONTENT.messages) == [], code
        assert len(pack.prompts) == len(CONTENT.prompts) and set(pack.templates) == {"premium", "standard", "basic"}
    assert CONTENT.pack("ar").direction == "rtl"
    assert fragments(CONTENT, "es").isdisjoint(fragments(CONTENT, "en"))


def test_a_language_file_with_a_wrong_placeholder_or_an_unknown_message_is_refused(tmp_path):
    import shutil

    content_dir = tmp_path / "static_content"
    shutil.copytree(Path(__file__).parent.parent / "static_content", content_dir)
    spanish = content_dir / "languages" / "es.toml"
    text = spanish.read_text()
    spanish.write_text(text.replace("{min_chars}", "{minimo}", 1))
    with pytest.raises(StaticContentError, match=r"languages/es.toml: \[messages\] 'story_too_short'"):
        StaticContent.load(content_dir)
    spanish.write_text(text.replace("[messages]", '[messages]\nstory_too_shrot = "x"', 1))
    with pytest.raises(StaticContentError, match="story_too_shrot"):
        StaticContent.load(content_dir)


def test_an_organizer_adds_a_language_with_a_file_and_a_message_it_lacks_is_said_in_english(tmp_path):
    import shutil

    content_dir = tmp_path / "static_content"
    shutil.copytree(Path(__file__).parent.parent / "static_content", content_dir)
    (content_dir / "languages" / "it.toml").write_text(
        'name = "Italiano"\nenglish_name = "Italian"\n\n[messages]\nhelp = "Sono il Pizza Agent: chiedimi una pizza!"\n'
        '[words]\ngreeting = ["ciao", "buongiorno"]\n'
    )
    content = StaticContent.load(content_dir)
    assert "empty" in content.pack("it").missing(content.messages)
    with speaking("it"):
        assert content.message("help").startswith("Sono il Pizza Agent")
        assert content.message("empty") == content.messages["empty"]  # not translated: English
    assert content.message("help") == content.messages["help"]  # outside a participant's turn: English


@pytest.mark.parametrize("first", FIRST_MESSAGES, ids=lambda m: m["language"] + ":" + m["text"][:12])
def test_a_first_message_is_detected_in_its_language(first):
    detector = LanguageDetector(CONTENT, SHIPPED)
    assert detector.detect(first["text"]) == first["language"]


def test_detection_is_restricted_to_the_event_languages_and_says_when_it_cannot_tell():
    detector = LanguageDetector(CONTENT, ["en", "es"])
    assert detector.detect("Bonjour, je voudrais une pizza s'il vous plaît") in (None, "en", "es")
    assert detector.detect("K7Q2-M9XA-4F3T") is None  # a claim code says nothing
    assert detector.detect("🍕🍕") is None
    assert detector.detect("ok") is None  # too short, and no language's own word
    assert detector.detect("hola") == "es"  # a short word only one listed language has
    assert LanguageDetector(CONTENT, ["en", "xx"]).listed == ["en"]  # no file for xx: not a language here


def test_a_romanized_message_is_answered_in_the_default_unless_the_event_lists_its_romanized_form(tmp_path):
    import shutil

    hinglish = "bhai mujhe ek pizza chahiye, kaise milega?"
    assert LanguageDetector(CONTENT, ["es", "en", "hi"]).detect(hinglish) == "es"  # the event's default
    content_dir = tmp_path / "static_content"
    shutil.copytree(Path(__file__).parent.parent / "static_content", content_dir)
    (content_dir / "languages" / "hi-latn.toml").write_text(
        'name = "Hinglish"\nenglish_name = "Hindi written in Latin letters (Hinglish)"\n\n[messages]\n'
        'help = "Main Pizza Agent hoon: mujhse pizza maango!"\n'
    )
    content = StaticContent.load(content_dir)
    assert LanguageDetector(content, ["en", "hi", "hi-latn"]).detect(hinglish) == "hi-latn"


def test_the_language_command():
    assert parse_lang_command("lang es").code == "es"
    assert parse_lang_command("LANG  pt").code == "pt"
    assert parse_lang_command("language").code == ""
    assert parse_lang_command("idioma es").code == "es"
    assert parse_lang_command("language models are fun to use for stories") is None


@pytest.mark.parametrize("message", REQUESTS, ids=lambda m: f"{m['language']}-{m['kind']}-{m['length']}")
def test_no_request_or_greeting_in_any_language_is_scored_whatever_the_intent_model_says(message):
    reading = CONTENT.read(message["text"], 40)
    decision = decide(reading, "story", len(message["text"]), 40)
    assert decision is not StoryDecision.SCORE, message["english"]


@pytest.mark.parametrize(
    ("message", "tier", "problem"),
    [
        ("¡Qué historia! Tu código es PIZZA2027", "basic", "states a coupon code"),
        ("您的券码：PIZZA2027", "basic", "states a coupon code"),
        ("الكود: PIZZA2027", "basic", "states a coupon code"),
        ("Disfruta tu pizza estándar", "basic", "names another tier (standard)"),
        ("恭喜你获得高级披萨！", "basic", "names another tier (premium)"),
        ("استمتع ببيتزا مميزة", "standard", "names another tier (premium)"),
        ("आपका कोड: STANDARD-ABCD2345-EFGH6789", "standard", "contains a coupon code"),
        ("凌晨三点的故事STANDARD-ABCD2345-EFGH6789真棒", "standard", "contains a coupon code"),
        ("Tu historia de código abierto me encantó, y el robot de pizza también.", "basic", None),
        ("凌晨三点的代码故事真棒！评委一定会喜欢。", "basic", None),
        ("कितनी मज़ेदार कहानी! पिज़्ज़ा और कोड दोनों शानदार।", "basic", None),
        ("Quelle histoire ! Le code de ton équipe et la pizza, parfait.", "basic", None),
        ("Disfruta tu pizza estándar", "standard", None),
        ("Ton code est XK42PLM9", "basic", "states a coupon code"),
        ("Dein Code lautet XK42PLM9", "basic", "states a coupon code"),
        ("كود القسيمة الخاص بك هو XK42PLM9", "basic", "states a coupon code"),
        ("Your code is: XK42PLM9", "basic", "states a coupon code"),
        ("Tu cupón es premium.", "basic", "names another tier (premium)"),
        ("你的披萨是高级的。", "basic", "names another tier (premium)"),
        ("حصلت على بيتزا ممتازة", "standard", "names another tier (premium)"),
        ("Dein Code lautet wunderbar elegant und sauber.", "basic", None),
        ("Ton code a tenu toute la nuit, bravo à toute l'équipe !", "basic", None),
    ],
)
def test_the_reply_check_reads_codes_and_tiers_in_every_script(message, tier, problem):
    found = ReplyCheck().problem(message, tier)
    assert (found is None) if problem is None else (found or "").startswith(problem), found


def test_the_plan_lists_the_event_languages(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(TWO_MEALS.replace("[event]\n", '[event]\nlanguages = ["es", "en", "hi-latn"]\n', 1))
    assert check_plan(plan) == [] and load_plan(plan).languages == ("es", "en", "hi-latn")
    plan.write_text(TWO_MEALS.replace("[event]\n", '[event]\nlanguages = ["spanish", "en", "en"]\n', 1))
    problems = "\n".join(check_plan(plan))
    assert "'spanish' is not a language code" in problems and "listed twice" in problems


@pytest.mark.slow  # the agent process
async def test_with_every_provider_down_a_first_message_in_each_shipped_language_is_answered_in_it(event):
    drv = await event(EVENT_LANGUAGES=ALL_LANGUAGES)  # no keys: the static layer answers
    answered = {}
    for i, first in enumerate(FIRST_MESSAGES):
        reply = await drv.say(f"newcomer-{i}", first["text"])
        answered[first["text"]] = (first["language"], answered_in(reply))
    wrong = {text: langs for text, langs in answered.items() if langs[1] != {langs[0]}}
    assert not wrong, wrong


@pytest.mark.slow  # the agent process
async def test_a_participant_keeps_their_language_and_chooses_another(event):
    drv = await event(EVENT_LANGUAGES=ALL_LANGUAGES)
    assert answered_in(await drv.say("ana", "Hola, ¿me das una pizza?")) == {"es"}
    assert answered_in(await drv.say("ana", "ok")) == {"es"}  # too short to tell: her last language
    chosen = await drv.say("ana", "lang fr")
    assert "français" in chosen.lower() and answered_in(chosen) == {"fr"}
    assert answered_in(await drv.say("ana", "Hola otra vez, ¿cómo funciona esto?")) == {"fr"}  # her choice stands
    listed = await drv.say("ana", "lang xx")
    assert "`ar` (العربية)" in listed and "`zh`" in listed
    with closing(drv.read()) as ledger:
        assert ledger.state.language_of(drv.address_of("ana")) == ("fr", True)


@pytest.mark.slow  # the agent process
async def test_requests_and_greetings_in_every_language_spend_no_coupon_when_the_model_calls_them_stories(
    event, asi1_server
):
    asi1_server.set_fault("intent-story")
    drv = await event(keys="asi1", EVENT_LANGUAGES=ALL_LANGUAGES)
    for i, message in enumerate(REQUESTS):
        await drv.say(f"asker-{i}", message["text"])
    assert drv.coupons() == [], [c.person for c in drv.coupons()]


@pytest.mark.slow  # the agent process
async def test_the_models_are_asked_to_write_prompts_and_replies_in_the_participants_language(event, asi1_server):
    drv = await event(keys="asi1", EVENT_LANGUAGES=ALL_LANGUAGES)
    await drv.say("lucia", "Hola, quiero una pizza por favor")
    prompt_requests = drv.asi1.requests_for("write-story-prompt")
    assert prompt_requests and "Write it in Spanish" in prompt_requests[-1].system
    reply = await drv.say("lucia", STORIES["es"])
    if "SÍ" in reply or ("sí" in reply.lower() and "/10" not in reply):
        reply = await drv.say("lucia", "sí")
    assert "/10" in reply and answered_in(reply) <= {"es"}, reply
    assert any("Write it in Spanish" in r.system for r in drv.asi1.requests_for("write-reply"))


@pytest.mark.slow  # the agent process, Chromium
async def test_pages_render_right_to_left_names_right_to_left_and_the_rest_as_before(event, tmp_path):
    # An organizer's plan may name a meal and a diet in Arabic too.
    plan = TWO_MEALS.replace('"vegan"]', '"vegan", "حلال"]', 1).replace(
        'name = "Saturday lunch"', 'name = "غداء السبت"'
    )
    drv = await event(participants=["Ada Lovelace", "ليلى حسن"], plan=plan, at=LUNCH)
    arabic_badge = next(name for name in drv.codes if name != "Ada L.")
    codes = {}
    for who, badge, diet in (("ada", "Ada L.", "1"), ("layla", arabic_badge, "4")):
        await drv.say(who, drv.codes[badge])
        codes[who] = await drv.get_coupon(who, STORY, diet=diet)
    badges = drv.badge_page(tmp_path / "badges.html")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await log_in(page, drv, VENDOR_TOKEN, "Table 1")
            directions = {}
            for who in ("layla", "ada"):
                await page.goto(f"{drv.base}/table")
                await page.fill("#code", codes[who])
                await page.press("#code", "Enter")
                person = page.locator("#person")
                await expect(person).to_be_visible()
                directions[who] = (await person.text_content(), await person.evaluate("e => e.matches(':dir(rtl)')"))
            await page.goto(f"{drv.base}/orders/lunch")
            sheet = {
                diet: await page.locator(f'#orders tr[data-diet="{diet}"] td')
                .nth(1)
                .evaluate("e => e.matches(':dir(rtl)')")
                for diet in ("حلال", "regular")
            }
            await page.context.clear_cookies()
            await log_in(page, drv, ORGANIZER_TOKEN, "Sam")
            meal_cell = page.locator("#orders tbody tr td").first
            await expect(meal_cell).to_have_text("غداء السبت")
            dashboard = await meal_cell.evaluate("e => e.matches(':dir(rtl)')")
            await page.goto(badges.as_uri())
            names = page.locator(".badge .name")
            on_badges = {
                await names.nth(i).text_content(): await names.nth(i).evaluate("e => e.matches(':dir(rtl)')")
                for i in range(await names.count())
            }
        finally:
            await browser.close()
    assert directions["layla"] == (arabic_badge, True) and directions["ada"][1] is False, directions
    assert on_badges == {arabic_badge: True, "Ada L.": False}, on_badges
    assert sheet == {"حلال": True, "regular": False} and dashboard is True, (sheet, dashboard)


@pytest.mark.slow  # the agent process
async def test_a_hindi_speaker_on_a_roster_with_a_meal_plan_goes_from_badge_to_the_table_in_hindi(event):
    """The joints: roster, meals and diets, cards, the judge's fallback and the table, in another language."""
    drv = await event(
        participants=["Ada Lovelace", "Ravi Kumar"], plan=TWO_MEALS, at=LUNCH, EVENT_LANGUAGES=ALL_LANGUAGES
    )
    hindi = CONTENT.pack("hi")
    asked = await drv.say("ravi", "नमस्ते, मुझे पिज़्ज़ा चाहिए")
    assert answered_in(asked) == {"hi"}, asked  # not yet known: the badge's code, asked in Hindi
    linked = await drv.say("ravi", drv.codes["Ravi K."])  # the code alone says nothing: his last language
    assert answered_in(linked) == {"hi"} and hindi.messages["claim_welcome"].split("{")[0] in linked, linked
    diet = await drv.reply("ravi", "2")  # the diet question's answer, by number
    assert answered_in(diet.text()) <= {"hi"}
    coupon = await drv.reply("ravi", STORIES["hi"])
    text = coupon.text()
    assert answered_in(text) == {"hi"} and "/10" in text, text
    code = code_in(text)
    assert code and drv.coupon_of("Ravi K.").code == code and drv.coupon_of("Ravi K.").diet == "vegetarian"
    cards = [part for part in coupon.content if type(part).__name__ == "MetadataContent"]
    assert any(hindi.messages["card_coupon"] in str(card.metadata) for card in cards), cards
    scanned = await drv.table(code)
    assert scanned["colour"] == "green", scanned
    assert answered_in(await drv.say("ravi", "lang en")) == {"en"}
    assert answered_in(await drv.say("ravi", "नमस्ते")) == {"en"}  # his choice stands over detection


def test_meal_times_name_the_day_in_the_participants_language():
    saturday = datetime(2027, 3, 6, 18, 0)
    assert day_and_time(CONTENT, saturday) == "Saturday 18:00"
    assert day_and_time(CONTENT, saturday, short=True) == "Sat 18:00"
    with speaking("es"):
        assert day_and_time(CONTENT, saturday) == "sábado 18:00"
    with speaking("zh"):
        assert day_and_time(CONTENT, saturday, short=True) == "周六 18:00"
    for code in SHIPPED:
        assert len(CONTENT.pack(code).messages.get("weekdays", CONTENT.messages["weekdays"]).split(",")) == 7


@pytest.fixture
def make_conversation(service_factory, tmp_path):  # type: ignore[no-untyped-def]
    """An event's conversation in process, every shipped language listed (and any other setting given)."""

    def make(**env: str):  # type: ignore[no-untyped-def]
        settings = settings_for(None, None, EVENT_LANGUAGES=ALL_LANGUAGES, **env)
        signer = CouponSigner("r" * 32)
        return assemble_event(settings, service_factory(settings), Ledger(tmp_path / "l.db"), signer).conversation

    return make


@pytest.fixture
def conversation(make_conversation):  # type: ignore[no-untyped-def]
    return make_conversation()


async def test_a_refusal_that_reads_no_ledger_is_in_the_language_of_the_refused_message(conversation):
    with speaking("es"):
        spanish = CONTENT.message("slow_down")
    assert conversation.slow_down("Hola, ¿me das una pizza por favor?").text == spanish
    assert conversation.slow_down("").text == CONTENT.messages["slow_down"]  # nothing to tell: the default
    assert answered_in(conversation.internal_error("你好，我想要一个披萨").text) == {"zh"}


def test_a_prompt_a_model_wrote_in_one_language_is_given_again_only_in_that_language(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    ledger.state.record_prompt("agent1lucia", "Tu laptop cobra vida a las 3 a.m. y pide una pizza.", "asi1", "es")
    ledger.state.record_prompt("agent1ada", "Your laptop wakes up at 3 a.m. and orders a pizza.", "asi1", "en")
    assert ledger.state.pooled_prompts(set(), language="es") == ["Tu laptop cobra vida a las 3 a.m. y pide una pizza."]
    assert ledger.state.pooled_prompts(set()) == ["Your laptop wakes up at 3 a.m. and orders a pizza."]
    # Lucía switched to English: her unused Spanish prompt is not repeated, she gets one she reads.
    assert ledger.state.unused_prompt("agent1lucia", "es") is not None
    assert ledger.state.unused_prompt("agent1lucia", "en") is None
    ledger.close()


# --- found by trying it as an organizer and an attacker would ------------------------------------------------


async def test_a_card_answer_or_a_pasted_code_does_not_change_the_language_a_person_is_answered_in(conversation):
    first = await conversation.handle("agent1mona", "مرحبا، كيف أحصل على بيتزا؟")
    assert answered_in(first.text) == {"ar"}
    # "Show my code again" on a card arrives as our English text: it says nothing about her language.
    tapped = await conversation.handle("agent1mona", "what is my code?", typed=False)
    assert answered_in(tapped.text) <= {"ar"}
    pasted = await conversation.handle("agent1mona", "STANDARD-HDY2K5VG-AESZD8T9")
    assert answered_in(pasted.text) <= {"ar"}
    assert conversation.ledger.ledger.state.language_of("agent1mona") == ("ar", False)


async def test_help_and_a_refused_command_are_in_the_participants_language(conversation):
    await conversation.handle("agent1lucia", "Hola, ¿cómo consigo una pizza?")
    assert answered_in((await conversation.handle("agent1lucia", "help")).text) == {"es"}
    refused = await conversation.handle("agent1lucia", "lookup ada")
    assert refused.outcome == "refused" and answered_in(refused.text) == {"es"}


def test_the_detector_reads_the_opening_of_a_long_message_and_weighs_han_characters():
    detector = LanguageDetector(CONTENT, SHIPPED)
    assert detector.detect("我想要pizza") == "zh"  # three Han characters outweigh five Latin letters
    assert detector.detect("I'm 李明, can I get a pizza please") == "en"
    long = "Hola, me encantaría una pizza para mi equipo esta noche. " + "zzzz " * 10_000
    assert detector.detect(long) == "es"
    assert detector.detect("STANDARD-HDY2K5VG-AESZD8T9") is None  # a code says nothing


def test_the_language_command_as_people_type_it():
    assert parse_lang_command("lang es.").code == "es"
    assert parse_lang_command("ｌａｎｇ ｅｓ").code == "es"  # full-width
    assert parse_lang_command(clean_text("lang \u200fes")).code == "es"  # a right-to-left mark typed before


def test_bidirectional_controls_are_dropped_from_what_people_send():
    assert clean_text("\u202eAt 3 a.m. our laptop ordered pizza") == "At 3 a.m. our laptop ordered pizza"
    assert clean_text("K7Q2\u200f-M9XA-4F3T") == "K7Q2-M9XA-4F3T"  # a claim code with a mark typed inside
    assert clean_text("ليلى\u200e حسن") == "ليلى حسن"


def test_a_language_file_that_is_not_utf8_is_refused_with_its_name(tmp_path):
    import shutil

    content_dir = tmp_path / "static_content"
    shutil.copytree(Path(__file__).parent.parent / "static_content", content_dir)
    with (content_dir / "languages" / "es.toml").open("ab") as handle:
        handle.write(b"\xff")
    with pytest.raises(StaticContentError, match=r"es\.toml: not UTF-8 text"):
        StaticContent.load(content_dir)


@pytest.mark.parametrize(
    ("answer", "diet"),
    [
        ("vegetariano", "vegetarian"),
        ("végétarien", "vegetarian"),
        ("शाकाहारी", "vegetarian"),
        ("素食", "vegetarian"),
        ("حلال", "halal"),
        ("vegano", "vegan"),
        ("ninguna", "regular"),
        ("sin gluten", "gluten-free"),  # not on this plan: kept as said, for the order sheet
    ],
)
def test_the_diet_question_is_answered_in_any_shipped_language(answer, diet):
    assert match_diet(answer, ("regular", "vegetarian", "vegan", "halal"), combine=False).diet == diet


async def test_two_people_behind_one_sender_keep_their_own_language_before_their_badges(make_conversation):
    conversation = make_conversation(PARTICIPANTS="roster")
    await conversation.handle("agent1platform", "Hola, ¿me das una pizza?", "chat-1")
    await conversation.handle("agent1platform", "مرحبا، أريد بيتزا من فضلك", "chat-2")
    assert answered_in((await conversation.handle("agent1platform", "ok", "chat-1")).text) == {"es"}
    assert answered_in((await conversation.handle("agent1platform", "ok", "chat-2")).text) == {"ar"}
