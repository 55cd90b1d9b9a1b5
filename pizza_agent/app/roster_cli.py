"""`python agent.py roster …`: the registration roster from the command line.

    roster import FILE.csv [--map COLUMN=FIELD ...]   add the attendees of a registration export
    roster list                                        who is on it, who claimed, who has a coupon
    roster add NAME                                    one attendee by hand (a walk-in)
    roster remove ID                                   take an attendee off (their code dies)
    roster badges --out badges.html                    print-ready labels: name, QR, claim code
    roster codes --out codes.csv [--from FILE.csv]     the codes for a mail merge (e-mail from FILE)

It opens the same ledger as the agent (DATA_DIR, LEDGER_URL) and may run while
the agent runs. Claim codes come from COUPON_SECRET: the same secret prints the
same badges on any machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pizza_agent.config.data_dir import prepare as prepare_data_dir
from pizza_agent.config.settings import Settings
from pizza_agent.event.runtime import Runtime, open_runtime
from pizza_agent.ledger.redemption import when
from pizza_agent.people.badges import Badge, badge_page, write_codes_csv, write_private
from pizza_agent.people.claim_codes import ClaimCodes
from pizza_agent.people.roster_csv import FIELDS, RosterFileError, display_name, read_roster

EPILOG = (
    "exit codes: 0 done · 2 a problem (one line says which; an import with a problem imports nothing)\n"
    "example: python agent.py roster import registrations.csv --map 'Ticket #=id'"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent.py roster",
        description="The registration roster (PARTICIPANTS=roster): one coupon per attendee, claimed with the code "
        "on their badge.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="{import,list,add,remove,badges,codes}")
    imp = sub.add_parser("import", help="add the attendees of a registration export (CSV)")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help=f"read COLUMN as FIELD (one of {', '.join(FIELDS)}); headers are recognised without it for the "
        "common tools",
    )
    sub.add_parser("list", help="every attendee: key, name, claimed, coupon")
    add = sub.add_parser("add", help="add one attendee by hand")
    add.add_argument("name", nargs="+")
    remove = sub.add_parser("remove", help="take an attendee off the roster (their claim code dies)")
    remove.add_argument("id", help="the attendee key (roster list)")
    badges = sub.add_parser("badges", help="a print-ready page of badge labels")
    badges.add_argument("--out", type=Path, required=True)
    codes = sub.add_parser("codes", help="the claim codes as CSV, for a mail merge")
    codes.add_argument("--out", type=Path, required=True)
    codes.add_argument("--from", dest="source", type=Path, help="the registration export, to add each e-mail")
    return parser


def main(argv: list[str], settings: Settings) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)
    prepare_data_dir(settings.data_dir)
    runtime = open_runtime(settings)
    try:
        codes = ClaimCodes.from_signer(runtime.signer)
        return ACTIONS[args.action](args, runtime, codes)
    except RosterFileError as exc:
        print(f"{getattr(args, 'file', '')}: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.ledger.close()


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip():
            raise RosterFileError(f"--map {pair}: write it as COLUMN=FIELD (for example 'Ticket #=id')")
        mapping[column.strip()] = field.strip()
    return mapping


def _read(path: Path, mapping: dict[str, str]):
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterFileError(f"cannot read the file: {exc.strerror}") from None
    return read_roster(data, mapping)


def _import(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    roster = _read(args.file, _mapping(args.map))
    people = [(codes.keyed(r.identity), r.display_name) for r in roster.registrants]
    added = runtime.ledger.roster.add_many(people, codes.hash_for)
    columns = ", ".join(f"{name}={header!r}" for name, header in roster.columns.items())
    merged = f", {roster.merged_duplicates} repeated row(s) merged" if roster.merged_duplicates else ""
    print(
        f"imported {added} new attendee(s) from {args.file.name} ({len(people) - added} already on the roster"
        f"{merged}); columns read: {columns}"
    )
    print("next: python agent.py roster badges --out badges.html (and PARTICIPANTS=roster in .env)")
    return 0


def _list(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    everyone = runtime.ledger.roster.everyone(removed=True)
    for attendee in everyone:
        coupons = runtime.ledger.coupons.coupons_of(attendee.participant)
        state = (
            "removed"
            if attendee.removed_at
            else ("claimed " + when(attendee.claimed_at) if attendee.claimed_at else "not claimed")
        )
        held = (
            ", ".join(
                f"{c.tier} coupon" + (f" for {c.meal}" if c.meal else "") + (" (redeemed)" if c.redeemed_at else "")
                for c in coupons
            )
            or "no coupon"
        )
        print(f"{attendee.key}  {attendee.display_name:<24}  {state:<32}  {held}")
    counts = runtime.ledger.roster.counts()
    print(f"{counts['attendees']} attendee(s) on the roster, {counts['claimed']} claimed")
    return 0


def _add(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    name = display_name(" ".join(args.name))
    attendee = runtime.ledger.roster.add(name, codes.hash_for)
    print(f"added {attendee.display_name} (attendee {attendee.key}): claim code {codes.code_for(attendee.key, 1)}")
    return 0


def _remove(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    if runtime.ledger.roster.get(args.id) is None:
        print(f"no attendee {args.id!r} on the roster (roster list shows the keys)", file=sys.stderr)
        return 2
    attendee = runtime.ledger.roster.remove(args.id)
    assert attendee is not None
    print(f"removed {attendee.display_name} (attendee {attendee.key}): their claim code no longer works")
    return 0


def _badges_of(runtime: Runtime, codes: ClaimCodes) -> list[Badge]:
    return [Badge(a.key, a.display_name, codes.code_for(a.key, a.generation)) for a in runtime.ledger.roster.everyone()]


def _badges(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    badges = _badges_of(runtime, codes)
    write_private(args.out, badge_page(badges, runtime.settings.agent_name))
    print(f"wrote {len(badges)} badge(s) to {args.out}: open it in a browser and print on label sheets")
    return 0


def _codes(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    badges = _badges_of(runtime, codes)
    if args.source is not None:
        emails = {codes.keyed(r.identity): r.email for r in _read(args.source, {}).registrants}
        badges = [Badge(b.attendee, b.name, b.code, emails.get(b.attendee, "")) for b in badges]
    rows = write_codes_csv(args.out, badges)
    print(f"wrote {rows} claim code(s) to {args.out} (owner-only: they claim coupons)")
    return 0


ACTIONS = {
    "import": _import,
    "list": _list,
    "add": _add,
    "remove": _remove,
    "badges": _badges,
    "codes": _codes,
}
