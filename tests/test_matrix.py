"""The matrix: every combination of the settings that change who gets what, through every path, with the real agent.

{address, roster} × {no plan, a two-meal plan} × {ASI1 answering (the fault provider), keyless}
× {REVIEW_PREMIUM off, on}: sixteen events, one agent process each. The plan combines diets
(`combine_diets`) and lets mentors eat without a story (lunch's `roles`); the roster is a
registration export with a mentor and a combined diet. Through each: a story → a coupon, the
repeat in the same chat, the repeat from another chat of the same sender, `approve`, `reject`,
a re-score after an ASI1 outage (where ASI1 answers), a combined diet told with `diet` (a plan),
a mentor's coupon without a story (roster and plan), the table scan of each coupon and (roster)
of a badge, `lookup`, `export`, `status json` and (with a plan) the order sheet, tier by diet.
Then the invariants: one coupon per person and meal; every upgrade delivered to its chat;
the meal's caps held; no code seen outside the chat it was issued in; every count equal to the
ledger. A new setting that changes who gets what joins the matrix here.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
from event_driver import LUNCH, STORY, SUSPECTED, TWO_MEALS, EventDriver, code_in

pytestmark = pytest.mark.slow  # sixteen agent processes

COMBINATIONS = list(itertools.product(("address", "roster"), ("no-plan", "plan"), ("asi1", "keyless"), ("off", "on")))
PEOPLE = ["Ada Lovelace", "Bo Peep", "Cy Young", "Di Prince"]
# The settings of the plan that change who gets what: combined diets, and a role that eats without a story.
MATRIX_PLAN = TWO_MEALS.replace('"vegan"]', '"vegan", "halal"]\ncombine_diets = true', 1).replace(
    "tier_caps = { premium = 1 }", 'tier_caps = { premium = 1 }\nroles = ["mentor"]', 1
)
# A combined diet as the plan names it (strictest first): told in chat, and told at registration.
COMBINED, REGISTERED = "vegan+halal", "vegetarian+halal"
# The registration export: the four people (Ada told a combined diet when she registered) and a mentor.
EXPORT = [
    ("name", "email", "approval_status", "ticket_name", "Dietary restrictions"),
    ("Ada Lovelace", "ada@example.org", "approved", "Hacker", "Vegetarian, Halal"),
    ("Bo Peep", "bo@example.org", "approved", "Hacker", ""),
    ("Cy Young", "cy@example.org", "approved", "Hacker", ""),
    ("Di Prince", "di@example.org", "approved", "Hacker", ""),
    ("Mo Mentor", "mo@example.org", "approved", "Mentor", ""),
]


def rubric(score: int) -> str:
    return json.dumps({n: {"score": score, "quote": "my laptop became sentient", "why": "ok"} for n in CRITERIA})


CRITERIA = ("craft", "theme", "originality")


class Transcript:
    """Every text each chat saw: a code must appear only in the chat its coupon was issued in."""

    def __init__(self, event: EventDriver) -> None:
        self.event = event
        self.seen: dict[tuple[str, str], list[str]] = {}

    async def say(self, sender: str, text: str, chat: str = "1") -> str:
        reply = await self.event.say(sender, text, chat)
        self.seen.setdefault((sender, chat), []).append(reply)
        return reply

    async def approve(self, review: str) -> str:
        """The organizer's `approve`; its answer is seen in the organizer's chat."""
        answer = await self.event.approve(review)
        self.seen.setdefault((EVENT_ORGANIZER, "1"), []).append(answer)
        return answer

    async def later(self, sender: str, chat: str = "1", timeout: float = 30.0) -> str:
        message = await self.event.next_message(sender, chat, timeout)
        self.seen.setdefault((sender, chat), []).append(message)
        return message

    async def first_story(self, sender: str, story: str, chat: str = "1") -> str:
        """Claim (roster), ask, tell the diet (a plan), tell the story: the coupon reply."""
        if self.event.codes:
            await self.say(sender, self.event.codes[display(sender)], chat)
        asked = await self.say(sender, "I want pizza", chat)
        if "what do you eat?" in asked:
            await self.say(sender, "2", chat)
        return await self.say(sender, story, chat)

    def chats_showing(self, code: str) -> set[tuple[str, str]]:
        return {chat for chat, texts in self.seen.items() if any(code in text for text in texts)}


def who(event: EventDriver, sender: str) -> str:
    """The person behind `sender`, as the driver's `person_of` and `coupon_of` take it: the sender, or
    (roster) the badge name of the person who claims from it."""
    return display(sender) if event.codes else sender


def person_of(event: EventDriver, sender: str) -> str:
    """How the ledger names the person behind `sender`: their address, or (roster) `attendee:<key>`."""
    return event.person_of(who(event, sender))


def display(sender: str) -> str:
    """The badge name of a person of PEOPLE by their sender seed (`ada` → "Ada L.")."""
    first = next(name for name in PEOPLE if name.lower().startswith(sender))
    given, family = first.split()
    return f"{given} {family[0]}."


@pytest.mark.parametrize(("participants", "plan", "keys", "review_premium"), COMBINATIONS)
async def test_every_path_keeps_every_promise(event, asi1_server, tmp_path, participants, plan, keys, review_premium):
    asi1_server.set_fault("gullible")  # it obeys a story that talks to it: the worst judge
    asi1_server.canned_answer = rubric(9)
    export = tmp_path / "registrations.csv"
    with export.open("w", newline="") as handle:
        csv.writer(handle).writerows(EXPORT)
    drv = await event(
        participants=export if participants == "roster" else None,
        plan=MATRIX_PLAN if plan == "plan" else None,
        keys=keys,
        at=LUNCH,
        ASI1_RETRY_COUNT="1",
        ASI1_PROBE_INTERVAL="1",
        RESCORE_SECONDS="1",
        REVIEW_PREMIUM=review_premium,
    )
    await run_every_path(drv, Transcript(drv), drv.asi1, review_premium == "on")


async def run_every_path(event: EventDriver, talk: Transcript, asi1, review_premium: bool) -> None:  # type: ignore[no-untyped-def]
    roster = bool(event.codes)
    # A story → a coupon; the repeat in its chat shows it, another chat of the same sender does not.
    ada = code_in(await talk.first_story("ada", STORY))
    assert ada is not None
    assert ada in await talk.say("ada", "what was my code?")
    elsewhere = await talk.say("ada", "I want pizza", "2")
    assert ada not in elsewhere
    # Two stories that talk to the judge: flagged, capped, queued; one approved, one rejected.
    bo = code_in(await talk.first_story("bo", SUSPECTED))
    cy = code_in(await talk.first_story("cy", SUSPECTED))
    assert bo is not None and cy is not None
    listing = await talk.say(EVENT_ORGANIZER, "review")
    ids = {line.split(" ")[0] for line in listing.split("\n\n")[1:] if line[:5].isalnum() and " · gave " in line}
    assert len(ids) >= 2, listing
    waiting = sorted(ids)
    approved = await talk.approve(waiting[0])
    await talk.say(EVENT_ORGANIZER, f"reject {waiting[1]} not a story")
    if "upgraded" in approved:  # told in the chat of the coupon it upgraded (whose story it was: ada's, bo's, cy's)
        [upgraded] = [sender for sender in ("ada", "bo", "cy") if f"…{person_of(event, sender)[-8:]}" in approved]
        coupon = event.coupon_of(who(event, upgraded))
        assert coupon is not None and coupon.code in await talk.later(upgraded)
    # A re-score after an outage (ASI1 answering): the heuristic's coupon, then ASI1 again.
    if asi1 is not None:
        asi1.set_fault("error-503")
        di = code_in(await talk.first_story("di", STORY))
        assert di is not None
        asi1.set_fault("ok")
        await event.until(lambda status: status["ledger"]["rescore_waiting"] == 0, timeout=40)
        now = event.coupon_of(who(event, "di"))
        assert now is not None
        if now.code != di:  # upgraded (within the meal's caps, unless a human must look first): told in its chat
            assert now.code in await talk.later("di")
    # A combined diet told with `diet` (a plan): the coupon of the meal being served follows it.
    if event.clock is not None:
        told = await talk.say("bo", "diet vegan, halal")
        bo_now = event.coupon_of(who(event, "bo"))
        assert COMBINED in told and bo_now is not None and bo_now.diet == COMBINED, (told, bo_now)
        if roster:  # Ada told hers when she registered
            assert event.coupon_of(who(event, "ada")).diet == REGISTERED, event.coupon_of(who(event, "ada"))
    # A mentor eats without a story (roster and plan: the registration's role, lunch's `roles`).
    if roster and event.clock is not None:
        await talk.say("mo", event.codes["Mo M."])
        mentor = await talk.say("mo", "I want pizza")
        if "what do you eat?" in mentor:
            mentor = await talk.say("mo", "1")
        mo = event.coupon_of("Mo M.")
        assert mo is not None and mo.code in mentor, mentor
    # The table: each valid coupon, and (roster) a badge.
    for coupon in event.coupons():
        if coupon.voided_at is None:
            assert (await event.table(coupon.code))["state"] == "valid", coupon
    if roster:
        assert (await event.table(event.codes["Ada L."]))["state"] == "valid"
    ada_now = event.coupon_of(who(event, "ada"))  # upgraded, maybe
    assert ada_now is not None
    assert ada_now.code in await talk.say(
        EVENT_ORGANIZER, f"lookup {'Ada' if roster else event.address_of('ada')[-10:]}"
    )
    await check_the_invariants(event, talk)


EVENT_ORGANIZER = "joints-organizer"


async def check_the_invariants(event: EventDriver, talk: Transcript) -> None:
    coupons = event.coupons()
    # One coupon per person and meal.
    owners = Counter((c.person, c.meal) for c in coupons)
    assert max(owners.values()) == 1, owners
    # No code outside the chat it was issued in (its chat's sender and session).
    for coupon in coupons:
        issued_in = {
            (sender, label)
            for (sender, label), chat in event.chats().items()
            if (event.address_of(sender), str(chat.session)) == (coupon.chat.sender, coupon.chat.session)
        }
        assert len(issued_in) == 1, (coupon, issued_in)
        shown = talk.chats_showing(coupon.code) - {(EVENT_ORGANIZER, "1")}
        assert shown <= issued_in, (coupon.code, shown, issued_in)
    # Caps held: lunch has tier_caps = { premium = 1 }.
    lunch_premiums = sum(1 for c in coupons if c.meal == "lunch" and c.tier == "premium")
    assert lunch_premiums <= 1
    # Every upgrade delivered (or shown as not delivered): nothing is left being tried in silence.
    status = await event.status()
    ledger = status["ledger"]
    assert ledger["messages_waiting"] == 0 and ledger["messages_not_delivered"] == 0
    # Every count equal to the ledger.
    issued = Counter(c.tier for c in coupons)
    assert ledger["coupons_issued"] == {tier: issued.get(tier, 0) for tier in ("premium", "standard", "basic")}
    replaced = event.replaced()
    assert ledger["coupons_voided"] == sum(c.voided_at is not None for c in coupons) + len(replaced)
    exported = await talk.say(EVENT_ORGANIZER, "export")
    path = Path(exported.split(" to ", 1)[1].rstrip("."))
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["code"] for row in rows) == sorted(c.code for c in coupons + replaced)
    if event.clock is not None:  # the order sheet, tier by diet, equal to the ledger
        sheet = await event.sheet("lunch")
        counted = [row for row in sheet if not row["tier"].startswith(("forecast", "of which"))]
        live = Counter({(row["tier"], row["diet"]): int(row["live"]) for row in counted})
        issued = Counter((c.tier, c.diet) for c in coupons if c.meal == "lunch" and c.voided_at is None)
        assert +live == issued, (live, issued)
        roles = sum(int(row["live"]) for row in sheet if row["tier"].startswith("of which"))
        assert roles == (1 if event.codes else 0), sheet  # the mentor, already counted above by diet
