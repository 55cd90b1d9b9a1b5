"""Pizza Agent: a uAgents chat agent that trades short stories for pizza coupons.

    python agent.py                 start the agent (local mode unless AGENT_MODE=agentverse)
    python agent.py verify CODE     is CODE a valid, issued coupon? (exit 0 only if so)
    python agent.py redeem CODE     mark CODE redeemed, once (exit 0 only the first time)
    python agent.py --check-config  validate the configuration and exit
    python agent.py drill           the outage drill (see drill.py)

The command line is a thin layer: the conversation lives in conversation.py,
providers and fallback in llm_service.py / fallback.py, the ledger in ledger.py,
and every uagents workaround in uagents_compat.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from config import AgentMode, ConfigError, Settings, load_settings
from coupons import CouponSigner
from ledger import Coupon, Ledger
from local_secrets import SecretFileError, load_or_create_secret
from static_layer import StaticContent, StaticContentError

log = logging.getLogger("pizza.agent")


# --- logging ------------------------------------------------------------------------
class RedactSecrets(logging.Filter):
    """Last line of defence: any configured secret in a log line becomes ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        texts = (message, record.exc_text or "")
        if any(secret in text for secret in self._secrets for text in texts):
            for secret in self._secrets:
                message = message.replace(secret, "***")
                record.exc_text = (record.exc_text or "").replace(secret, "***") or None
            record.msg, record.args = message, ()
        return True


# Libraries whose INFO lines (one per HTTP request) drown the one line per message.
QUIET_LOGGERS = ("httpx", "httpx2", "openai", "uvicorn")


def _not_library_chatter(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not record.name.startswith(QUIET_LOGGERS)


def configure_logging(settings: Settings, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_not_library_chatter)
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


# --- the pieces of a running agent ------------------------------------------------------
@dataclass
class Runtime:
    settings: Settings
    seed: str
    coupon_secret: str
    signer: CouponSigner
    ledger: Ledger

    @property
    def secrets(self) -> list[str]:
        return [*self.settings.secrets, self.seed, self.coupon_secret]


def open_runtime(settings: Settings) -> Runtime:
    data = settings.data_dir
    seed = load_or_create_secret(data / "agent_seed", settings.agent_seed.get_secret_value())
    secret = load_or_create_secret(data / "coupon_secret", settings.coupon_secret.get_secret_value())
    ledger = Ledger(settings.ledger_path)
    if settings.coupon_pool_dir is not None:
        ledger.load_pools(settings.coupon_pool_dir)
    return Runtime(settings, seed, secret, CouponSigner(secret), ledger)


def agent_info_path(settings: Settings) -> Path:
    return settings.data_dir / "agent.json"


def peers_dir(settings: Settings) -> Path:
    return settings.data_dir / "peers"


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

    from agent_runtime import build_agent  # late: uagents takes 0.7 s to import

    agent = build_agent(runtime, content)
    endpoint = f"http://{settings.agent_host}:{settings.agent_port}/submit"
    info = {"address": agent.address, "endpoint": endpoint, "port": settings.agent_port, "pid": os.getpid()}
    agent_info_path(settings).write_text(json.dumps(info))
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
def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_code(runtime: Runtime, code: str) -> tuple[Coupon | None, str]:
    """(the issued coupon or None, one line saying why) — shared by verify and redeem."""
    code = code.strip()
    check = runtime.signer.check(code)
    if check.well_formed:
        code = code.upper()
        if not check.authentic:
            return None, f"INVALID {code}: the code's signature does not match (altered or made up)"
    coupon = runtime.ledger.find(code)  # vendor pool codes carry no signature: the ledger decides
    if coupon is None:
        return None, f"INVALID {code}: no such code was issued"
    state = f"redeemed {_when(coupon.redeemed_at)}" if coupon.redeemed_at else "not yet redeemed"
    return coupon, f"VALID {coupon.tier} coupon {coupon.code}, issued {_when(coupon.issued_at)}, {state}"


def verify_command(settings: Settings, code: str) -> int:
    coupon, line = check_code(open_runtime(settings), code)
    print(line)
    return 0 if coupon else 1


def redeem_command(settings: Settings, code: str) -> int:
    runtime = open_runtime(settings)
    coupon, line = check_code(runtime, code)
    if coupon is None:
        print(line)
        return 1
    redeemed, newly = runtime.ledger.redeem(coupon.code)
    when = _when(redeemed.redeemed_at) if redeemed and redeemed.redeemed_at else "?"
    if not newly:
        print(f"REFUSED {coupon.code}: already redeemed {when}")
        return 1
    print(f"REDEEMED {coupon.tier} coupon {coupon.code} at {when}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["drill"]:
        from drill import main as drill_main  # late: it starts providers and participants

        return drill_main(argv[1:])
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


if __name__ == "__main__":
    sys.exit(main())
