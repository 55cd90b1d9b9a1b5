"""A registration export imported by the real command line: the rehearsals' roster.

The tests and the meals drill need attendees the way an organizer makes them (`agent.py roster
import FILE`) and the claim codes printed on their badges. The codes are derived from the coupon
secret the same way the agent derives them, so nothing here reads what a participant could not
be handed on paper.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from pizza_agent.config.secret_files import read_secret
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.people.claim_codes import ClaimCodes
from pizza_agent.rehearsal.agent_process import base_env


def import_roster(data: Path, names: list[str], **env: str) -> dict[str, str]:
    """Import `names` as a registration export (api_id, name); their badges' claim codes, by display name.

    `env`: the agent's settings that decide where the ledger is (LEDGER_URL, COUPON_SECRET for replicas).
    """
    data.mkdir(parents=True, exist_ok=True)
    registrations = data.parent / "registrations.csv"
    with registrations.open("w", newline="") as out:  # any name: quoted as a registration export quotes it
        writer = csv.writer(out)
        writer.writerow(["api_id", "name"])
        writer.writerows([f"id-{n}", name] for n, name in enumerate(names))
    return import_export(data, registrations, **env)[1]


def import_export(data: Path, export: Path, *args: str, **env: str) -> tuple[str, dict[str, str]]:
    """`agent.py roster import EXPORT ARGS…` as an organizer runs it: (what it printed, claim codes by name).

    `env`: the agent's settings (EVENT_PLAN, for the diets; LEDGER_URL, COUPON_SECRET, AGENT_SEED)."""
    data.mkdir(parents=True, exist_ok=True)
    imported = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "roster", "import", str(export), *args],
        env=base_env(data, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if imported.returncode != 0:
        raise RuntimeError(f"roster import failed: {imported.stderr}")
    secret = env.get("COUPON_SECRET") or read_secret(data / "coupon_secret") or ""
    codes = ClaimCodes.from_signer(CouponSigner(secret))
    ledger = Ledger(env.get("LEDGER_URL") or data / "ledger.sqlite3")
    try:
        return imported.stdout, {a.display_name: codes.code_for(a.key, a.generation) for a in ledger.roster.everyone()}
    finally:
        ledger.close()
