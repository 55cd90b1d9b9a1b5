"""The command line behind `agent.py`: run the agent, verify and redeem codes, check the config.

A thin layer: the conversation lives in pizza_agent.event, providers and
fallback in pizza_agent.llm, the ledger in pizza_agent.ledger, and every
uagents workaround in pizza_agent.workarounds. `agent.py drill` is dispatched
by agent.py itself, so the running agent never imports the rehearsal tools.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pizza_agent.app.event_facts import Fact, event_facts
from pizza_agent.app.logs import configure_logging
from pizza_agent.app.preflight import port_is_free
from pizza_agent.config.data_dir import DataDirError, DataDirLock, listed_endpoints, lock_name, write_agent_info
from pizza_agent.config.data_dir import prepare as prepare_data_dir
from pizza_agent.config.secret_files import SecretFileError
from pizza_agent.config.settings import AgentMode, ConfigError, Settings, load_settings
from pizza_agent.domain.content import StaticContent, StaticContentError
from pizza_agent.event.meals import meals_for
from pizza_agent.event.runtime import open_existing_runtime, open_runtime
from pizza_agent.ledger.errors import LedgerIdentityMismatch, LedgerUnreachable
from pizza_agent.ledger.redemption import check_code, redeem_code
from pizza_agent.plan.model import PlanError
from pizza_agent.replicas.lease import name_in_use

log = logging.getLogger("pizza.agent")


def layer_banner(settings: Settings) -> str:
    def state(name: str, key: str, models: list[str]) -> str:
        return f"{name}: {'→'.join(models)}" if key else f"{name}: no key → skipped"

    return " · ".join(
        [
            state("OpenAI", settings.openai_api_key.get_secret_value(), settings.openai_models),
            state("ASI1", settings.asi1_api_key.get_secret_value(), settings.asi1_models),
            "static: ready",
        ]
    )


def start_banner(
    settings: Settings, address: str, endpoint: str, mode: str, issued: int, facts: list[Fact] | None = None
) -> str:
    banner = [
        "Pizza Agent",
        f"  address:    {address}",
        f"  endpoint:   {endpoint}",
        f"  mode:       {mode}",
        f"  layers:     {layer_banner(settings)}",
        f"  ledger:     {settings.ledger_display} ({issued} coupons issued)",
        f"  organizers: {len(settings.organizer_addresses)} address(es)",
        f"  dashboard:  {settings.dashboard_url or 'off (set DASHBOARD_TOKEN to turn it on)'}",
        '  chat:       make chat, or .venv/bin/python chat.py "I want pizza"   (Ctrl+C stops the agent)',
    ]
    for fact in facts or []:
        label = {"ok": f"{fact.what}:", "warn": "WARNING:", "FAIL": "WARNING:"}[fact.level]
        banner.append(f"  {label:<11} {fact.detail}")
    if settings.heuristic_note:
        banner.append(f"  NOTE:       {settings.heuristic_note}")
    return "\n".join(banner)


def run_agent(settings: Settings, content: StaticContent) -> int:
    os.umask(0o077)  # every file the agent creates (the ledger's -wal and -shm too) is owner-only
    fixed = prepare_data_dir(settings.data_dir)
    ledger_url = settings.ledger_url.get_secret_value()
    replicated = bool(ledger_url)
    lock = DataDirLock(settings.data_dir, lock_name(replicated, settings.agent_port))
    lock.acquire(port=settings.agent_port)
    bind_host = settings.agent_host if settings.agent_mode is AgentMode.LOCAL else "0.0.0.0"
    if not port_is_free(bind_host, settings.agent_port):
        print(f"error: port {settings.agent_port} is in use; set AGENT_PORT to a free port", file=sys.stderr)
        return 2
    runtime = open_runtime(settings)
    if replicated and name_in_use(ledger_url, settings.replica):
        runtime.ledger.close()
        print(
            f"error: REPLICA_NAME {settings.replica} is used by a running replica on this ledger: "
            "give each replica its own REPLICA_NAME",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings, runtime.secrets)
    for change in fixed:
        log.warning("DATA_DIR permissions fixed (owner-only): %s", change)

    from pizza_agent.app.composition import compose_agent  # late: uagents takes 0.7 s to import

    agent = compose_agent(runtime, content)
    endpoint = f"http://{settings.agent_host}:{settings.agent_port}/submit"
    # Replicas sharing DATA_DIR: keep the others' endpoints (the active replica rewrites the list each second).
    others = [e for e in listed_endpoints(settings.agent_info_path) if e != endpoint] if replicated else []
    info = {
        "address": agent.address,
        "endpoint": (others or [endpoint])[0],
        "endpoints": [*others, endpoint],
        "port": settings.agent_port,
        "pid": os.getpid(),
    }
    write_agent_info(settings.agent_info_path, info)
    mode = settings.agent_mode.value
    if settings.agent_mode is AgentMode.LOCAL:
        mode += " (loopback only: no Almanac, no mailbox, no inspector)"
    stats = runtime.ledger.coupons.stats()
    issued = sum(stats["coupons_issued"].values())
    facts = event_facts(settings, meals_for(settings), runtime.ledger)
    print(start_banner(settings, agent.address, endpoint, mode, issued, facts), flush=True)
    try:
        agent.run()
    finally:
        runtime.ledger.close()
        lock.release()
    return 0


# --- vendor commands ----------------------------------------------------------------
def verify_command(settings: Settings, code: str, meal: str | None = None) -> int:
    runtime = open_existing_runtime(settings, writable=False)
    checked = check_code(runtime.ledger.coupons, runtime.signer, code, meals_for(settings).table_meal(meal))
    print(checked.line)
    return int(checked.state)


def redeem_command(settings: Settings, code: str, meal: str | None = None) -> int:
    runtime = open_existing_runtime(settings, writable=True)
    checked = redeem_code(runtime.ledger.coupons, runtime.signer, code, meals_for(settings).table_meal(meal))
    print(checked.line)
    return int(checked.state)


EXIT_CODES_RUN = "exit codes: 0 stopped cleanly · 2 would not start (the line on stderr says why)"
EXIT_CODES_CODE = (
    "exit codes: 0 valid · 1 not a valid code (forged, altered or never issued) · 2 configuration problem · "
    "3 already redeemed · 4 voided · 5 a coupon of another meal (EVENT_PLAN)"
)
SUBCOMMANDS = {
    "run": (
        "start the agent (the default)",
        "Start the agent: local mode (loopback only) unless AGENT_MODE=agentverse. Works with no keys at all:\n"
        "the banner says which layers are live.",
        f"{EXIT_CODES_RUN}\nexample: python agent.py run",
    ),
    "check": (
        "would the agent start, and how well? (alias: --check-config)",
        "Check configuration, dependencies, static content, DATA_DIR, the port, and ping OpenAI and ASI1\n"
        "(models list + one tiny completion, bounded), then print which layers are live and why not.",
        "exit codes: 0 ready · 1 would start degraded · 2 would not start\nexample: python agent.py check",
    ),
    "verify": (
        "is a coupon code valid and issued?",
        "Check a coupon code against its signature and the ledger, without redeeming it.",
        f"{EXIT_CODES_CODE}\nexample: python agent.py verify PREMIUM-7KQ2M9XA-4F3T8ZPW",
    ),
    "redeem": (
        "redeem a coupon code, exactly once",
        "Mark a coupon code redeemed in the ledger. A second redemption anywhere is refused with its time.",
        EXIT_CODES_CODE.replace("0 valid", "0 redeemed now")
        + "\nexample: python agent.py redeem PREMIUM-7KQ2M9XA-4F3T8ZPW",
    ),
    "roster": (
        "the registration roster: python agent.py roster --help",
        "Import a registration export, print badges with claim codes, add or remove attendees.",
        "example: python agent.py roster import registrations.csv",
    ),
    "plan": (
        "the event plan: python agent.py plan check FILE",
        "Check an event plan (EVENT_PLAN): one line per problem.",
        "exit codes: 0 the plan is sound · 2 problems (one line each)\nexample: python agent.py plan check event.toml",
    ),
    "new-event": (
        "scaffold the next event: python agent.py new-event DIR",
        "Write DIR/event.toml, DIR/static_content/ and DIR/.env for a new event.",
        "example: python agent.py new-event ~/events/example-hacks-2027",
    ),
    "drill": (
        "the outage drill: python agent.py drill --help",
        "Rehearse an outage: local fault providers, the real agent, simulated participants.",
        "example: python agent.py drill --participants 200",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent.py",
        description="Pizza Agent: a uAgents chat agent that trades short stories for pizza coupons.",
        epilog="With no command the agent starts (the same as `run`). Settings: .env.example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check-config", action="store_true", help="the same as `check`")
    sub = parser.add_subparsers(dest="command", metavar="{run,check,verify,redeem,roster,plan,new-event,drill}")
    for name, (summary, description, epilog) in SUBCOMMANDS.items():
        cmd = sub.add_parser(
            name,
            help=summary,
            description=description,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name in ("verify", "redeem"):
            cmd.add_argument("code", help="the coupon code, as printed or scanned")
            cmd.add_argument(
                "--meal",
                help="with EVENT_PLAN: the meal this table serves (default: the meal now, by the plan's clock)",
            )
        if name == "check":
            cmd.add_argument(
                "--timeout", type=float, default=5.0, help="seconds allowed for each live provider call (default 5)"
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["roster"]:
        return _roster(argv[1:])
    if argv[:1] in (["plan"], ["new-event"]):
        from pizza_agent.app.plan_cli import main as plan_main

        return plan_main(argv)
    args = build_parser().parse_args(argv)
    if args.check_config or args.command == "check":
        from pizza_agent.app.preflight import main as preflight

        return preflight(getattr(args, "timeout", 5.0))
    try:
        settings = load_settings()
        if args.command == "verify":
            return verify_command(settings, args.code, args.meal)
        if args.command == "redeem":
            return redeem_command(settings, args.code, args.meal)
        content = StaticContent.load(settings.static_content_dir)  # organizer-edited files: fail now, not mid-event
        return run_agent(settings, content)
    except (ConfigError, SecretFileError, StaticContentError, DataDirError, LedgerIdentityMismatch) as exc:
        print(exc, file=sys.stderr)
        return 2
    except PlanError as exc:
        for problem in exc.problems:
            print(f"error: EVENT_PLAN {settings.event_plan}: {problem}", file=sys.stderr)
        return 2
    except LedgerUnreachable as exc:
        print(
            f"error: cannot reach the ledger at {settings.ledger_display}: {settings.redact(str(exc))}; "
            "check LEDGER_URL and the server (python agent.py check)",
            file=sys.stderr,
        )
        return 2


def _roster(argv: list[str]) -> int:
    from pizza_agent.app.roster_cli import main as roster_main

    try:
        return roster_main(argv, load_settings())
    except (ConfigError, SecretFileError, DataDirError, LedgerIdentityMismatch, LedgerUnreachable) as exc:
        print(exc, file=sys.stderr)
        return 2
