"""The event plan: what `EVENT_PLAN` names, read once and checked as a whole.

```toml
[event]
name = "Example Hacks 2027"
timezone = "America/Los_Angeles"          # IANA name; the times below are local to it
diets = ["regular", "vegetarian", "vegan", "gluten-free", "halal"]
combine_diets = true                      # optional: "halal+gluten-free" is a diet too (any two or more listed)
languages = ["en", "es", "hi"]            # optional: the languages participants are answered in (the first:
                                          # the default); EVENT_LANGUAGES when there is no plan

[[meals]]
id = "sat-dinner"
name = "Saturday dinner"
starts = 2027-02-13T18:00:00             # TOML local date-times
ends = 2027-02-13T20:00:00
order_cutoff = 2027-02-13T16:00:00       # optional
diets = ["regular", "vegetarian", "vegan"]   # optional: the event's list by default
tier_caps = { premium = 50, standard = 200 } # optional
pool = "pools/sat-dinner"                    # optional: that meal's vendor codes (<tier>.csv)
groups = [ { name = "A", offset_minutes = 0 }, { name = "B", offset_minutes = 20 } ]  # optional
roles = ["mentor", "volunteer"]              # optional: these roles eat without a story
```

The plan is strict: a key it does not know is an error with the nearest known key ("did you
mean order_cutoff?"), and so is a cut-off after the meal starts (the vendor bakes before the
meal). A meal without a cut-off is only a warning (`plan_warnings`): the vendor then has no
final number.

`check_plan` returns every problem, one line each (`agent.py plan check` prints them and
exits 2); `load_plan` raises `PlanError` with them. Without a file the event has one
implicit meal that is always open (`Plan.implicit()`): exactly the behaviour before plans.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pizza_agent.domain.languages import LANGUAGE_CODE
from pizza_agent.domain.tiers import TIERS

IMPLICIT_MEAL = ""  # the meal id of an event without a plan (coupons before plans carry it too)
# Who may be on a registration besides participants; a meal's `roles` eat without a story.
ROLES = ("attendee", "mentor", "volunteer", "sponsor", "staff", "judge")
TOP_KEYS = ("event", "meals")
EVENT_KEYS = ("name", "timezone", "diets", "combine_diets", "languages")
MEAL_KEYS = ("id", "name", "starts", "ends", "order_cutoff", "diets", "tier_caps", "pool", "groups", "roles")
GROUP_KEYS = ("name", "offset_minutes")


class PlanError(ValueError):
    """The plan's problems, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Group:
    name: str
    offset_minutes: int


@dataclass(frozen=True)
class Meal:
    id: str
    name: str
    starts: datetime | None  # aware, in the plan's zone; None: the implicit meal, always open
    ends: datetime | None
    diets: tuple[str, ...] = ()
    order_cutoff: datetime | None = None
    tier_caps: dict[str, int] = field(default_factory=dict)
    pool: Path | None = None
    groups: tuple[Group, ...] = ()
    roles: tuple[str, ...] = ()  # roles that eat without a story (mentors, volunteers, …)

    def is_open(self, now: datetime) -> bool:
        return self.starts is None or (self.starts <= now < self.ends)  # type: ignore[operator]

    def group_time(self, group: Group) -> datetime | None:
        return None if self.starts is None else self.starts + timedelta(minutes=group.offset_minutes)


@dataclass(frozen=True)
class Plan:
    name: str
    zone: ZoneInfo
    diets: tuple[str, ...]
    meals: tuple[Meal, ...]
    source: Path | None = None
    combine_diets: bool = False
    languages: tuple[str, ...] = ()  # empty: the EVENT_LANGUAGES setting decides

    @classmethod
    def implicit(cls, name: str = "Pizza Agent", zone: str = "UTC") -> Plan:
        return cls(name, ZoneInfo(zone), (), (Meal(IMPLICIT_MEAL, "pizza", None, None),))

    @property
    def planned(self) -> bool:
        return self.source is not None

    def meal(self, meal_id: str) -> Meal | None:
        return next((m for m in self.meals if m.id == meal_id), None)

    def current(self, now: datetime) -> Meal | None:
        return next((m for m in self.meals if m.is_open(now)), None)

    def next_meal(self, now: datetime) -> Meal | None:
        upcoming = [m for m in self.meals if m.starts is not None and m.starts > now]
        return min(upcoming, key=lambda m: m.starts) if upcoming else None  # type: ignore[arg-type, return-value]

    def past(self, meal: Meal, now: datetime) -> bool:
        return meal.ends is not None and meal.ends <= now

    def diets_for(self, meal: Meal | None) -> tuple[str, ...]:
        return (meal.diets if meal and meal.diets else self.diets) or ()

    def offers(self, meal: Meal | None, diet: str) -> bool:
        """Whether `meal` serves `diet`: listed, or (combine_diets) every part of a combined diet listed."""
        offered = self.diets_for(meal)
        if not offered or diet in offered:
            return True
        parts = diet.split("+")
        return self.combine_diets and len(parts) > 1 and all(part in offered for part in parts)


def plan_warnings(plan: Plan) -> list[str]:
    """What is allowed but probably a mistake: a meal with no cut-off leaves the vendor no final number."""
    return [
        f"meal {meal.id!r}: no order_cutoff: the order sheet is never final (the vendor bakes from a moving number)"
        for meal in plan.meals
        if plan.planned and meal.order_cutoff is None
    ]


def load_plan(path: Path) -> Plan:
    plan, problems = _read(path)
    if problems or plan is None:
        raise PlanError(problems or [f"{path}: not a plan"])
    return plan


def check_plan(path: Path) -> list[str]:
    return _read(path)[1]


def _read(path: Path) -> tuple[Plan | None, list[str]]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, [f"{path}: cannot read it ({exc.strerror})"]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [f"{path}: not valid TOML ({exc})"]
    problems: list[str] = []
    _unknown_keys(doc, TOP_KEYS, "the plan", problems)
    event = doc.get("event")
    if not isinstance(event, dict):
        return None, [*problems, f"{path}: no [event] table (name, timezone, diets)"]
    _unknown_keys(event, EVENT_KEYS, "[event]", problems)
    combine = event.get("combine_diets", False)
    if not isinstance(combine, bool):
        problems.append("[event] combine_diets: true or false")
    zone = _zone(event.get("timezone"), problems)
    diets = _names(event.get("diets", []), "[event] diets", problems)
    raw_meals = doc.get("meals")
    if not isinstance(raw_meals, list) or not raw_meals:
        problems.append("no [[meals]]: a plan needs at least one meal")
        raw_meals = []
    meals = [_meal(i, raw, zone, diets, path.parent, problems) for i, raw in enumerate(raw_meals, start=1)]
    meals = [m for m in meals if m is not None]
    _overlaps(meals, problems)
    ids = [m.id for m in meals]
    for meal_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"meal {meal_id!r}: the id is used by more than one meal")
    languages = _languages(event.get("languages", []), problems)
    if problems or zone is None:
        return None, problems
    ordered = tuple(sorted(meals, key=lambda m: m.starts))  # type: ignore[arg-type, return-value]
    name = str(event.get("name") or "the event")
    return Plan(name, zone, tuple(diets), ordered, path, combine is True, tuple(languages)), []


def _languages(value: object, problems: list[str]) -> list[str]:
    """[event] languages: codes such as "en", "es", "hi-latn", each once (whether each has a translation is
    `check`'s to say: an organizer may add the file after writing the plan)."""
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        problems.append('[event] languages: a list of language codes, for example ["en", "es"]')
        return []
    codes = [code.strip().lower() for code in value]
    for code in codes:
        if not LANGUAGE_CODE.match(code):
            problems.append(f'[event] languages: {code!r} is not a language code (such as "es" or "hi-latn")')
    if len(set(codes)) != len(codes):
        problems.append("[event] languages: a language is listed twice")
    return codes


def _unknown_keys(table: dict, known: tuple[str, ...], where: str, problems: list[str]) -> None:
    """A misspelled key is silently ignored by TOML readers: here it is an error with the nearest known key."""
    for key in table:
        if key in known:
            continue
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]}?" if near else f"known keys: {', '.join(known)}"
        problems.append(f"{where}: unknown key {key!r} ({hint})")


def _zone(name: object, problems: list[str]) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        problems.append("[event] timezone: missing (an IANA name such as America/Los_Angeles)")
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"[event] timezone: unknown time zone {name!r} (an IANA name such as Europe/Berlin)")
        return None


def _names(value: object, where: str, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f'{where}: a list of names, such as ["regular", "vegan"]')
        return []
    return [v.strip() for v in value]


def _when(meal: str, key: str, value: object, zone: ZoneInfo | None, problems: list[str]) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        problems.append(f"meal {meal!r}: {key} must be a local date-time such as 2027-02-13T18:00:00")
        return None
    if value.tzinfo is not None:
        problems.append(f"meal {meal!r}: {key} carries an offset; write it local to [event] timezone")
        return None
    return value.replace(tzinfo=zone or ZoneInfo("UTC"))  # an unknown zone is reported; the rest is still checked


def _meal(
    index: int, raw: object, zone: ZoneInfo | None, diets: list[str], base: Path, problems: list[str]
) -> Meal | None:
    if not isinstance(raw, dict):
        problems.append(f"meal #{index}: not a table")
        return None
    meal_id = str(raw.get("id") or "").strip()
    if not meal_id or not meal_id.replace("-", "").replace("_", "").isalnum():
        problems.append(f"meal #{index}: id must be a short name of letters, digits and dashes (e.g. sat-dinner)")
        return None
    before = len(problems)
    _unknown_keys(raw, MEAL_KEYS, f"meal {meal_id!r}", problems)
    starts = _when(meal_id, "starts", raw.get("starts"), zone, problems)
    ends = _when(meal_id, "ends", raw.get("ends"), zone, problems)
    cutoff = _when(meal_id, "order_cutoff", raw.get("order_cutoff"), zone, problems)
    if raw.get("starts") is None or raw.get("ends") is None:
        problems.append(f"meal {meal_id!r}: starts and ends are both needed")
    if starts and ends and ends <= starts:
        problems.append(f"meal {meal_id!r}: ends ({ends:%a %H:%M}) is not after starts ({starts:%a %H:%M})")
    if cutoff and starts and cutoff > starts:
        problems.append(
            f"meal {meal_id!r}: order_cutoff ({cutoff:%a %H:%M}) is after the meal starts ({starts:%a %H:%M}): "
            "the vendor bakes before the meal, so the cut-off comes first"
        )
    offered = _names(raw["diets"], f"meal {meal_id!r} diets", problems) if "diets" in raw else []
    for diet in offered:
        if diet not in diets and not all(part in diets for part in diet.split("+")):
            problems.append(
                f"meal {meal_id!r}: diet {diet!r} is in no list ([event] diets has {', '.join(diets) or 'none'})"
            )
    caps = _caps(meal_id, raw.get("tier_caps", {}), problems)
    pool = None
    if raw.get("pool") is not None:
        pool = (base / str(raw["pool"])).resolve()
        if not pool.is_dir():
            problems.append(f"meal {meal_id!r}: pool {raw['pool']!r}: no such directory ({pool})")
    groups = _groups(meal_id, raw.get("groups", []), problems)
    roles = _names(raw["roles"], f"meal {meal_id!r} roles", problems) if "roles" in raw else []
    for role in roles:
        if role not in ROLES or role == "attendee":
            problems.append(
                f"meal {meal_id!r}: roles: {role!r} is not a role that eats without a story "
                f"({', '.join(r for r in ROLES if r != 'attendee')})"
            )
    if len(problems) > before or starts is None or ends is None:
        return None
    name = str(raw.get("name") or meal_id)
    return Meal(meal_id, name, starts, ends, tuple(offered), cutoff, caps, pool, groups, tuple(roles))


def _caps(meal: str, raw: object, problems: list[str]) -> dict[str, int]:
    if not isinstance(raw, dict):
        problems.append(f"meal {meal!r}: tier_caps must be a table such as {{ premium = 50 }}")
        return {}
    caps = {}
    for tier, cap in raw.items():
        if tier not in TIERS:
            problems.append(f"meal {meal!r}: tier_caps: unknown tier {tier!r} (premium, standard, basic)")
        elif not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
            problems.append(f"meal {meal!r}: tier_caps.{tier} must be a whole number of 0 or more (got {cap!r})")
        else:
            caps[tier] = cap
    return caps


def _groups(meal: str, raw: object, problems: list[str]) -> tuple[Group, ...]:
    if not isinstance(raw, list):
        problems.append(f'meal {meal!r}: groups must be a list such as [ {{ name = "A", offset_minutes = 0 }} ]')
        return ()
    groups = []
    for item in raw:
        if isinstance(item, dict):
            _unknown_keys(item, GROUP_KEYS, f"meal {meal!r} groups", problems)
        name = item.get("name") if isinstance(item, dict) else None
        offset = item.get("offset_minutes", 0) if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip() or not isinstance(offset, int) or offset < 0:
            problems.append(f"meal {meal!r}: each group needs a name and offset_minutes of 0 or more")
            continue
        groups.append(Group(name.strip(), offset))
    return tuple(groups)


def _overlaps(meals: list[Meal], problems: list[str]) -> None:
    ordered = sorted((m for m in meals if m.starts and m.ends), key=lambda m: m.starts)  # type: ignore[arg-type, return-value]
    for first, second in pairwise(ordered):
        if second.starts < first.ends:  # type: ignore[operator]
            problems.append(
                f"meals {first.id!r} and {second.id!r} overlap ({first.ends:%a %H:%M} > {second.starts:%a %H:%M}): "
                "one coupon per meal needs one meal at a time"
            )
