"""The command line behind `agent.py`: run the agent, verify and redeem codes, check the config.

A thin layer: the conversation lives in pizza_agent.event, providers and
fallback in pizza_agent.llm, the ledger in pizza_agent.ledger, and every
uagents workaround in pizza_agent.workarounds. `agent.py drill` is dispatched
by agent.py itself, so the running agent never imports the rehearsal tools.
May import: every room but pizza_agent.rehearsal.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys

from pizza_agent.app.logs import configure_logging
from pizza_agent.config.secret_files import SecretFileError
from pizza_agent.config.settings import AgentMode, ConfigError, Settings, load_settings
from pizza_agent.event.runtime import open_runtime
from pizza_agent.ledger.redemption import check_code, redeem_code
from pizza_agent.llm.static_layer import StaticContent, StaticContentError

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


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def run_agent(settings: Settings, content: StaticContent) -> int:
    runtime = open_runtime(settings)
    configure_logging(settings, runtime.secrets)
    bind_host = settings.agent_host if settings.agent_mode is AgentMode.LOCAL else "0.0.0.0"
    if not port_is_free(bind_host, settings.agent_port):
        print(f"error: port {settings.agent_port} is in use; set AGENT_PORT to a free port", file=sys.stderr)
        return 2

    from pizza_agent.transport.agent_builder import build_agent  # late: uagents takes 0.7 s to import

    agent = build_agent(runtime, content)
    endpoint = f"http://{settings.agent_host}:{settings.agent_port}/submit"
    info = {"address": agent.address, "endpoint": endpoint, "port": settings.agent_port, "pid": os.getpid()}
    settings.agent_info_path.write_text(json.dumps(info))
    mode = settings.agent_mode.value
    if settings.agent_mode is AgentMode.LOCAL:
        mode += " (loopback only: no Almanac, no mailbox, no inspector)"
    stats = runtime.ledger.stats()
    banner = [
        "Pizza Agent",
        f"  address:    {agent.address}",
        f"  endpoint:   {endpoint}",
        f"  mode:       {mode}",
        f"  layers:     {layer_banner(settings)}",
        f"  ledger:     {settings.ledger_path} ({sum(stats['coupons_issued'].values())} coupons issued)",
        f"  organizers: {len(settings.organizer_addresses)} address(es)",
        '  chat:       make chat, or .venv/bin/python chat.py "I want pizza"   (Ctrl+C stops the agent)',
    ]
    print("\n".join(banner), flush=True)
    try:
        agent.run()
    finally:
        runtime.ledger.close()
    return 0


# --- vendor commands ----------------------------------------------------------------
def verify_command(settings: Settings, code: str) -> int:
    runtime = open_runtime(settings)
    checked = check_code(runtime.ledger, runtime.signer, code)
    print(checked.line)
    return int(checked.state)


def redeem_command(settings: Settings, code: str) -> int:
    runtime = open_runtime(settings)
    checked = redeem_code(runtime.ledger, runtime.signer, code)
    print(checked.line)
    return int(checked.state)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description="Pizza Agent: stories for pizza coupons.")
    parser.add_argument("--check-config", action="store_true", help="validate the configuration and exit")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the agent (the default)")
    sub.add_parser("drill", help="outage drill: python agent.py drill --help")
    for name, text in (("verify", "check a coupon code"), ("redeem", "redeem a coupon code once")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("code")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        content = StaticContent.load(settings.static_content_dir)  # organizer-edited files: fail now, not mid-event
        if args.check_config:
            print("configuration ok")
            return 0
        if args.command == "verify":
            return verify_command(settings, args.code)
        if args.command == "redeem":
            return redeem_command(settings, args.code)
        return run_agent(settings, content)
    except (ConfigError, SecretFileError, StaticContentError) as exc:
        print(exc, file=sys.stderr)
        return 2
