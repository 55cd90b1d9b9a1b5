"""Meals and diets in the conversation: one coupon per person per meal, the diet asked once, no window, no story."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from pizza_agent.app.composition import assemble_event
from pizza_agent.config.settings import load_settings
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.codes import CODE_PATTERN, CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.service import LLMService
from pizza_agent.plan.clock import EventClock
from pizza_agent.plan.model import load_plan

STORY = "At 3 a.m. my laptop ordered pizza for the whole hackathon, and the demo ran on pepperoni power."
PLAN = """
[event]
name = "Example Hacks 2027"
timezone = "America/Los_Angeles"
diets = ["regular", "vegetarian", "vegan", "gluten-free"]

[[meals]]
id = "sat-dinner"
name = "Saturday dinner"
starts = 2027-02-13T18:00:00
ends = 2027-02-13T20:00:00
order_cutoff = 2027-02-13T16:00:00
groups = [ { name = "A", offset_minutes = 0 }, { name = "B", offset_minutes = 20 } ]

[[meals]]
id = "sun-breakfast"
name = "Sunday breakfast"
starts = 2027-02-14T08:00:00
ends = 2027-02-14T09:30:00
diets = ["regular", "vegan"]
"""


class Event:
    def __init__(self, parts, clock: EventClock) -> None:
        self.parts, self.clock = parts, clock
        self.talk = parts.conversation

    def at(self, when: str) -> None:
        self.clock.restart(datetime.fromisoformat(when), 1.0)

    async def say(self, sender: str, text: str):
        return await self.talk.handle(sender, text, "s")


@pytest.fixture
async def event(tmp_path):
    path = tmp_path / "event.toml"
    path.write_text(PLAN)
    settings = load_settings(
        {"ENV_FILE": "", "SENDER_RATE_LIMIT": "100000", "DATA_DIR": str(tmp_path / "d"), "EVENT_PLAN": str(path)}
    )
    plan = load_plan(path)
    wall = [0.0]
    clock = EventClock(plan.zone, start=datetime(2027, 2, 13, 18, 5), wall=lambda: wall[0])
    llm = LLMService(settings, rng=random.Random(5))
    parts = assemble_event(settings, llm, Ledger(tmp_path / "l.db"), CouponSigner("m" * 32), meals=Meals(plan, clock))
    yield Event(parts, clock)
    await llm.aclose()


async def test_the_diet_is_asked_once_before_the_first_coupon_and_a_waiting_story_is_scored_on_the_answer(event):
    prompt = await event.say("agent1ada", "I want pizza")
    assert prompt.text.startswith("Saturday dinner is being served until 20:00.")
    assert "1 regular · 2 vegetarian · 3 vegan · 4 gluten-free" in prompt.text
    [card] = prompt.cards  # the same choice as a card (drawn by transport/cards.py)
    assert (card.kind, card.purpose) == ("choice", "diet") and "vegan" in card.options
    waiting = await event.say("agent1ada", STORY)  # no answer yet: the story waits for it
    assert waiting.outcome == "diet_question" and event.parts.ledger.coupons.all() == []
    coupon = await event.say("agent1ada", "3")
    assert coupon.outcome == "coupon" and coupon.text.startswith("Noted: vegan.")
    # 18:05: group A's time (18:00) has come, so it is not told to come at a time already past.
    assert "This coupon is for Saturday dinner. Your group A is being served now." in coupon.text
    [issued] = event.parts.ledger.coupons.all()
    assert (issued.meal, issued.diet, issued.pickup_group) == ("sat-dinner", "vegan", "A")
    # Breakfast: a second coupon, the diet not asked again.
    event.at("2027-02-14T08:10:00")
    again = await event.say("agent1ada", STORY)
    assert again.outcome == "coupon" and "This coupon is for Sunday breakfast." in again.text
    assert "what do you eat" not in again.text
    assert [c.meal for c in event.parts.ledger.coupons.all()] == ["sat-dinner", "sun-breakfast"]


async def test_one_coupon_per_person_per_meal_and_groups_go_round(event):
    for name in ("agent1a", "agent1b", "agent1c"):
        await event.say(name, "diet regular")
        assert (await event.say(name, STORY)).outcome == "coupon"
    assert (await event.say("agent1a", STORY)).outcome == "repeat_coupon"
    groups = [c.pickup_group for c in event.parts.ledger.coupons.all()]
    assert groups == ["A", "B", "A"]


async def test_between_meals_no_story_is_scored_and_the_next_meal_is_named(event):
    await event.say("agent1bo", "diet vegetarian")
    await event.say("agent1bo", STORY)
    event.at("2027-02-13T21:00:00")
    reply = await event.say("agent1bo", STORY)
    assert reply.outcome == "meal_closed" and reply.layers == {}
    assert reply.text.startswith("No pizza is being served right now. The next meal is Sunday breakfast, Sunday 08:00")
    assert "(in 11 h)" in reply.text and "Your coupon for Saturday dinner was for a past meal." in reply.text
    event.at("2027-02-14T10:00:00")
    after = await event.say("agent1bo", "I want pizza")
    assert after.text.startswith("That was the last meal of Example Hacks 2027.")
    assert len(event.parts.ledger.coupons.all()) == 1


async def test_diet_command_changes_the_diet_and_the_open_coupon_follows(event):
    await event.say("agent1cy", "diet 2")
    await event.say("agent1cy", STORY)
    changed = await event.say("agent1cy", "diet Gluten Free")
    assert changed.outcome == "diet_set" and changed.text.startswith("Noted: gluten-free.")
    assert event.parts.ledger.coupons.all()[0].diet == "gluten-free"
    unknown = await event.say("agent1cy", "diet carnivore")
    assert unknown.outcome == "diet_unknown" and "regular" in unknown.text


async def test_the_order_counts_are_the_issued_coupons_per_meal_tier_and_diet(event):
    for n, diet in enumerate(["vegan", "vegan", "regular"]):
        await event.say(f"agent1o{n}", f"diet {diet}")
        await event.say(f"agent1o{n}", STORY)
    orders = event.parts.ledger.coupons.orders()["sat-dinner"]
    assert sum(orders[t].get("vegan", 0) for t in orders) == 2
    assert sum(sum(d.values()) for d in orders.values()) == 3
    status = await event.parts.organizer.status_text()
    assert "plan Example Hacks 2027: now Saturday dinner (until 20:00) · next Sunday breakfast at Sun 08:00" in status
    assert "orders for Saturday dinner:" in status
    assert CODE_PATTERN.search(event.parts.ledger.coupons.all()[0].code)


# --- issue 31: what participants see of the plan, and the vendor's final number -----------------------------
async def test_schedule_questions_and_help_are_answered_from_the_plan_without_a_model(event):
    when = await event.say("agent1cy", "when is breakfast?")
    assert when.outcome == "schedule" and not when.layers  # no model was asked
    assert when.text == (
        "The meals of Example Hacks 2027: Saturday dinner Sat 18:00–20:00 (now) · "
        "Sunday breakfast Sun 08:00–09:30 (next)."
    )
    assert (await event.say("agent1cy", "what meals are there?")).outcome == "schedule"
    helped = await event.say("agent1cy", "help")
    assert "One coupon per person for each meal." in helped.text and "Sunday breakfast Sun 08:00" in helped.text
    story = await event.say("agent1cy", "At dinner my robot asked when breakfast was, then it ate the schedule whole.")
    assert story.outcome != "schedule"  # a story that mentions meals is not a question about them


async def test_the_final_forecast_goes_to_the_organizers_once_at_the_cut_off(event):
    sent: list[tuple[str, str]] = []
    event.parts.alerts.send = lambda kind, text: sent.append((kind, text))  # the alert channel, recorded
    event.parts.cutoffs.alerts = event.parts.alerts
    await event.say("agent1dee", "diet vegan")
    event.at("2027-02-13T15:59:00")
    assert await event.parts.cutoffs.check() == [] and sent == []  # before the cut-off: nothing final yet
    event.at("2027-02-13T16:00:00")
    assert await event.parts.cutoffs.check() == ["sat-dinner"]
    assert await event.parts.cutoffs.check() == []  # once
    [(kind, text)] = sent
    assert kind == "order_cutoff" and text.startswith("order cut-off for Saturday dinner (Sat 16:00): final forecast")
    assert "not said" in text
