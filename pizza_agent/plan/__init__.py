"""The event plan (EVENT_PLAN=event.toml): meals with their windows, diets, caps and pickup groups.

- `model.py`: the plan read and checked (`agent.py plan check`: one line per problem), and the
  implicit one-meal plan of an event without a file (exactly the behaviour before plans).
- `clock.py`: the event's clock, compressed for rehearsals (`drill --plan --speed 60`).
- `scaffold.py`: `agent.py new-event DIR`, the next event in ten minutes.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "clock": ("EventClock",),
        "model": (
            "Meal",
            "Plan",
            "PlanError",
            "check_plan",
            "load_plan",
            "plan_warnings",
            "ROLES",
        ),
        "scaffold": ("differences", "scaffold"),
        "diet_words": ("DietMatch", "match_diet"),
    },
)
