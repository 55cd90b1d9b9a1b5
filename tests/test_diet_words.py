"""A registration form's answer about food, mapped onto the plan's diets — or said to be unmappable, never guessed."""

from __future__ import annotations

import pytest

from pizza_agent.plan.diet_words import DietMatch, match_diet

OFFERED = ("regular", "vegetarian", "vegan", "gluten-free", "halal")


@pytest.mark.parametrize(
    ("answer", "diet"),
    [
        ("Vegetarian", "vegetarian"),
        ("veggie", "vegetarian"),
        ("Vegans", "vegan"),
        ("plant-based", "vegan"),
        ("coeliac", "gluten-free"),
        ("No gluten", "gluten-free"),
        ("GF", "gluten-free"),
        ("No restrictions", "regular"),
        ("none", "regular"),
        ("N/A", None),
        ("", None),
        ("素食 (vegetarian)", "vegetarian"),
        ("Halal", "halal"),
        ("vegetarian (no eggs)", "vegetarian"),
        ("Jain vegetarian", "vegetarian"),
        ("حلال", "halal"),  # the shipped languages' own words for the usual diets
        ("素食", "vegetarian"),
        ("ベジタリアン", None),  # no Latin letters and no known word: not understood, never "no restriction"
        ("حمية خاصة", None),
    ],
)
def test_one_answer_maps_onto_one_diet(answer, diet):
    assert match_diet(answer, OFFERED, combine=False).diet == diet


def test_several_answers_make_a_combined_diet_when_the_plan_combines_else_the_strictest_with_a_note():
    assert match_diet("Halal, Gluten-free", OFFERED, combine=True) == DietMatch("halal+gluten-free")
    assert match_diet("Halal, Gluten-free", OFFERED, combine=False) == DietMatch(
        "halal", "also said gluten-free (the plan does not combine diets)"
    )
    assert match_diet("vegetarian and vegan", OFFERED, combine=False).diet == "vegan"  # the strictest
    listed = (*OFFERED, "gluten-free+halal")  # a combination the plan lists, in its own order
    assert match_diet("gluten free / halal", listed, combine=False).diet == "gluten-free+halal"
    assert match_diet("None, halal", OFFERED, combine=True).diet == "halal"  # "none" adds nothing to a restriction


def test_what_the_plan_does_not_offer_is_kept_as_said_and_what_nobody_could_read_is_said():
    """A kosher guest is counted as "not offered" on the order sheet, not lost among "not said"."""
    assert match_diet("Kosher", OFFERED, combine=False) == DietMatch(
        "kosher", "not offered by the plan: kosher: kept as said (the order sheet shows it as not offered)"
    )
    assert match_diet("حمية خاصة", OFFERED, combine=False) == DietMatch(None, "not understood: 'حمية خاصة'")
    assert match_diet("shellfish allergy", OFFERED, combine=False) == DietMatch(
        None, "not understood: 'shellfish allergy'"
    )
    assert match_diet("Vegan; no nuts", OFFERED, combine=False) == DietMatch(
        "vegan", "not offered by the plan: nut-free"
    )
