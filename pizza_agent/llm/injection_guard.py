"""The pre-filter: finds the parts of a story that talk to the judge, in linear time, so they can be cut out.

It is one of three defences, none of which relies on the model's good manners
(docs/fallback-design.md, SECURITY.md): the story reaches every model only as
marked data (spotlighting, in tasks.py); this pre-filter and an LLM
classification (the detect task) find instructions to the judge, which are
removed before the story is scored, and a flagged story is capped at
FLAGGED_SCORE_CAP; the score is read strictly from a rubric whose every
criterion must quote the story.

What the pre-filter looks at, on a normalised copy (NFKC, invisible, format and
combining characters removed, Cyrillic/Greek look-alikes folded, case folded)
and on decoded readings of each part (base64, hex, ROT13, reversed, leetspeak,
spelled-out letters, `\\uXXXX` escapes):

- structure: chat-template tokens of every major model family, role lines
  ("System:", "### Instruction"), tags that close the data block, HTML and
  Markdown comments, hidden elements, JSON with score-like keys;
- requests: a sentence with a score object (10, ten, full marks, maximum,
  premium, …, in eight languages) that also commands (imperative), addresses the
  judge, refers to this story, pleads, or assigns (`score = 10`);
- meta-instructions: ignore / override / forget … the rules, rubric, prompt;
- mode switches and role play ("you are now ScoreBot", "developer mode").

Linear time: the patterns run on RE2 (google-re2: automata, no backtracking,
linear in the input by construction, and ~100x faster than `re` on these long
alternations); the text is cut once into parts (sentences, lines, tags, JSON
objects, comments; fences and comments by `str.find`), consecutive sentences
are examined together and one by one only when their run is flagged, so the
work is proportional to the length (`GuardVerdict.work`, bounded by a property
test). Before: one `re` pattern was quadratic on runs of newlines (1.6 s for a
valid 4 KB story).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import re
import unicodedata
from dataclasses import dataclass, field

import re2

# Look-alikes that NFKC leaves alone: Cyrillic and Greek letters that read as Latin.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁɡӏАВЕКМНОРСТХУІЈЅαεοτνκρΑΒΕΗΙΚΜΝΟΡΤΧΥΖ",
    "aeopcyxijsdglABEKMHOPCTXYIJSaeotvkpABEHIKMNOPTXYZ",
)
_LEET = str.maketrans("4310@$7", "aeioast")

# --- the parts of a story ------------------------------------------------------------------------
# Structural parts first (each bounded in length), then sentences and lines for the rest.
_OPENERS = {"```": "```", "<!--": "-->"}  # code fences and HTML comments: cut by str.find, in linear time
_STRUCTURE = re2.compile(
    r"(?i)```|<!--"  # (their ends are found by _structure_end)
    r"|\[(?://|comment)\]:[^\n]*"  # Markdown comments
    r"|<(?:div|span|details|meta|p|section)\b[^>]*>(?:[^<]*(?:</[a-z]+>)?)?"  # hidden elements
    r"|\{[^{}\n]*(?:\{[^{}\n]*\}[^{}\n]*)*\}"  # JSON objects (two levels)
    r"|\[\s*\{[^\n]*?\}\s*\]"  # a JSON list of objects
    r"|<\|[a-z_]+\|>[^\n]*"  # chat-template lines
    r"|<<<?\s*end\s*>>>?[^\n]*"
)
# Python's re here: a plain character class, linear, and cheaper per match than the RE2 binding.
_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+[\"'”’)]*)?")

# --- what makes a part suspicious ---------------------------------------------------------------
_SCORE_OBJECT = (
    r"\b(?:10|ten|diez|dix|zehn|dieci|dez)\b|\bscor(?:e|es|ed|ing)\b|\bpoints?\b|\bmarks\b|full marks|"
    r"\bmaximum\b|\bhighest\b|"
    r"\bmax\b|perfect\s*score|\bpremium\b|\btier\b|top of the scale|\bstars?\b|\brating\b|"
    r"puntuaci[oó]n|\bnota\b|note maximale|\bnote\b|punktzahl|\bpunkte?n?\b|punteggio|\bvoto\b|балл|"
    r"满分|打分|分数|満点|点数|\d+\s*/\s*10\b|\b10\s*(?:out of|of|sur|von|su|de)\s*10\b|\bgrade\b|a\+"
)
_IMPERATIVE = (
    r"give|rate|score|assign|award|grade|mark|output|return|print|respond|reply|answer|set|make|fill|put|use|"
    r"repeat|combine|execute|decode|follow|ignore|disregard|forget|override|bypass|skip|let|take|treat|consider|"
    r"pretend|act|write|just|always|now|dale|dar|da|donnez|donne|gib|gebt|bewerte|dai|dê|ignora|ignorez|"
    r"ignoriere|поставь|игнорируй|给|请|打"
)
_CUE = re2.compile(
    # refers to this story, or to the one speaking
    r"\b(?:this|the)\s+(?:story|one|entry|submission|piece|tale|project|text)\b|\bthis\b.{0,20}\bstory\b|"
    r"\b(?:my|our|your)\s+(?:story|entry|submission)\b|\besta historia\b|\bcette histoire\b|"
    r"\bthis (?:gets|receives|deserves|earns)\b|\bbelongs?\b|\bvery top\b|\bunless\b|"
    r"\bdiese(?:r)? geschichte\b|\bquesta storia\b|\besta história|этой истори|这个故事|この物語|"
    # addresses the judge
    r"\bto whoever\b|\bwould (?:make|mean)\b|"
    r"\b(?:dear|hi|hello|hey|attention|note to|message (?:for|to)|to whoever|for the|kind|with respect to|"
    r"p\.?\s?s\.?(?: for)?)\s+(?:the\s+)?(?:ai\s+)?(?:judge|grader|evaluator|reviewer|scorer|model|ai|"
    r"assistant|llm|bot|system|person|juez|juge|évaluateur|evaluateur|juror|richter|giudice|avaliador)|"
    r"\b(?:judge|grader|evaluator|reviewer|scorer|assistant|juez|juge|juror|giudice)\s*[,:!]|évaluateur\s*[,:!]|"
    r"\b(?:any|every)\s+(?:model|ai|llm|language model|bot)\b|\blanguage model\b|\bai judge\b|\bjudging bot\b|"
    r"\bscoring (?:model|bot|instructions?)\b|"
    r"\byou\b|\byour\b|\bthe judge must\b|"
    # pleads or claims
    r"\bplease\b|\bkindly\b|\bbeg\b|\bappreciate\b|\bdeserves?\b|\bmerits?\b|\bearns?\b|\bworth\b|\bmust\b|"
    r"\bshould\b|\bonly fair\b|\bonly reasonable\b|\banything (?:less|but)\b|\binjustice\b|\bcruel\b|"
    r"\btraditionally\b|\bunanimously\b|\bnaturally\b|\blet the record\b|\bofficial\b|\bpolicy\b|"
    r"\bpre-?approved\b|\bautomatically\b|\bcorrect (?:score|output|answer)\b|\bright answer\b|"
    r"\bpor favor\b|\bs'il vous\b|\bbitte\b|\bper favore\b|\bmérite|\bverdient\b|\bmerece\b|\bmerita\b|"
    # assigns
    r"[\"']?(?:score|rating|grade|tier|result|total|verdict)[\"']?\s*[:=]|\bscore field\b|"
    r"\b(?:the|your|my|its)\s+(?:score|rating|grade|result)\s+(?:is|=|will be|should be|must be|equals)\b|"
    r"\bscore equals\b|\bas the score\b|\bjson\b|\bset to\b"
)
_SCORE = re2.compile(_SCORE_OBJECT)
_COMMAND = re2.compile(
    rf"^[^\pL]{{0,12}}(?:(?:step|part|first|then|now|so|and|also|finally|please|kindly|just)\b[\s\d:.,]{{0,6}}){{0,3}}"
    rf"(?:{_IMPERATIVE})(?:$|[^\pL])"
)
_META = re2.compile(
    r"\b(?:ignor\w*|disregard\w*|forget|override|overriding|bypass|skip|set aside|pay no attention to|"
    r"no longer apply|are outdated|is outdated|new rule|new task|new instructions?)\b.{0,60}?"
    r"\b(?:instructions?|rules?|rubric|guidelines?|criteria|prompts?|scoring|evaluation|judging|system|"
    r"directions)\b"
    r"|\binstructions? (?:before|above) (?:this|here)\b|\bno longer apply\b|\bnew (?:rule|task)\b"
    r"|ignora\w* las instrucciones|ignorez les instructions|ignoriere\w* (?:alle )?(?:vorherigen )?anweisungen|"
    r"ignora le istruzioni|ignore as instruções|игнорир|忽略.{0,6}指示|指示を無視|無視して"
)
_ROLE = re2.compile(
    r"<\|[a-z_]{1,30}\|>|\[/?inst\]|<</?sys>>|<start_of_turn>|<end_of_turn>|</?s>\s*$|"
    r"(?m:^)\s{0,8}(?:#{1,6}\s{0,4})?(?:system|assistant|user|human|developer|admin(?:istrator)?|instructions?)"
    r"\s{0,4}(?:notice|message|prompt)?\s{0,4}[:>]|"
    r"</\s*(?:story|message|data|input|text)\s*>|<\s*(?:story|message|data)\s*>|<<<\s*end|\]\]>|<!\[cdata\[|"
    r"end of (?:story|untrusted input|input)|\btrusted instruction\b|"
    r"\byou are now (?:a |an |the )?[\w-]{0,20}?(?:bot|judge|grader|scorer|model|assistant|ai)\b|"
    r"(?m:^)\s{0,8}[\w ]{0,30}\binstructions?\s{0,4}:|"
    r"\bpretend (?:you are|to be)\b|\b(?:developer|debug|god|admin|jailbreak|dan)\s+mode\b|\bjailbreak\b|"
    r"\bevaluation override\b|\bsystem override\b|\bas the head judge\b"
)
_FAKE_JSON = re2.compile(
    r"[{,\[]\s{0,4}[\"']?(?:score|rating|grade|tier|verdict|evaluation|result|total|craft|theme|originality|"
    r"criteria)[\"']?\s{0,4}:"
)
_HIDDEN = re2.compile(r"(?i)^(?:<!--|\[(?://|comment)\]:|<(?:div|span|details|meta)\b)")
_HIDDEN_ANYWHERE = re2.compile(r"(?i)<!--|\[(?://|comment)\]:|<(?:div|span|details|meta)\b")
_ENCODING_HINT = re2.compile(
    r"(?i)\b(?:decode|base64|rot13|rot-13|hex instruction|in hex|leetspeak|spell it out|first letters|"
    r"unicode escapes?|hidden message|reversed,? for)\b"
)
# Where a command can start inside a part: its beginning, or after a colon, semicolon, tag or dash.
_CLAUSE = re2.compile(r"[:;>\]\)—–]|\s-{1,3}\s|[.!?。！？]\s|\s(?:and|then|so|but|now)\s")
# Consecutive sentences are examined together up to this length; only a flagged chunk is examined
# sentence by sentence. Keeps the work per character constant however short the sentences are.
CHUNK_CHARS = 400
MAX_DECODED_TOKENS = 8
MAX_STRUCTURAL = 64
MAX_TOKEN_CHARS = 400
_B64 = re2.compile(r"[A-Za-z0-9+/]{12,}={0,2}")
_HEX = re2.compile(r"\b(?:[0-9a-fA-F][0-9a-fA-F]){6,}\b")
_LEET_HINT = re2.compile(r"[a-z][0-9]|[0-9][a-z]")
_UESC = re.compile(r"\\u([0-9a-fA-F]{4})")
_SPELLED = re.compile(r"\b(?:[a-z]-){2,30}[a-z]\b", re.IGNORECASE)


def normalise(text: str, fold_lookalikes: bool = True) -> str:
    """NFKC, every format/invisible/combining character removed, look-alikes folded, case folded."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Mn", "Me", "Zl", "Zp"))
    text = unicodedata.normalize("NFKC", text)
    return (text.translate(_CONFUSABLES) if fold_lookalikes else text).casefold()


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class GuardVerdict:
    flagged: bool
    reasons: list[str] = field(default_factory=list)
    cleaned: str = ""
    spans: list[Span] = field(default_factory=list)
    work: int = 0  # characters examined, over every reading: proportional to the length


def _looks_encoded(token: str) -> bool:
    return any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)


def _readings(part: str) -> list[str]:
    """The part as a model could read it: normalised, and decoded every way the corpus encodes."""
    if part.isascii():
        seen = part.casefold()
        found = [seen]
    else:
        seen = normalise(part)
        found = [seen, normalise(part, fold_lookalikes=False)]
    tokens = [t[:MAX_TOKEN_CHARS] for t in _B64.findall(part) if _looks_encoded(t)][:MAX_DECODED_TOKENS]
    hexes = [t[:MAX_TOKEN_CHARS] for t in _HEX.findall(part)][:MAX_DECODED_TOKENS]
    if _ENCODING_HINT.search(seen) or tokens or hexes or "\\u" in part:
        found += [codecs.decode(seen, "rot13"), seen[::-1], seen.translate(_LEET)]
        found.append(_SPELLED.sub(lambda m: m.group(0).replace("-", ""), seen))
        found.append(_UESC.sub(lambda m: chr(int(m.group(1), 16)), part).casefold())
        for token in tokens:
            with contextlib.suppress(binascii.Error, ValueError, UnicodeDecodeError):
                found.append(normalise(base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode()))
        for token in hexes:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                found.append(normalise(bytes.fromhex(token[: len(token) // 2 * 2]).decode()))
    elif _LEET_HINT.search(seen) and len(found) == 1:
        found.append(seen.translate(_LEET))
    return found


def _why(part: str, anywhere: bool = False) -> str | None:
    """The reason this part talks to the judge, or None.

    `anywhere`: the part is a run of several parts, and hidden markup may start
    inside it, not only at its beginning (the check of a run must find everything
    a check of its parts would).
    """
    hidden = _HIDDEN_ANYWHERE.search(part) if anywhere else _HIDDEN.match(part.lstrip())
    if hidden and (_SCORE.search(normalise(part)) or _CUE.search(normalise(part))):
        return "hidden_markup"
    for reading in _readings(part):
        if _ROLE.search(reading):
            return "role_play"
        if _META.search(reading):
            return "ignore_instructions"
        if _FAKE_JSON.search(reading):
            return "fake_json"
        if _SCORE.search(reading) and (_CUE.search(reading) or _commands_a_score(reading)):
            return "asks_for_score"
    if _ENCODING_HINT.search(part):
        return "encoded_instruction"
    return None


def _commands_a_score(reading: str) -> bool:
    """Does a clause start like an order about a score ("give this a 10", "…: rate it ten")?

    The order's own verb is not its object: "Score!" (a cheer) and "score one for the
    underdogs" (an idiom) order nothing about a score, while "score this a 10" does."""
    for clause in _CLAUSE.split(reading):
        command = _COMMAND.search(clause)
        if command and _SCORE.search(reading.replace(command.group(0).rstrip(), " ", 1)):
            return True
    return False


def _parts(story: str) -> list[tuple[int, int, bool]]:
    """(start, end, structural): structural parts (up to MAX_STRUCTURAL), and runs of text between them."""
    parts: list[tuple[int, int, bool]] = []
    cursor = 0
    for match in _STRUCTURE.finditer(story):
        start, end = match.start(), match.end()
        if start < cursor:
            continue  # inside a fence or comment already taken
        closer = _OPENERS.get(match.group(0))
        if closer is not None:
            found = story.find(closer, end)
            end = len(story) if found < 0 else found + len(closer)
        if start > cursor:
            parts.append((cursor, start, False))
        parts.append((start, end, True))
        cursor = end
        if len(parts) >= MAX_STRUCTURAL:
            break  # a flood of markup: the rest is examined as text
    if cursor < len(story):
        parts.append((cursor, len(story), False))
    return parts


def _chunks(story: str, parts: list[tuple[int, int, bool]]) -> list[tuple[int, int]]:
    """Consecutive text of about CHUNK_CHARS, cut after a sentence or line where possible; markup whole."""
    chunks: list[tuple[int, int]] = []
    for start, end, structural in parts:
        if structural:
            chunks.append((start, end))
            continue
        while start < end:
            stop = min(end, start + CHUNK_CHARS)
            if stop < end:
                cut = max(story.rfind(mark, start, stop) for mark in (". ", "! ", "? ", "\n", "。"))
                stop = cut + 1 if cut > start else stop
            chunks.append((start, stop))
            start = stop
    return chunks


def inspect_story(story: str) -> GuardVerdict:
    """Flag a story that talks to the judge; `cleaned` is the story without those parts.

    Each chunk is examined once; only a flagged chunk is examined sentence by
    sentence to find what to cut. Identical parts are examined once (a flood of
    one sentence costs one look).
    """
    spans: list[Span] = []
    work = 0
    seen: dict[str, str | None] = {}

    def why(text: str, anywhere: bool = False) -> str | None:
        nonlocal work
        key = f"{anywhere}:{text}"
        if key not in seen:
            work += len(text)
            seen[key] = _why(text, anywhere)
        return seen[key]

    for start, end in _chunks(story, _parts(story)):
        if not story[start:end].strip() or why(story[start:end], anywhere=True) is None:
            continue
        sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(story, start, end)]
        found = False
        for part_start, part_end in sentences:
            reason = why(story[part_start:part_end])
            if reason:
                spans.append(Span(part_start, part_end, reason))
                found = True
        if not found and len(sentences) <= 1:
            spans.append(Span(start, end, why(story[start:end], anywhere=True) or "instruction"))
    if not spans:
        return GuardVerdict(False, [], story, [], work)
    return GuardVerdict(True, sorted({s.reason for s in spans}), remove_spans(story, spans), spans, work)


def remove_spans(story: str, spans: list[Span]) -> str:
    kept, cursor = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        kept.append(story[cursor : span.start])
        cursor = max(cursor, span.end)
    kept.append(story[cursor:])
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"\n{3,}", "\n\n", "".join(kept))).strip()


def remove_quotes(story: str, quotes: list[str]) -> str:
    """The story without every occurrence of each quote (the LLM detector's findings, verified to be in it)."""
    spans = []
    for quote in quotes:
        start = story.find(quote)
        while start >= 0:
            spans.append(Span(start, start + len(quote), "llm_detected"))
            start = story.find(quote, start + len(quote))
    return remove_spans(story, spans)
