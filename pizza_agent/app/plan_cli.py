"""`python agent.py plan check FILE` and `python agent.py new-event DIR`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dotenv import dotenv_values

from pizza_agent.config.settings import PROJECT_DIR, default_static_content
from pizza_agent.plan.model import Meal, Plan, check_plan, load_plan, plan_warnings
from pizza_agent.plan.scaffold import differences, scaffold


def main(argv: list[str]) -> int:
    if argv[0] == "new-event":
        return _new_event(argv[1:])
    parser = argparse.ArgumentParser(prog="agent.py plan", description="The event plan (EVENT_PLAN).")
    sub = parser.add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="one line per problem; exit 0 when the plan is sound, 2 otherwise")
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv[1:])
    problems = check_plan(args.file)
    for problem in problems:
        print(f"{args.file}: {problem}")
    if problems:
        return 2
    plan = load_plan(args.file)
    languages = ", ".join(plan.languages) if plan.languages else "from EVENT_LANGUAGES (en unless set)"
    print(
        f"{args.file}: sound — {plan.name}, {len(plan.meals)} meal(s), times in {plan.zone.key}, languages {languages}:"
    )
    for meal in plan.meals:
        print(meal_summary(plan, meal))
    for warning in plan_warnings(plan):
        print(f"{args.file}: WARNING {warning}")
    return 0


def meal_summary(plan: Plan, meal: Meal) -> str:
    """Everything an organizer set for one meal, in the event's time zone: what `plan check` prints."""
    cutoff = f"{meal.order_cutoff:%a %H:%M}" if meal.order_cutoff else "NONE (the order sheet is never final)"
    caps = ", ".join(f"{tier} {cap}" for tier, cap in meal.tier_caps.items()) or "none (the event's TIER_CAPS)"
    groups = ", ".join(f"{g.name} at {meal.group_time(g):%H:%M}" for g in meal.groups) or "none"
    diets = ", ".join(plan.diets_for(meal)) or "none asked"
    if plan.combine_diets:
        diets += " (combinations too)"
    return (
        f"  {meal.id}: {meal.name}, {meal.starts:%a %Y-%m-%d %H:%M}–{meal.ends:%H:%M}\n"
        f"    order cut-off {cutoff} · caps {caps} · groups {groups}\n"
        f"    pool {meal.pool or 'none'} · diets {diets} · roles without a story {', '.join(meal.roles) or 'none'}"
    )


def _new_event(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="agent.py new-event", description=__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--name", help="the event's name (default: from the folder's name)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="blank keys, tokens and organizers, default ports, and a new data directory (default: kept from the "
        "current .env, so a roster imported there and the badges printed from it stay valid)",
    )
    args = parser.parse_args(argv)
    source = Path(os.environ.get("ENV_FILE") or PROJECT_DIR / ".env")
    current = {k: v or "" for k, v in dotenv_values(source).items()} if source.is_file() else {}
    try:
        written = scaffold(args.dir, default_static_content(), args.name, current={} if args.fresh else current)
    except (FileExistsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if current and not args.fresh:
        print(f"kept from {source}: keys, tokens, organizers, ports, PARTICIPANTS and DATA_DIR")
    for line in differences(args.dir.resolve(), current) if args.fresh else []:
        print(f"differs from {source}: {line}")
    plan, _, env = written
    print(f"next: edit {plan} (times, diets, caps), check it with `python agent.py plan check {plan}`, fill in {env},")
    print(f"then start the event with `ENV_FILE={env} python agent.py` (and give every command that ENV_FILE:")
    print(f"`ENV_FILE={env} python agent.py roster import FILE.csv`, `ENV_FILE={env} python chat.py`, …)")
    return 0
