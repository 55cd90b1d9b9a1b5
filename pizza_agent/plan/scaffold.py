"""`python agent.py new-event DIR`: the next event in ten minutes.

Writes DIR/event.toml (a plan of four meals starting tomorrow, in this machine's
time zone, to edit), DIR/static_content/ (a copy of the prompts, messages and
reply templates, to make the event's own), and DIR/.env (the settings pointing at
both). `plan check` accepts the plan as written, and the agent starts with it.

The new `.env` keeps what the current one (`ENV_FILE`, else the agent folder's `.env`) says
about where and who: its keys, ports, tokens, organizers, participants mode and data directory
(a roster imported there and badges printed from it stay valid). `--fresh` starts from blank
values instead, and `new-event` then says each value that differs from the current `.env`.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

PLAN_TEMPLATE = """# {name}: the event plan (EVENT_PLAN). Times are local to `timezone`.
# Check it with: python agent.py plan check {plan}

[event]
name = "{name}"
timezone = "{zone}"          # an IANA name: America/Los_Angeles, Europe/Berlin, Asia/Kolkata …
diets = ["regular", "vegetarian", "vegan", "gluten-free"]

[[meals]]
id = "day1-dinner"
name = "{day1} dinner"
starts = {d1}T18:00:00
ends = {d1}T20:00:00
order_cutoff = {d1}T16:00:00     # the vendor's counts are final here: it must come before starts
groups = [ {{ name = "A", offset_minutes = 0 }}, {{ name = "B", offset_minutes = 20 }} ]

[[meals]]
id = "day1-midnight"
name = "Midnight snack"
starts = {d1}T23:30:00
ends = {d2}T00:30:00
order_cutoff = {d1}T21:30:00
diets = ["regular", "vegetarian", "vegan"]   # this meal offers fewer kinds

[[meals]]
id = "day2-breakfast"
name = "{day2} breakfast"
starts = {d2}T08:00:00
ends = {d2}T09:30:00
order_cutoff = {d1}T22:00:00     # breakfast is ordered the evening before

[[meals]]
id = "day2-lunch"
name = "{day2} lunch"
starts = {d2}T12:30:00
ends = {d2}T14:00:00
order_cutoff = {d2}T10:30:00
tier_caps = {{ premium = 50 }}
"""

ENV_TEMPLATE = """# {name}: settings (see .env.example in the agent's folder for every one).
EVENT_PLAN={plan}
STATIC_CONTENT_DIR={content}
DATA_DIR={DATA_DIR}
# Keys: OpenAI https://platform.openai.com/api-keys · ASI1 https://asi1.ai (developer / API keys)
OPENAI_API_KEY={OPENAI_API_KEY}
ASI1_API_KEY={ASI1_API_KEY}
# Organizers (agent addresses, comma-separated) and the dashboard's tokens (at least 16 characters).
ORGANIZER_ADDRESSES={ORGANIZER_ADDRESSES}
DASHBOARD_TOKEN={DASHBOARD_TOKEN}
VENDOR_TOKEN={VENDOR_TOKEN}
# Ports: the agent's and the dashboard's.
AGENT_PORT={AGENT_PORT}
DASHBOARD_PORT={DASHBOARD_PORT}
# One coupon per sender address (address) or per attendee of a registration list (roster).
PARTICIPANTS={PARTICIPANTS}
"""
# What a new event keeps from the current .env (unless --fresh), and its value when there is none.
KEPT = {
    "DATA_DIR": None,  # the new folder's data/ when there is none
    "OPENAI_API_KEY": "",
    "ASI1_API_KEY": "",
    "ORGANIZER_ADDRESSES": "",
    "DASHBOARD_TOKEN": "",
    "VENDOR_TOKEN": "",
    "AGENT_PORT": "8000",
    "DASHBOARD_PORT": "8080",
    "PARTICIPANTS": "address",
}
SECRET_NAMES = ("OPENAI_API_KEY", "ASI1_API_KEY", "DASHBOARD_TOKEN", "VENDOR_TOKEN")


def local_zone_name() -> str:
    """This machine's IANA time zone name, or UTC when it cannot be told."""
    link = Path("/etc/localtime")
    if link.is_symlink():
        target = str(link.resolve())
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    return "UTC"


def scaffold(
    directory: Path,
    content_source: Path,
    name: str | None = None,
    today: date | None = None,
    current: dict[str, str] | None = None,
) -> list[Path]:
    """Write the event's plan, content and settings; refuses to overwrite any of them. Returns what it wrote.
    `current`: the settings to keep (the current .env's; None or empty: fresh values)."""
    directory = directory.resolve()
    plan, content, env = directory / "event.toml", directory / "static_content", directory / ".env"
    existing = [p for p in (plan, content, env) if p.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} already exists: new-event writes into a new folder")
    directory.mkdir(parents=True, exist_ok=True)
    name = name or directory.name.replace("-", " ").title()
    day1 = (today or datetime.now().date()) + timedelta(days=1)
    day2 = day1 + timedelta(days=1)
    plan.write_text(
        PLAN_TEMPLATE.format(
            name=name, plan=plan, zone=local_zone_name(), d1=day1, d2=day2, day1=f"{day1:%A}", day2=f"{day2:%A}"
        )
    )
    shutil.copytree(content_source, content)
    values = new_env_values(directory, current or {})
    env.write_text(ENV_TEMPLATE.format(name=name, plan=plan, content=content, **values))
    env.chmod(0o600)
    return [plan, content, env]


def new_env_values(directory: Path, current: dict[str, str]) -> dict[str, str]:
    """The kept settings' values: the current .env's, else the defaults (DATA_DIR: the new folder's data/)."""
    values = {}
    for key, default in KEPT.items():
        fallback = str(directory / "data") if default is None else default
        values[key] = (current.get(key) or "").strip() or fallback
    return values


def differences(directory: Path, current: dict[str, str]) -> list[str]:
    """With --fresh: each kept setting whose new value differs from the current .env (secrets not shown)."""
    fresh = new_env_values(directory, {})
    said = []
    for key in KEPT:
        old = (current.get(key) or "").strip()
        if old and old != fresh[key]:
            shown = "(set)" if key in SECRET_NAMES else old
            new = "(blank)" if not fresh[key] else ("(new)" if key in SECRET_NAMES else fresh[key])
            said.append(f"{key}: {new} in the new event, {shown} in the current .env")
    return said
