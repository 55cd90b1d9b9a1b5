"""What counts as a story: the rule that guards every participant's one coupon.

A coupon is only ever spent on a story the participant meant as their story.
Two readings are taken of every message: the LLM layer's intent (OpenAI, ASI1,
or the keyword rules when neither answers) and the keyword rules' own reading
(static_content/intents.toml), which looks for requests, questions, greetings
and thanks in every language it has cues for. Then:

- both say "story" (the text is long enough, 12+ words, no question, no request
  cue) → it is scored at once;
- only one of them says "story" → the agent asks "Shall I score that as your
  story?" and holds the text; the participant's "yes" (or the same text again)
  scores it. Nothing is lost and nothing is spent by mistake;
- a short message that asks for nothing is a too-short story attempt, and is told so;
- a question gets the help text; anything else gets a story prompt.
"""

from __future__ import annotations

from enum import StrEnum

from pizza_agent.domain.content import TextReading


class StoryDecision(StrEnum):
    SCORE = "score"
    CONFIRM = "confirm"
    TOO_SHORT = "too_short"
    NO_WORDS = "no_words"
    HELP = "help"
    PROMPT = "prompt"


def decide(reading: TextReading, llm_kind: str, length: int, min_chars: int) -> StoryDecision:
    """`reading`: the keyword rules'; `llm_kind`: the intent layer's (the same rules when no LLM answered)."""
    if reading.no_words:
        return StoryDecision.NO_WORDS
    asks_for_help = reading.kind == "help" or (llm_kind == "help" and reading.kind != "pizza_request")
    if length < min_chars:
        if reading.kind == "story" or reading.story_attempt:
            return StoryDecision.TOO_SHORT
        if llm_kind == "story" and reading.kind == "other" and not reading.request_like:
            return StoryDecision.TOO_SHORT
        return StoryDecision.HELP if asks_for_help else StoryDecision.PROMPT
    if reading.story_shaped and llm_kind == "story" and reading.sure:
        return StoryDecision.SCORE
    if reading.story_shaped or llm_kind == "story" or (reading.story_attempt and reading.words >= 8):
        return StoryDecision.CONFIRM  # unsure: ask, and hold the text for the participant's yes
    return StoryDecision.HELP if asks_for_help else StoryDecision.PROMPT
