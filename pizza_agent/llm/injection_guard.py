"""Spots stories that talk to the grader instead of telling a story, and cuts that part out.

A flagged story is still scored, but its score is capped by the score of its
cleaned version (the injected parts removed) and by FLAGGED_SCORE_CAP: an
injection can only lower a story's score, never raise it. This does not rely on
the model's good manners; the tests run it against a deliberately gullible one.

Matching happens on a normalised copy: NFKC, zero-width and bidi controls
removed, common Cyrillic/Greek look-alikes folded to Latin, case folded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF], None
)
# Look-alikes that NFKC leaves alone: Cyrillic and Greek letters that read as Latin.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁɡӏАВЕКМНОРСТХУІЈЅαεοτνκρΑΒΕΗΙΚΜΝΟΡΤΧΥΖ",
    "aeopcyxijsdglABEKMHOPCTXYIJSaeotvkpABEHIKMNOPTXYZ",
)

_NUMBER10 = r"(?:10|ten|diez|dix|zehn|dieci|dez|десять|十|満点|满分)"
_PATTERNS: dict[str, str] = {
    "ignore_instructions": r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}"
    r"\b(?:instructions?|rules?|rubric|prompts?|guidelines?|directions?|system)\b",
    "new_instructions": r"\b(?:new|updated|real|actual|hidden)\s+(?:instructions?|rules?|task|rubric)\b",
    "demands_score": rf"\b(?:rate|score|grade|give|award|assign|mark|output|return|respond with)\s+"
    rf"(?:this|me|my|it|the|our|us|a|an)\b[^.\n]{{0,30}}(?:\b{_NUMBER10}\b|perfect|maximum|highest|full marks|premium)"
    r"\s*(?:/\s*10|out of|points?|scores?|ratings?|marks?|stars?|grades?|tier|[!.]|$)",
    "top_score": r"\b(?:perfect|maximum|max|highest|top|full)\s+(?:score|marks|rating|grade|points)\b",
    "score_notation": rf"\b{_NUMBER10}\s*(?:/|out of|of)\s*{_NUMBER10}\b|\bscore\s*[:=]\s*\d"
    rf"|\bscore\s+(?:of\s+)?{_NUMBER10}\b",
    "fake_json": r"[{,]\s*[\"']?(?:score|rating|reason)[\"']?\s*:",
    "role_play": r"(?:^|\n)\s*(?:#+\s*)?(?:system|assistant|developer|user)\s*(?:message|prompt)?\s*[:>]"
    r"|(?:^|\n)\s*#+\s*(?:system|assistant|developer|instructions?)\b"
    r"|<\|?(?:im_start|im_end|system|assistant)\|?>|\[/?(?:inst|sys)\]|<<sys>>",
    "addresses_grader": r"\b(?:dear|hey|hi|attention|note to|to the|message to|instructions? for)\s+(?:the\s+)?"
    r"(?:judge|grader|evaluator|ai|model|llm|assistant|scorer|bot|gpt|reviewer)s?\b"
    r"|\byou are (?:now|a|an|the)\b[^.\n]{0,30}\b(?:judge|grader|evaluator|assistant|model)\b"
    r"|\b(?:as|if) (?:an? |the )?(?:ai|language model|grader|judge)\b"
    r"|\b(?:judge|grader|evaluator|scorer|model|ai)s?\s+(?:must|should|shall|will|has to|have to)\b",
    "mode_switch": r"\b(?:developer|debug|god|admin|jailbreak|dan)\s+mode\b|\bjailbreak\b|\bprompt injection\b",
    "foreign_ignore": r"\bignora(?:r)?\b[^.\n]{0,30}\binstrucciones\b|\bignorez?\b[^.\n]{0,30}\binstructions\b"
    r"|\bignorier(?:e|en)?\b[^.\n]{0,30}\banweisungen\b|\bignora\b[^.\n]{0,30}\bistruzioni\b"
    r"|игнорир\w*|инструкци\w*|忽略|無視|指示を|给.{0,4}分|満点|满分|最高分|10\s*点|10\s*分"
    r"|\b(?:puntuaci[oó]n|nota|note|punkte|bewertung|voto)\b[^.\n]{0,20}\b" + _NUMBER10 + r"\b",
}
_COMPILED = {name: re.compile(pattern, re.IGNORECASE | re.MULTILINE) for name, pattern in _PATTERNS.items()}
_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_SEGMENT = re.compile(r"[^.!?\n]+[.!?]*|\n")


def normalise(text: str, fold_lookalikes: bool = True) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return (text.translate(_CONFUSABLES) if fold_lookalikes else text).casefold()


def _hits(text: str) -> list[str]:
    # Both readings: look-alikes folded to Latin (English in disguise) and as written (Russian is Cyrillic).
    readings = (normalise(text), normalise(text, fold_lookalikes=False))
    return [name for name, pattern in _COMPILED.items() if any(pattern.search(r) for r in readings)]


@dataclass(frozen=True)
class GuardVerdict:
    flagged: bool
    reasons: list[str] = field(default_factory=list)
    cleaned: str = ""


def inspect_story(story: str) -> GuardVerdict:
    """Flag a story that addresses the grader; `cleaned` is the story without those parts."""
    reasons = _hits(story)
    if not reasons:
        return GuardVerdict(False, [], story)
    # Code blocks that carry instructions go whole; then every sentence or line that matches.
    without_fences = _FENCE.sub(lambda m: "" if _hits(m.group(0)) else m.group(0), story)
    kept: list[str] = []
    for segment in _SEGMENT.findall(without_fences):
        hits = _hits(segment)
        if "role_play" in hits:
            break  # after a fake "system:" turn, everything is the injection's
        if not hits:
            kept.append(segment)
    cleaned = re.sub(r"[ \t]+", " ", "".join(kept)).strip()
    return GuardVerdict(True, reasons, cleaned)
