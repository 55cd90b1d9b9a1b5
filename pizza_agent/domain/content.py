"""The event's own words: prompts, reply templates, participant-facing messages, and the keyword reading of a message.

They live in `static_content/*.toml` so organizers can edit them without
touching code; `StaticContent.load` checks them at start-up and names the file
and entry of any mistake. The static layer (llm) answers from them when no
model does; the conversation (event) speaks with them; the ledger never needs them.
"""

from __future__ import annotations

import random
import re
import string
import tomllib
from pathlib import Path

from pydantic import BaseModel

from pizza_agent.domain.languages import (
    BASE_LANGUAGE,
    LanguageError,
    LanguagePack,
    check_seven_days,
    current_language,
    load_pack,
)
from pizza_agent.domain.scores import Intent, IntentKind
from pizza_agent.domain.text import SENTENCE_END
from pizza_agent.domain.tiers import TIERS

REPLY_PLACEHOLDERS = {"story_detail", "score", "tier", "code"}
# The agent profile's starter prompts (Agentverse shows a few short ones): profile.toml, else these.
DEFAULT_STARTER_PROMPTS = ["I'd like a pizza", "How does this work?", "When is the next meal?"]
MAX_STARTER_PROMPTS = 4
MAX_STARTER_PROMPT_CHARS = 80
MESSAGE_PLACEHOLDERS = {
    "person",
    "meal",
    "until",
    "when",
    "wait",
    "event",
    "diet",
    "choices",
    "group",
    "time",
    "prompt",
    "min_chars",
    "max_chars",
    "length",
    "code",
    "tier",
    "max_bytes",
    "score",
    "wanted",
    "old",
    "reason",
    "role",
    "offered",
    "meals",
    "hours",
    "minutes",
    "language",
    "languages",
}
REQUIRED_MESSAGES = (
    "prompt_intro",
    "story_too_short",
    "story_too_long",
    "already_has_coupon",
    "help",
    "organizer_help",
    "not_authorized",
    "unreadable",
    "too_large",
    "empty",
    "tier_exhausted",
    "busy",
    "slow_down",
    "internal_error",
    "confirm_story",
    "no_words",
    "tier_fell_down",
    "paused",
    "instructions_only",
    "upgraded",
    "ledger_busy",
    "ledger_gone",
    "under_review",
    "approved_upgrade",
    "coupon_voided",
)

# Roster mode's words (PARTICIPANTS=roster): a content directory written before them still loads,
# with these; messages.toml overrides each.
ROSTER_MESSAGES = {
    "claim_ask": "Pizza here is for registered attendees: please send me the claim code printed on your badge "
    "(it looks like K7Q2-M9XA-4F3T). While you find it, here's your story prompt:\n\n{prompt}",
    "claim_ask_closed": "Pizza here is for registered attendees: please send me the claim code printed on your "
    "badge (it looks like K7Q2-M9XA-4F3T), so I know it's you when the next meal opens.",
    "claim_story_waits": "Thanks for the story, it's saved! Now send me the claim code printed on your badge "
    "(it looks like K7Q2-M9XA-4F3T) and I'll judge it straight away.",
    "claim_welcome": "Hi {person}, your badge is linked to this chat.",
    "claim_typo": "That claim code doesn't check out: probably a typo. Compare it with your badge symbol by symbol "
    "(codes have no 0, O, 1 or I) and send it again.",
    "claim_unknown": "That claim code isn't on any badge of this event (or it was replaced by a new one). Please "
    "check your badge, or ask an organizer at the desk.",
    "claim_elsewhere": "That claim code is already linked to another chat. If the badge is yours, please see an "
    "organizer at the desk: they can check it and give you a new code.",
    "claim_removed": "That badge is no longer on this event's list. Please see an organizer at the desk.",
    "claim_story_later": "No meal is being served right now, so your story was not kept: send it again when the "
    "next meal opens.",
    "claim_story_kept": "Your story is saved: when pizza is served again, reply yes and I'll judge it (it is kept "
    "for 30 minutes; after that, just send it again).",
    "claim_slow_down": "That's a lot of codes that didn't match. Please wait a few minutes, and if your badge's code "
    "still doesn't work, an organizer at the desk can help.",
}

# One person, one chat (domain/identity.py): a content directory written before them still loads, with these.
IDENTITY_MESSAGES = {
    "granted": "An organizer gave you a {tier} pizza coupon for this meal: {code}. Show it at the food table.",
    "coupon_in_another_chat": "This address already received a pizza coupon for this meal, in another chat. "
    "The code was shown there; if that was you, show that chat at the food table, or ask an organizer to look "
    "it up. If you are someone else sharing this address, please ask an organizer at the desk.",
}

# Meals and diets (EVENT_PLAN): a content directory written before them still loads, with these.
MEAL_MESSAGES = {
    "meal_open": "{meal} is being served until {until}.",
    "meal_next": "No pizza is being served right now. The next meal is {meal}, {when} (in {wait}): come back "
    "then with your story!",
    "meal_over": "That was the last meal of {event}. Thank you for hacking with us, and see you at the next one!",
    "meal_coupon": "This coupon is for {meal}.",
    "meal_group": "Your group {group}: come at {time}.",
    "meal_past_coupon": "Your coupon for {meal} was for a past meal.",
    "diet_question": "One question first, so the kitchen makes the right pizza: what do you eat? Reply with a "
    "number: {choices}. (You can change it any time with, for example, `diet vegan`.)",
    "diet_set": "Noted: {diet}. You can change it any time with `diet NAME`.",
    "diet_unknown": "I don't know that diet. Choose one of: {choices} (for example `diet vegan`).",
    "diet_on_record": "Your diet on record: {diet}. To change it, send for example `diet vegan`.",
    "diet_not_offered": "Note: {meal} has no {diet} option (it offers {offered}): tell the food table, they will "
    "sort it out with you.",
    "meal_group_now": "Your group {group} is being served now.",
    "role_coupon": "Welcome to the table, {role}: no story needed. Your {tier} pizza coupon code: {code}",
    "schedule": "The meals of {event}: {meals}.",
    "schedule_none": "Pizza is served whenever you ask: send me a short story and I'll rate it for a coupon.",
}

# Words inside other messages and on cards, the language command, and the lines after a model's reply: a
# content directory written before them still loads, with these.
WORDING_MESSAGES = {
    "wait_soon": "less than a minute",
    "wait_hours_minutes": "{hours} h {minutes} min",
    "wait_hours": "{hours} h",
    "wait_minutes": "{minutes} min",
    "weekdays": "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday",
    "weekdays_short": "Mon, Tue, Wed, Thu, Fri, Sat, Sun",
    "schedule_now": "(now)",
    "schedule_next": "(next)",
    "schedule_over": "(over)",
    "card_schedule": "Meals of {event}",
    "card_diet": "What do you eat?",
    "card_confirm": "Is that your story? Score it for your coupon?",
    "card_coupon": "Your pizza coupon",
    "card_tier": "Tier",
    "card_meal": "Meal",
    "card_pickup": "Pickup",
    "card_pickup_value": "group {group}, from {time}",
    "card_code": "Code",
    "card_send": "Send",
    "card_show_code": "Show my code again",
    "card_yes": "Yes, score it",
    "card_no": "No",
    "no_reason": "no reason given",
    "lang_set": "Got it: from now on I'll answer in {language}.",
    "lang_choices": "I can answer in: {languages}. To choose, send for example `lang en`.",
    "reply_code_line": "Your {tier} pizza coupon code: {code}",
    "reply_score_line": "Your story scored {score}/10. Your {tier} pizza coupon code: {code}",
}

QUESTION_MARKS = ("?", "？", "؟")
QUESTION_PARTICLES = ("吗", "嗎")


# A story this long (or of several sentences) is scored at once when both readings agree; a single
# shorter sentence is asked about first.
SURE_STORY_WORDS = 12
# A question mark closing a message of this many words and several sentences is rhetorical.
RHETORICAL_QUESTION_WORDS = 20
# A request, greeting or call for help this short is read by the keyword rules alone (no model call).
OBVIOUS_WORDS = 6
# A message about pizza or coupons this short that asks something anywhere is no story.
PIZZA_REQUEST_WORDS = 40
# A message that asks for nothing, with this many words, is a story attempt (too short: told why).
STORY_ATTEMPT_WORDS = 4


class StaticContentError(Exception):
    """An organizer-edited file is wrong; the message names the file and the entry."""


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class TextReading(BaseModel):
    """What the keyword rules see in one message (the static layer's intent, and the second opinion)."""

    kind: IntentKind
    words: int
    no_words: bool  # emoji or punctuation only
    question: bool
    request_like: bool  # talks to the agent: a request, question, greeting, thanks or support
    story_shaped: bool  # long enough, a sentence or more, no question, no request cue
    story_attempt: bool = False  # asks for nothing and has a few words: if too short, say so
    sentences: int = 0

    @property
    def sure(self) -> bool:
        """Long enough (12+ words, or several sentences) to be scored at once when both readings agree."""
        return self.words >= SURE_STORY_WORDS or self.sentences >= 2

    @property
    def obvious(self) -> bool:
        """A short request, greeting or call for help that needs no model to read ("I want pizza", "hi")."""
        if self.story_shaped or (self.story_attempt and self.kind != "help"):
            return False
        return self.kind in ("pizza_request", "greeting", "help") and self.words <= OBVIOUS_WORDS


class StaticContent(BaseModel):
    prompts: list[str]
    templates: dict[str, list[str]]
    keywords: dict[str, list[str]]
    request_cues: list[str]
    question: dict[str, list[str]]
    messages: dict[str, str]
    starter_prompts: list[str] = list(DEFAULT_STARTER_PROMPTS)
    # Every language with a file in languages/ (English always): its sentences and its words.
    languages: dict[str, LanguagePack] = {}

    @classmethod
    def load(cls, directory: Path) -> StaticContent:
        keywords, cues, question = _load_intents(_read_toml(directory / "intents.toml"))
        profile = directory / "profile.toml"  # optional: a copy of older static content has none
        messages = _load_messages(_read_toml(directory / "messages.toml"))
        languages = _load_languages(directory / "languages", messages)
        # The keyword rules read every language the project has words for, whichever the event lists:
        # a request in any of them is a request.
        for pack in languages.values():
            for kind in ("pizza_request", "help", "greeting", "confirm"):
                keywords[kind] = _merged(keywords[kind], pack.words.get(kind, []))
            cues = _merged(cues, pack.words.get("request", []))
            question["openers"] = _merged(question.get("openers", []), pack.words.get("question_openers", []))
        return cls(
            prompts=_load_prompts(_read_toml(directory / "prompts.toml")),
            templates=_load_templates(_read_toml(directory / "replies.toml")),
            keywords=keywords,
            request_cues=cues,
            question=question,
            messages=messages,
            starter_prompts=_load_starter_prompts(_read_toml(profile)) if profile.exists() else DEFAULT_STARTER_PROMPTS,
            languages=languages,
        )

    def pack(self, code: str | None = None) -> LanguagePack:
        """The language `code` (default: the one being spoken now); English when there is no file for it."""
        code = code or current_language()
        return self.languages.get(code) or self.languages.get(BASE_LANGUAGE) or _ENGLISH

    # --- the static answers --------------------------------------------------
    def keyword_intent(self, text: str, story_min_chars: int) -> Intent:
        return Intent(kind=self.read(text, story_min_chars).kind)

    def read(self, text: str, story_min_chars: int) -> TextReading:
        """The keyword rules' reading of a message (see static_content/intents.toml).

        A story is long enough, has 8 words or more, is no question and carries
        no request cue; a short message about pizza or coupons (under
        SURE_STORY_WORDS words) is not taken for one without asking. A question
        mark closing a long, several-sentence message is rhetorical: the story is
        not lost to the help text. A short message of a few words that asks for
        nothing is a (too short) story attempt, so the participant is told why.
        """
        # As people type in chat: "hiiii" is "hi", and "didnt" is "didn't" (a cue with an apostrophe also
        # matches without it, _load_intents).
        lowered = re.sub(r"([^\W\d_])\1{2,}", r"\1", " ".join(text.lower().split()))
        words = re.findall(r"\w+(?:'\w+)?", lowered)
        ideographs = sum(1 for ch in lowered if 0x3040 <= ord(ch) <= 0x30FF or 0x4E00 <= ord(ch) <= 0x9FFF)
        if ideographs:  # Chinese and Japanese put no spaces between words: about two characters a word
            words = [w for w in words if not any(0x3040 <= ord(c) <= 0x9FFF for c in w)] + ["字"] * (ideographs // 2)
        sentences = len(re.findall(rf"{SENTENCE_END}+(?=\s|$)", lowered))
        rhetorical = len(words) >= RHETORICAL_QUESTION_WORDS and sentences >= 2
        question = self.is_question(lowered, words, sentences) and not rhetorical
        cue = any(_matches(c, lowered) for c in self.request_cues)
        # A greeting opening the message, or as its second word ("everyone, hello"; "সবাইকে হ্যালো").
        opening = " ".join(lowered.split()[:2])
        cue = cue or any(
            _starts_with(greeting, lowered) or _matches(greeting, opening) for greeting in self.keywords["greeting"]
        )
        request_like = question or cue
        about_pizza = any(_matches(k, lowered) for k in self.keywords["pizza_request"])
        # No narrative, whatever the intent model says: a short sentence about pizza or coupons, or a message
        # under PIZZA_REQUEST_WORDS words about them that asks something anywhere ("…, can we get pizza? We've
        # coded since morning"). A story that is one of those is asked about first, never lost.
        # (a question mark closing a long story of several sentences is rhetorical, as above, and one inside
        # quotation marks is a character's line: '"Who ate my crust?" yelled Priya' is dialogue, a narrative)
        unquoted = re.sub(r"[?？؟]\s*[\"'”’»」』]", "", lowered.rstrip()[:-1])
        asks = question or any(mark in unquoted for mark in QUESTION_MARKS) or lowered.startswith("¿")
        short_about_pizza = about_pizza and (
            (len(words) < SURE_STORY_WORDS and sentences < 2) or (len(words) < PIZZA_REQUEST_WORDS and asks)
        )
        story_shaped = len(lowered) >= story_min_chars and len(words) >= 8 and not request_like
        story_shaped = story_shaped and not short_about_pizza
        kind = self._kind(lowered, words, question, request_like, story_shaped)
        no_words = not any(ch.isalnum() for ch in text)
        return TextReading(
            kind=kind,
            words=len(words),
            no_words=no_words,
            question=question,
            request_like=request_like,
            story_shaped=story_shaped,
            story_attempt=not request_like and len(words) >= STORY_ATTEMPT_WORDS,
            sentences=sentences,
        )

    def _kind(
        self, lowered: str, words: list[str], question: bool, request_like: bool, story_shaped: bool
    ) -> IntentKind:
        if story_shaped:
            return "story"
        if not words:
            return "other"
        if question and not any(_matches(k, lowered) for k in self.keywords["pizza_request"]):
            return "help"
        return next(
            (k for k in ("help", "pizza_request", "greeting") if any(_matches(w, lowered) for w in self.keywords[k])),
            "story" if len(words) >= 3 and not request_like else "other",
        )

    def is_question(self, lowered: str, words: list[str], sentences: int) -> bool:
        if lowered.rstrip().endswith(QUESTION_MARKS) or lowered.lstrip().startswith("¿"):
            return True
        if lowered.rstrip(" .!。！").endswith(QUESTION_PARTICLES):  # 有披萨吗 (Chinese asks without a "?")
            return True
        if len(words) < 2:
            return False
        first, second = words[0], words[1]
        q = self.question
        english = (first in q["wh_words"] and second in q["wh_next"]) or (
            first in q["verbs"] and second in q["verb_next"]
        )
        # Another language's question word opening a single sentence ("cómo consigo…", "क्या मुझे…", "كيف…").
        return english or (sentences < 2 and any(_starts_with(w, lowered) for w in q.get("openers", ())))

    def is_confirmation(self, text: str) -> bool:
        lowered = " ".join(text.lower().split()).strip(" .!,。！，、।،؟?")
        return lowered in self.keywords["confirm"]

    def pick_prompt(self, avoid: set[str], rng: random.Random) -> str:
        """A static prompt in the language being spoken, one this participant has not had while others remain."""
        prompts = self.pack().prompts or self.prompts
        fresh = [p for p in prompts if p not in avoid]
        return rng.choice(fresh or prompts)

    def render_reply(self, *, tier: str, score: int, code: str, story: str, rng: random.Random) -> str:
        template = rng.choice(self.pack().templates.get(tier) or self.templates[tier])
        return template.format(story_detail=story_detail(story), score=score, tier=tier, code=code)

    def message(self, name: str, **values: object) -> str:
        """The message `name` in the language being spoken (`speaking`), or in English where it has none."""
        return self.pack().messages.get(name, self.messages[name]).format(**values)


def _matches(keyword: str, text: str) -> bool:
    """Whole words (plurals too: "coupons") in Latin, Greek and Cyrillic; a stem ending in "*" with any ending
    ("pizz*": pizze, pizzy; "пицц*": пиццу); a plain substring in every other script, whose words either have
    no spaces between them (Chinese, Japanese, Thai) or take their articles and particles attached (Arabic
    "البيتزا", Hebrew "הפיצה"), and for keywords with punctuation ("?")."""
    stem = keyword.endswith("*")
    keyword = keyword.rstrip("*")
    if re.fullmatch(r"[\w' -]+", keyword) and all(ord(ch) < 0x0590 for ch in keyword):
        ending = r"\w*" if stem else r"(?:s|es)?"
        return re.search(rf"\b{re.escape(keyword)}{ending}\b", text) is not None
    return keyword in text


def _starts_with(keyword: str, text: str) -> bool:
    """The message opens with `keyword` as a whole word ("hi there", not "hiking")."""
    return text.startswith(keyword) and (len(text) == len(keyword) or not text[len(keyword)].isalnum())


def story_detail(story: str, limit: int = 60) -> str:
    """A short phrase from the story for a personal touch: its first sentence, trimmed."""
    # A sentence ends at ".!?" before a capital, or at the full stops of scripts without capitals (。！？।؟).
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])|(?<=[。！？।؟])\s*", " ".join(story.split()), maxsplit=1)[0]
    first = first.replace('"', "'")
    if len(first) <= limit:
        return first.rstrip(".!?。！？।؟")
    return first[:limit].rsplit(" ", 1)[0] + "..."


def _load_starter_prompts(doc: dict) -> list[str]:
    """profile.toml's starter prompts: 1 to MAX_STARTER_PROMPTS, each a short line a person taps to begin."""
    prompts = _string_list(doc.get("starter_prompts"), "profile.toml", "starter_prompts")
    if not 1 <= len(prompts) <= MAX_STARTER_PROMPTS:
        raise StaticContentError(
            f"profile.toml: 'starter_prompts' needs 1 to {MAX_STARTER_PROMPTS}, has {len(prompts)}"
        )
    for i, prompt in enumerate(prompts):
        if not prompt.strip() or len(prompt) > MAX_STARTER_PROMPT_CHARS or "\n" in prompt:
            raise StaticContentError(
                f"profile.toml: starter_prompts[{i}] must be one line of 1 to {MAX_STARTER_PROMPT_CHARS} characters"
            )
    return [prompt.strip() for prompt in prompts]


def _load_prompts(doc: dict) -> list[str]:
    prompts = _string_list(doc.get("prompts"), "prompts.toml", "prompts")
    if len(prompts) < 10:
        raise StaticContentError(f"prompts.toml: 'prompts' needs at least 10 entries, has {len(prompts)}")
    for i, prompt in enumerate(prompts):
        if len(prompt.strip()) < 20:
            raise StaticContentError(f"prompts.toml: prompts[{i}] is shorter than 20 characters")
    return prompts


def _load_templates(doc: dict) -> dict[str, list[str]]:
    """Reply templates per tier, each with the {code} placeholder."""
    templates: dict[str, list[str]] = {}
    for tier in TIERS:
        entry = f"[{tier}] templates"
        section = doc.get(tier)
        items = _string_list(section.get("templates") if isinstance(section, dict) else None, "replies.toml", entry)
        for i, template in enumerate(items):
            names = _checked_placeholders(template, REPLY_PLACEHOLDERS, "replies.toml", f"{entry}[{i}]")
            if "code" not in names:
                raise StaticContentError(f"replies.toml: {entry}[{i}] must contain {{code}}")
        templates[tier] = items
    return templates


def _section_words(doc: dict, section: str, key: str) -> list[str]:
    """intents.toml's [section] key: a list of words, lower-cased."""
    part = doc.get(section)
    entry = f"[{section}] {key}"
    return [
        w.lower().strip()
        for w in _string_list(part.get(key) if isinstance(part, dict) else None, "intents.toml", entry)
    ]


def _load_intents(doc: dict) -> tuple[dict[str, list[str]], list[str], dict[str, list[str]]]:
    """The keyword rules: keywords per kind, the request cues, the question words."""
    keywords = {
        kind: _section_words(doc, kind, "keywords") for kind in ("pizza_request", "help", "greeting", "confirm")
    }
    cues = _section_words(doc, "request", "cues")
    cues = list(dict.fromkeys([*cues, *(c.replace("'", "") for c in cues if "'" in c)]))
    question = {name: _section_words(doc, "question", name) for name in ("wh_words", "wh_next", "verbs", "verb_next")}
    return keywords, cues, question


def _load_messages(doc: dict) -> dict[str, str]:
    """Every participant-facing message: the required ones, and the optional ones with their defaults."""
    messages: dict[str, str] = {}
    optional = {**ROSTER_MESSAGES, **IDENTITY_MESSAGES, **MEAL_MESSAGES, **WORDING_MESSAGES}
    for name in [*REQUIRED_MESSAGES, *optional]:
        value = doc.get(name, optional.get(name))
        if not isinstance(value, str) or not value.strip():
            raise StaticContentError(f"messages.toml: '{name}' must be a non-empty string")
        _checked_placeholders(value, MESSAGE_PLACEHOLDERS, "messages.toml", name)
        try:
            check_seven_days(name, value, "messages.toml:")
        except LanguageError as exc:
            raise StaticContentError(str(exc)) from None
        messages[name] = value
    return messages


_ENGLISH = LanguagePack(code=BASE_LANGUAGE, name="English", english_name="English")


def _merged(words: list[str], more: list[str]) -> list[str]:
    return list(dict.fromkeys([*words, *more]))


def _load_languages(directory: Path, messages: dict[str, str]) -> dict[str, LanguagePack]:
    """Every languages/<code>.toml (a copy of older static content has none: English alone)."""
    languages = {BASE_LANGUAGE: _ENGLISH}
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else ():
        try:
            pack = load_pack(path, _read_toml(path), messages)
        except LanguageError as exc:
            raise StaticContentError(str(exc)) from None
        languages[pack.code] = pack
    return languages


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise StaticContentError(f"{path.name}: file missing in {path.parent}") from None
    except tomllib.TOMLDecodeError as exc:
        raise StaticContentError(f"{path.name}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise StaticContentError(f"{path.name}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None


def _string_list(value: object, file: str, entry: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise StaticContentError(f"{file}: '{entry}' must be a non-empty list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise StaticContentError(f"{file}: '{entry}'[{i}] must be a non-empty string")
    return value


def _checked_placeholders(template: str, allowed: set[str], file: str, entry: str) -> set[str]:
    try:
        names = _placeholders(template)
    except ValueError as exc:
        raise StaticContentError(f"{file}: {entry} has a broken placeholder ({exc})") from None
    unknown = names - allowed
    if unknown:
        raise StaticContentError(f"{file}: {entry} uses unknown placeholder(s) {sorted(unknown)}")
    return names
