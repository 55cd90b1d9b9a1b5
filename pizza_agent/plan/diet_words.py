"""Free text about food mapped onto the plan's diets: what a registration form's answer means.

Registration forms ask "Dietary restrictions" as free text or several choices ("Vegetarian",
"Halal, Gluten-free", "No restrictions", "veggie", "coeliac"). The event can only act on the
diets its plan lists, so each answer is mapped onto them: case and plurals folded, common
wordings recognised (veggie → vegetarian, "no gluten"/coeliac → gluten-free, "none" →
regular), several diets joined into a combined one (`halal+gluten-free`) when the plan allows
combinations, else the strictest kept and the rest named in a note. What cannot be mapped is
said, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Wordings people use, folded (lower case, no accents, single spaces) -> the usual diet name.
SYNONYMS: dict[str, str] = {
    "veggie": "vegetarian",
    "veg": "vegetarian",
    "vegetarian": "vegetarian",
    "vegetarianism": "vegetarian",
    "lacto ovo": "vegetarian",
    "ovo lacto": "vegetarian",
    "no meat": "vegetarian",
    "meatless": "vegetarian",
    "vegan": "vegan",
    "plant based": "vegan",
    "plantbased": "vegan",
    "strict vegetarian": "vegan",
    "gluten free": "gluten-free",
    "glutenfree": "gluten-free",
    "gf": "gluten-free",
    "no gluten": "gluten-free",
    "coeliac": "gluten-free",
    "celiac": "gluten-free",
    "coeliac disease": "gluten-free",
    "celiac disease": "gluten-free",
    "gluten intolerant": "gluten-free",
    "gluten intolerance": "gluten-free",
    "halal": "halal",
    "kosher": "kosher",
    "dairy free": "dairy-free",
    "no dairy": "dairy-free",
    "lactose free": "lactose-free",
    "lactose intolerant": "lactose-free",
    "lactose intolerance": "lactose-free",
    "no lactose": "lactose-free",
    "nut free": "nut-free",
    "no nuts": "nut-free",
    "nut allergy": "nut-free",
    "peanut allergy": "nut-free",
    "pescatarian": "pescatarian",
    "pescetarian": "pescatarian",
    # The shipped languages in Latin letters (folded: no accents), as participants answer the diet question
    "vegetariano": "vegetarian",
    "vegetariana": "vegetarian",
    "vegetarien": "vegetarian",
    "vegetarienne": "vegetarian",
    "vegetarisch": "vegetarian",
    "vegano": "vegan",
    "vegana": "vegan",
    "vegane": "vegan",
    "vegetalien": "vegan",
    "vegetalienne": "vegan",
    "sin gluten": "gluten-free",
    "sans gluten": "gluten-free",
    "sem gluten": "gluten-free",
    "glutenfrei": "gluten-free",
    "celiaco": "gluten-free",
    "celiaca": "gluten-free",
    "coeliaque": "gluten-free",
    "zoliakie": "gluten-free",
    "casher": "kosher",
    "kasher": "kosher",
    "koscher": "kosher",
    "sin lactosa": "lactose-free",
    "sans lactose": "lactose-free",
    "sem lactose": "lactose-free",
    "laktosefrei": "lactose-free",
}
# The same in the shipped languages' own scripts (not folded: folding keeps Latin letters only).
NATIVE: dict[str, str] = {
    "शाकाहारी": "vegetarian",
    "वीगन": "vegan",
    "हलाल": "halal",
    "ग्लूटेन मुक्त": "gluten-free",
    "素食": "vegetarian",
    "吃素": "vegetarian",
    "纯素": "vegan",
    "全素": "vegan",
    "清真": "halal",
    "无麸质": "gluten-free",
    "نباتي": "vegetarian",
    "نباتية": "vegetarian",
    "نباتي صرف": "vegan",
    "حلال": "halal",
    "كوشر": "kosher",
    "خالي من الغلوتين": "gluten-free",
}
# Answers that say "no restriction": the plan's regular diet (its first, unless one is called so).
NOTHING = {
    "none",
    "no",
    "n a",
    "na",
    "nil",
    "nothing",
    "no restrictions",
    "no restriction",
    "no dietary restrictions",
    "no dietary requirements",
    "none thanks",
    "regular",
    "normal",
    "omnivore",
    "anything",
    "i eat everything",
    "everything",
    "ninguna",
    "ninguno",
    "nada",
    "rien",
    "aucune",
    "aucun",
    "nenhuma",
    "nenhum",
    "keine",
    "nichts",
}
NO_ANSWER = {"", "-", "--", "n/a", "prefer not to say"}
# Stricter first: with no combinations the strictest diet a person named is the one kept.
STRICTNESS = ("vegan", "vegetarian", "kosher", "halal", "gluten-free", "dairy-free", "lactose-free", "nut-free")
SEPARATORS = re.compile(r"\s*(?:,|;|/|&|\+|\band\b|\bplus\b|\n)\s*")


@dataclass(frozen=True)
class DietMatch:
    diet: str | None  # a diet of the plan (or a combination), None when nothing could be mapped
    note: str = ""  # what the organizer should know: a part left out, a wording not understood


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^a-z0-9+,;/&\n]+", " ", text)
    return re.sub(r" +", " ", text).strip()


def _one(part: str, offered: tuple[str, ...], *, loose: bool = False) -> str | None:
    """One wording -> one offered diet, or None (`loose`: a diet's name among other words counts)."""
    by_fold = {fold(d): d for d in offered}
    native = NATIVE.get(" ".join(part.split()).strip(" .!。！،"))
    if native is not None:
        return by_fold.get(fold(native))
    folded = fold(part)
    candidates = [folded, folded.removesuffix("s"), folded.removesuffix("es")]
    for candidate in candidates:
        if candidate in by_fold:
            return by_fold[candidate]
        usual = SYNONYMS.get(candidate)
        if usual is not None and fold(usual) in by_fold:
            return by_fold[fold(usual)]
    if not folded:
        return None  # no Latin letters at all (حلال, 素食): not understood, never "no restriction"
    if folded in NOTHING:
        return by_fold.get("regular") or by_fold.get("none") or (offered[0] if offered else None)
    within = [d for f, d in by_fold.items() if re.search(rf"\b{re.escape(f)}\b", folded)] if loose else []
    if len(within) == 1 and fold(within[0]) not in NOTHING:
        return within[0]  # "vegetarian (no eggs)", "Jain vegetarian": the diet the kitchen can act on
    return None


def _unmapped(parts: list[str]) -> str:
    """Known wordings the plan does not offer, and wordings not understood at all."""
    known = [SYNONYMS[fold(p)] for p in parts if fold(p) in SYNONYMS]
    strange = [p for p in parts if fold(p) not in SYNONYMS]
    said = []
    if known:
        said.append(f"not offered by the plan: {', '.join(dict.fromkeys(known))}")
    if strange:
        said.append(f"not understood: {', '.join(repr(p) for p in strange)}")
    return "; ".join(said)


def match_diet(text: str, offered: tuple[str, ...], *, combine: bool) -> DietMatch:
    """`text` (a registration's answer) mapped onto `offered` (the plan's diets)."""
    if text.strip().lower() in NO_ANSWER:
        return DietMatch(None)
    whole = _one(text, offered)
    if whole is not None:
        return DietMatch(whole)
    parts = [p for p in SEPARATORS.split(text) if p.strip()]
    found, unknown = [], []
    for part in parts:
        diet = _one(part, offered, loose=True)
        if diet is None:
            unknown.append(part.strip())
        elif diet not in found:
            found.append(diet)
    regular = _one("none", offered)
    if len(found) > 1 and regular in found:
        found.remove(regular)  # "none, halal": the restriction is what the kitchen needs
    note = _unmapped(unknown)
    said = [SYNONYMS[fold(part)] for part in unknown if fold(part) in SYNONYMS]
    if not found and said:
        # A diet people commonly need that the plan does not list (kosher, nut-free): kept as said, so the
        # order sheet counts the person under "not offered at this meal" for the organizer to act on.
        kept = sorted(set(said), key=lambda d: STRICTNESS.index(d) if d in STRICTNESS else len(STRICTNESS))[0]
        return DietMatch(kept, f"{note}: kept as said (the order sheet shows it as not offered)")
    if not found:
        return DietMatch(None, note or _unmapped([text.strip()]))
    if len(found) == 1:
        return DietMatch(found[0], note)
    ordered = sorted(found, key=lambda d: STRICTNESS.index(d) if d in STRICTNESS else len(STRICTNESS))
    listed = next((d for d in offered if set(d.split("+")) == set(ordered)), None)
    if listed is not None or combine:
        return DietMatch(listed or "+".join(ordered), note)
    left = ", ".join(ordered[1:])
    return DietMatch(ordered[0], "; ".join(filter(None, [f"also said {left} (the plan does not combine diets)", note])))
