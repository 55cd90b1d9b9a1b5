"""`python agent.py plan check FILE` and `python agent.py new-event DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pizza_agent.config.settings import default_static_content
from pizza_agent.plan.model import check_plan, load_plan
from pizza_agent.plan.scaffold import scaffold


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
    print(f"{args.file}: sound — {plan.name}, {len(plan.meals)} meal(s) in {plan.zone.key}:")
    for meal in plan.meals:
        diets = ", ".join(plan.diets_for(meal)) or "no diets asked"
        print(f"  {meal.id}: {meal.name}, {meal.starts:%a %Y-%m-%d %H:%M}–{meal.ends:%H:%M} ({diets})")
    return 0


def _new_event(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="agent.py new-event", description=__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--name", help="the event's name (default: from the folder's name)")
    args = parser.parse_args(argv)
    try:
        written = scaffold(args.dir, default_static_content(), args.name)
    except (FileExistsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    plan, _, env = written
    print(f"next: edit {plan} (times, diets, caps), check it with `python agent.py plan check {plan}`, fill in {env},")
    print(f"then start the event with `ENV_FILE={env} python agent.py`")
    return 0
