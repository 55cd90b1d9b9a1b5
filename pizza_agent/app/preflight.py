"""`python agent.py check`: would the agent start, and how well, if it started now?

Checks configuration (values, misspelled variable names, organizer addresses,
coupon secret), that dependencies import, the static content, DATA_DIR
(writable, no agent running on it), the port, and — live, bounded — whether
OpenAI and ASI1 answer (models list plus one tiny completion, each within
`timeout` seconds). Prints a table of which layers are live and why not.

Exit codes: 0 ready · 1 would start degraded (a layer off or failing, or a
warning) · 2 would not start. Lines that stop a start go to stderr as well,
one per problem.
"""

from __future__ import annotations

import asyncio
import csv
import difflib
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from dotenv import dotenv_values

from pizza_agent.app.dependencies import declared, problems
from pizza_agent.app.event_facts import event_facts
from pizza_agent.config.data_dir import is_locked, lock_name
from pizza_agent.config.settings import PROJECT_DIR, AgentMode, ConfigError, Settings, is_loopback, load_settings
from pizza_agent.domain.content import StaticContent, StaticContentError
from pizza_agent.event.meals import meals_for
from pizza_agent.ledger.errors import LedgerUnreachable
from pizza_agent.ledger.postgres import server_facts
from pizza_agent.ledger.schema import MIGRATIONS
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.errors import ProviderError
from pizza_agent.llm.service import make_provider
from pizza_agent.plan.model import PlanError, check_plan, load_plan

PING_TIMEOUT_SECONDS = 5.0
# Prefixes of our variables: a name with one of these that we do not know is probably misspelled.
OUR_PREFIXES = (
    "OPENAI_",
    "ASI1_",
    "ASI_ONE_",
    "AGENT_",
    "LLM_",
    "TIER_",
    "STORY_",
    "LOG_",
    "COUPON_",
    "ORGANIZER",
    "SENDER_",
    "REPLY_",
    "DATA_",
    "MESSAGE_",
    "SEND_",
    "FLAGGED_",
    "DATABASE_",
    "STATIC_",
)


class Verdict(IntEnum):
    READY = 0
    DEGRADED = 1
    WOULD_NOT_START = 2


@dataclass
class Report:
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (state, what, detail)
    layers: list[tuple[str, bool, str]] = field(default_factory=list)  # (layer, live, why)
    blockers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def ok(self, what: str, detail: str = "") -> None:
        self.rows.append(("ok", what, detail))

    def warn(self, what: str, detail: str) -> None:
        self.rows.append(("warn", what, detail))
        self.warnings.append(f"{what}: {detail}")

    def block(self, what: str, detail: str) -> None:
        self.rows.append(("FAIL", what, detail))
        self.blockers.append(detail)

    @property
    def verdict(self) -> Verdict:
        if self.blockers:
            return Verdict.WOULD_NOT_START
        if self.warnings or not all(live for name, live, _ in self.layers if name != "static"):
            return Verdict.DEGRADED
        return Verdict.READY

    def render(self) -> str:
        lines = ["Pizza Agent preflight"]
        lines += [f"  {state:<5} {what}" + (f": {detail}" if detail else "") for state, what, detail in self.rows]
        if self.layers:
            lines.append("")
            lines.append(f"  {'layer':<8}{'live':<6}why")
            lines += [f"  {name:<8}{'yes' if live else 'no':<6}{why}" for name, live, why in self.layers]
        lines.append("")
        verdict = {
            Verdict.READY: "READY: every layer is live",
            Verdict.DEGRADED: "WOULD START DEGRADED: participants are served, with less (see above)",
            Verdict.WOULD_NOT_START: f"WOULD NOT START: {len(self.blockers)} problem(s), each on its FAIL line above",
        }[self.verdict]
        lines.append(verdict)
        return "\n".join(lines)


def misspelled_variables(names: list[str]) -> list[str]:
    """Our-looking variable names we do not know, each with the name it probably meant."""
    from pizza_agent.config.settings import Settings as _Settings

    known = set()
    for info in _Settings.model_fields.values():
        if info.alias:
            known.add(info.alias)
        elif info.validation_alias is not None:
            known.update(info.validation_alias.choices)  # type: ignore[union-attr]
    known |= {"ENV_FILE", "CHAT_SEED"}
    found = []
    for name in sorted(set(names)):
        if name in known or not name.startswith(OUR_PREFIXES):
            continue
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        found.append(f"{name} is not a setting" + (f" (did you mean {guess[0]}?)" if guess else ""))
    return found


def _environment_names() -> list[str]:
    chosen = os.environ.get("ENV_FILE")
    path = Path(chosen) if chosen else PROJECT_DIR / ".env"
    file_names = list(dotenv_values(path)) if chosen != "" and path.is_file() else []
    return [*file_names, *os.environ]


def port_is_free(host: str, port: int) -> bool:
    """Could the agent bind (host, port) now? (Start-up and `check` ask the same question.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


async def ping(name: str, settings: Settings, timeout: float) -> tuple[bool, str]:
    """(live, why): the provider's models list, then one tiny completion, each bounded by `timeout`."""
    key = getattr(settings, f"{name}_api_key").get_secret_value()
    if not key:
        return False, f"no {name.upper()}_API_KEY set"
    provider = make_provider(name, settings)
    model = getattr(settings, f"{name}_models")[0]
    started = time.perf_counter()
    try:
        models = await asyncio.wait_for(provider.list_models(timeout=timeout), timeout)
        messages = [{"role": "user", "content": "Reply with the word ok."}]
        await asyncio.wait_for(provider.complete(messages, model=model, timeout=timeout, max_tokens=5), timeout)
    except TimeoutError:
        return False, f"no answer within {timeout:g}s"
    except ProviderError as exc:
        if exc.reason == "timed out":
            return False, f"no answer within {timeout:g}s"
        return False, f"{type(exc).__name__}: {exc.reason}"
    finally:
        await provider.aclose()
    listed = "" if model in models or not models else f" (note: {model} is not in its models list)"
    return True, f"{model} answered in {(time.perf_counter() - started) * 1000:.0f} ms{listed}"


def run_checks(timeout: float = PING_TIMEOUT_SECONDS) -> Report:
    report = Report()
    try:
        settings = load_settings()
    except ConfigError as exc:
        report.block("configuration", str(exc))
        return report
    report.ok("configuration", f"mode {settings.agent_mode.value}, {len(settings.organizer_addresses)} organizer(s)")
    for problem in misspelled_variables(_environment_names()):
        report.warn("configuration", problem)
    check_dependencies(report)
    try:
        content = StaticContent.load(settings.static_content_dir)
        report.ok("static content", f"{len(content.prompts)} prompts, {settings.static_content_dir}")
        shown = " · ".join(f'"{prompt}"' for prompt in content.starter_prompts)
        report.ok("starter prompts", f"{shown} (the profile's examples on Agentverse/ASI:One; profile.toml)")
        check_languages(report, settings, content)
    except StaticContentError as exc:
        report.block("static content", str(exc))
    check_plan_file(report, settings)
    holder = check_data_dir(report, settings)
    check_ledger(report, settings, timeout)
    host = settings.agent_host if settings.agent_mode is AgentMode.LOCAL else "0.0.0.0"
    if holder or port_is_free(host, settings.agent_port):
        report.ok("port", f"{settings.agent_port} on {host}" + (" (held by the running agent)" if holder else " free"))
    else:
        report.block("port", f"port {settings.agent_port} is in use; set AGENT_PORT to a free port")
    if settings.agent_mode is AgentMode.AGENTVERSE:
        check_agentverse(report, settings)
    check_dashboard(report, settings, holder)
    check_giveaway(report, settings)
    check_event(report, settings)

    async def both() -> list[tuple[bool, str]]:
        return list(await asyncio.gather(ping("openai", settings, timeout), ping("asi1", settings, timeout)))

    (openai_live, openai_why), (asi1_live, asi1_why) = asyncio.run(both())
    report.layers = [("OpenAI", openai_live, openai_why), ("ASI1", asi1_live, asi1_why), ("static", True, "always")]
    return report


def check_languages(report: Report, settings: Settings, content: StaticContent) -> None:
    """The event's languages: each needs a file in static_content/languages/ (without one, its speakers are
    answered in the default), and a file that leaves messages out has them said in English."""
    try:
        plan = load_plan(settings.event_plan) if settings.event_plan is not None else None
    except PlanError:
        plan = None  # the plan's own lines say why
    listed = list(plan.languages) if plan is not None and plan.languages else list(settings.event_languages)
    missing = [code for code in listed if code not in content.languages]
    usable = [code for code in listed if code in content.languages] or ["en"]
    report.ok(
        "languages", f"{', '.join(usable)} (default {usable[0]}); shipped: {', '.join(sorted(content.languages))}"
    )
    for code in missing:
        report.warn(
            "languages",
            f"{code!r} is listed but has no translation (static_content/languages/{code}.toml): its speakers are "
            f"answered in {usable[0]}",
        )
    for code in listed:
        gaps = content.languages[code].missing(content.messages) if code in content.languages else []
        if gaps:
            shown = ", ".join(gaps[:6]) + (f" and {len(gaps) - 6} more" if len(gaps) > 6 else "")
            report.warn("languages", f"{code}: {len(gaps)} message(s) not translated, said in English: {shown}")


def check_plan_file(report: Report, settings: Settings) -> None:
    """EVENT_PLAN: every problem of the plan, one line each (the agent would refuse to start)."""
    if settings.event_plan is None:
        report.ok("event plan", "none: one meal, always open")
        return
    problems = check_plan(settings.event_plan)
    for problem in problems:
        report.block("event plan", problem)
    if not problems:
        plan = load_plan(settings.event_plan)
        report.ok("event plan", f"{plan.name}: {len(plan.meals)} meal(s), diets {', '.join(plan.diets) or 'none'}")


def check_event(report: Report, settings: Settings) -> None:
    """Who the participants are, the event's clock, the next meal, each meal's caps (app/event_facts.py)."""
    try:
        meals = meals_for(settings)
    except PlanError:
        return  # the plan's own lines said why
    ledger = None
    if settings.ledger_url.get_secret_value() or settings.ledger_path.exists():
        try:
            ledger = Ledger(settings.ledger_target, read_only=not settings.ledger_url.get_secret_value())
        except (LedgerUnreachable, OSError, sqlite3.Error):
            ledger = None  # its own line says why
    try:
        for fact in event_facts(settings, meals, ledger):
            {"ok": report.ok, "warn": report.warn, "FAIL": report.block}[fact.level](fact.what, fact.detail)
    finally:
        if ledger is not None:
            ledger.close()


def check_dependencies(report: Report) -> None:
    found = problems()
    for line in found:
        (report.block if line.startswith("error:") else report.warn)("dependencies", line.split(": ", 1)[1])
    if not found:
        report.ok("dependencies", f"{len(declared())} requirements installed at their pinned versions")


def check_data_dir(report: Report, settings: Settings) -> str | None:
    """DATA_DIR writable and free; returns what holds it if an agent is running on it."""
    data = settings.data_dir
    lock = lock_name(bool(settings.ledger_url.get_secret_value()), settings.agent_port)
    holder = is_locked(data, lock) if data.exists() else None
    if holder:
        report.block("data directory", f"another agent is already running on {data} ({holder})")
    elif data.exists() and not os.access(data, os.W_OK | os.X_OK):
        report.block("data directory", f"DATA_DIR {data} is not writable by this user")
    elif not data.exists() and not os.access(_existing_parent(data), os.W_OK):
        report.block("data directory", f"DATA_DIR {data} cannot be created here")
    else:
        report.ok("data directory", f"{data} writable, no agent running on it")
    return holder


def check_dashboard(report: Report, settings: Settings, holder: str | None = None) -> None:
    """Where the dashboard listens, and whether tokens cross the network encrypted."""
    if not settings.dashboard_token.get_secret_value():
        report.ok("dashboard", "off (no DASHBOARD_TOKEN)")
        return
    where = settings.dashboard_url
    if not holder and not port_is_free(settings.dashboard_host, settings.dashboard_port):
        report.block(
            "dashboard",
            f"port {settings.dashboard_port} on {settings.dashboard_host} is in use: the agent would run with no "
            "dashboard; set DASHBOARD_PORT to a free port",
        )
        return
    if settings.dashboard_tls:
        report.ok("dashboard", f"{where} (TLS: {settings.dashboard_tls_cert})")
    elif is_loopback(settings.dashboard_host):
        report.ok("dashboard", f"{where} (this machine only)")
    else:
        report.warn(
            "dashboard",
            f"{where} without TLS (DASHBOARD_INSECURE=1): tokens and cookies cross the network in clear text",
        )


def check_giveaway(report: Report, settings: Settings) -> None:
    """The coupons: each vendor pool with its code count, the caps, the heuristic's cap, the tokens."""
    pool = settings.coupon_pool_dir
    if pool is not None:
        if not pool.is_dir():
            report.block("coupon pools", f"COUPON_POOL_DIR {pool}: no such directory (a misspelled path?)")
        else:
            counts = {tier: _codes_in(pool / f"{tier}.csv") for tier in ("premium", "standard", "basic")}
            found = ", ".join(f"{tier} {n} codes" for tier, n in counts.items() if n is not None)
            if found:
                report.ok("coupon pools", f"{pool}: {found}")
            else:
                report.block("coupon pools", f"COUPON_POOL_DIR {pool} has no premium.csv, standard.csv or basic.csv")
    caps = ", ".join(f"{tier} {cap}" for tier, cap in settings.tier_caps.items()) or "none (unlimited)"
    report.ok("tier caps", caps)
    if settings.heuristic_note:
        report.warn("scoring", settings.heuristic_note)
    tokens = [
        name
        for name, value in (("DASHBOARD_TOKEN", settings.dashboard_token), ("VENDOR_TOKEN", settings.vendor_token))
        if value.get_secret_value()
    ]
    report.ok("tokens", ", ".join(tokens) + " set" if tokens else "no dashboard or vendor token (the dashboard is off)")


def _codes_in(path: Path) -> int | None:
    if not path.is_file():
        return None
    with path.open(newline="") as handle:
        rows = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
    return len([r for r in rows if r.lower() != "code"])


def check_agentverse(report: Report, settings: Settings) -> None:
    if not settings.openai_api_key.get_secret_value() and not settings.asi1_api_key.get_secret_value():
        report.warn("agentverse", "no OPENAI_API_KEY and no ASI1_API_KEY: every answer will be static")
    if not settings.organizer_addresses:
        report.warn("agentverse", "no ORGANIZER_ADDRESSES: nobody can run status, pause or reset from chat")
    if not settings.agentverse_api_key.get_secret_value() and settings.agent_inspector == "off":
        report.warn(
            "agentverse",
            "no AGENTVERSE_API_KEY and AGENT_INSPECTOR=off: the mailbox can only be one connected before",
        )
    if not settings.agent_readme.is_file():
        report.warn("agentverse", f"AGENT_README {settings.agent_readme} does not exist: no readme on Agentverse")


def check_ledger(report: Report, settings: Settings, timeout: float) -> None:
    """SQLite needs nothing; a PostgreSQL ledger must answer before the event (its password never shown)."""
    url = settings.ledger_url.get_secret_value()
    if not url:
        report.ok("ledger", f"SQLite {settings.ledger_path}")
        return
    try:
        version, schema = server_facts(url, timeout)
    except LedgerUnreachable as exc:
        report.block("ledger", f"cannot reach {settings.ledger_display}: {settings.redact(str(exc))}")
        return
    migrations = f"schema {schema}/{len(MIGRATIONS)}" if schema else "empty: the agent creates the tables"
    report.ok("ledger", f"PostgreSQL {version} at {settings.ledger_display} reachable, {migrations}")


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def main(timeout: float = PING_TIMEOUT_SECONDS) -> int:
    report = run_checks(timeout)
    print(report.render())  # each problem once, on its FAIL line
    return int(report.verdict)
