"""`python agent.py roster …`: the registration roster from the command line.

    roster import FILE.csv [--map COLUMN=FIELD ...] [--include-status STATUS ...]
                                                       add the attendees of a registration export
    roster merge KEEP DROP                             one person registered twice: DROP joins KEEP
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

from uagents_core.identity import Identity

from pizza_agent.config.data_dir import prepare as prepare_data_dir
from pizza_agent.config.settings import Settings
from pizza_agent.domain.identity import attendee_person
from pizza_agent.event.meals import meals_for
from pizza_agent.event.runtime import Runtime, open_runtime
from pizza_agent.ledger.redemption import when
from pizza_agent.people.badges import Badge, agent_link, badge_page, write_codes_csv, write_private
from pizza_agent.people.claim_codes import ClaimCodes
from pizza_agent.people.roster_csv import FIELDS, Registrant, RosterFile, RosterFileError, display_name, read_roster
from pizza_agent.plan.diet_words import match_diet

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
    sub = parser.add_subparsers(dest="action", required=True, metavar="{import,list,add,remove,merge,badges,codes}")
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
    imp.add_argument(
        "--include-status",
        action="append",
        default=[],
        metavar="STATUS",
        help="also import rows with this registration status (declined, waitlist, pending_approval, …; 'all': "
        "every row); by default only people who may attend are imported",
    )
    sub.add_parser("list", help="every attendee: key, name, role, diet, claimed, coupon")
    merge = sub.add_parser(
        "merge", help="one person registered twice: DROP's badge dies, its chats and coupons join KEEP"
    )
    merge.add_argument("keep", help="the attendee key to keep (roster list)")
    merge.add_argument("drop", help="the attendee key that joins it")
    add = sub.add_parser("add", help="add one attendee by hand")
    add.add_argument("name", nargs="+")
    remove = sub.add_parser("remove", help="take an attendee off the roster (their claim code dies)")
    remove.add_argument("id", help="the attendee key (roster list)")
    badges = sub.add_parser("badges", help="a print-ready page of badge labels")
    badges.add_argument("--out", type=Path, required=True)
    badges.add_argument(
        "--reach",
        help="what each label says to send the code to (default: AGENT_HANDLE on ASI:One, else AGENT_NAME); the "
        "sheet also carries the agent's Agentverse link as a QR code",
    )
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


def _read(path: Path, mapping: dict[str, str], include: frozenset[str] = frozenset()) -> RosterFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterFileError(f"cannot read the file: {exc.strerror}") from None
    return read_roster(data, mapping, include)


def _import(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    include = frozenset(status.strip().lower().replace("_", " ") for status in args.include_status)
    roster = _read(args.file, _mapping(args.map), include)
    keys = {r.line: codes.keyed(r.identity) for r in roster.registrants}
    known = {a.display_name: a.key for a in runtime.ledger.roster.everyone()}
    people = [(keys[r.line], r.display_name) for r in roster.registrants]
    roles = {keys[r.line]: r.role for r in roster.registrants if "role" in roster.columns}
    added = runtime.ledger.roster.add_many(people, codes.hash_for, roles=roles)
    columns = ", ".join(f"{name}={header!r}" for name, header in roster.columns.items())
    merged = f", {roster.merged_duplicates} repeated row(s) merged" if roster.merged_duplicates else ""
    print(
        f"imported {added} new attendee(s) from {args.file.name} ({len(people) - added} already on the roster"
        f"{merged}); columns read: {columns}"
    )
    for status, rows in sorted(roster.skipped.items()):
        print(f"skipped {rows} row(s) with status {status!r} (not attending; --include-status {status!r} imports them)")
    _report_duplicates(runtime, roster, keys, known)
    for registrant in roster.not_attending:  # a later export says someone imported before will not come
        key = codes.keyed(registrant.identity)
        attendee = runtime.ledger.roster.get(key)
        if attendee is not None and attendee.removed_at is None:
            print(
                f"line {registrant.line}: {attendee.display_name} (attendee {key}) is on the roster but now "
                f"{registrant.status!r} in this export: python agent.py roster remove {key} takes them off"
            )
    if "diet" in roster.columns:
        _import_diets(runtime, roster.registrants, keys)
    counted = {
        role: sum(1 for r in roster.registrants if r.role == role) for role in {r.role for r in roster.registrants}
    }
    if "role" in roster.columns:
        print("roles: " + ", ".join(f"{n} {role}" for role, n in sorted(counted.items())))
    print("next: python agent.py roster badges --out badges.html (and PARTICIPANTS=roster in .env)")
    return 0


def _report_duplicates(runtime: Runtime, roster: RosterFile, keys: dict[int, str], known: dict[str, str]) -> None:
    """The same name under two ids or e-mails: imported twice, and said, so an organizer can merge them
    (a pair already merged, or one of them removed, is not said again)."""
    gone = {a.key for a in runtime.ledger.roster.everyone(removed=True) if a.removed_at is not None}
    for first, second in roster.possible_duplicates:
        if keys[first.line] in gone or keys[second.line] in gone:
            continue
        print(
            f"possible duplicate: line {first.line} and line {second.line} are both {second.full_name!r} with another "
            f"id or e-mail (attendees {keys[first.line]} and {keys[second.line]}); if they are one person: "
            f"python agent.py roster merge {keys[first.line]} {keys[second.line]}"
        )
    for registrant in roster.registrants:
        other = known.get(registrant.display_name)
        if other is not None and other != keys[registrant.line]:
            print(
                f"possible duplicate: line {registrant.line} ({registrant.display_name}) has the name of attendee "
                f"{other} already on the roster; if they are one person: python agent.py roster merge {other} "
                f"{keys[registrant.line]}"
            )


def _import_diets(runtime: Runtime, registrants: list[Registrant], keys: dict[int, str]) -> None:
    """The registration's diet answers mapped onto the plan's diets; what could not be mapped, line by line.
    A diet the person already told in chat is kept (it is newer than the registration)."""
    meals = meals_for(runtime.settings)
    offered, combine = meals.plan.diets, meals.plan.combine_diets
    if not offered:
        print("diets: the plan lists none (EVENT_PLAN [event] diets): the diet column was not read")
        return
    state, at = runtime.ledger.state, meals.clock.timestamp()
    mapped, kept, unmapped = 0, 0, 0
    for registrant in registrants:
        match = match_diet(registrant.diet, offered, combine=combine)
        person = attendee_person(keys[registrant.line])
        if match.note:
            shown = f"{match.diet} ({match.note})" if match.diet else f"left unset ({match.note})"
            print(f"line {registrant.line}: diet {registrant.diet!r} -> {shown}")
        if match.diet is None:
            unmapped += bool(registrant.diet.strip())
            continue
        if state.diet_of(person) is not None:
            kept += 1
            continue
        state.set_diet(person, match.diet, at)
        mapped += 1
    said = sum(1 for r in registrants if r.diet.strip())
    print(
        f"diets: {mapped} set from the registration, {kept} already on record (kept), {unmapped} not mapped, "
        f"{len(registrants) - said} not said (they are asked in chat)"
    )


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
        diet = runtime.ledger.state.diet_of(attendee.participant) or "diet not said"
        print(f"{attendee.key}  {attendee.display_name:<24}  {attendee.role:<9}  {diet:<18}  {state:<32}  {held}")
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


def _merge(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    roster = runtime.ledger.roster
    keep, drop = roster.get(args.keep), roster.get(args.drop)
    for key, attendee in ((args.keep, keep), (args.drop, drop)):
        if attendee is None or attendee.removed_at is not None:
            print(f"no attendee {key!r} on the roster (roster list shows the keys)", file=sys.stderr)
            return 2
    if args.keep == args.drop:
        print("merge needs two different attendees", file=sys.stderr)
        return 2
    assert keep is not None and drop is not None
    done = roster.merge(args.keep, args.drop)
    print(
        f"merged {drop.display_name} (attendee {drop.key}) into {keep.display_name} (attendee {keep.key}): "
        f"{drop.key}'s badge code no longer works; {done['moved']} coupon(s) moved, {done['voided']} voided "
        "(a second coupon for a meal already held)"
    )
    return 0


def _badges_of(runtime: Runtime, codes: ClaimCodes) -> list[Badge]:
    return [Badge(a.key, a.display_name, codes.code_for(a.key, a.generation)) for a in runtime.ledger.roster.everyone()]


def _badges(args: argparse.Namespace, runtime: Runtime, codes: ClaimCodes) -> int:
    badges = _badges_of(runtime, codes)
    address = Identity.from_seed(runtime.seed, 0).address
    handle = runtime.settings.agent_handle
    reach = args.reach or (f"@{handle.lstrip('@')} on ASI:One" if handle else runtime.settings.agent_name)
    write_private(args.out, badge_page(badges, runtime.settings.agent_name, reach=reach, link=agent_link(address)))
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
    "merge": _merge,
    "badges": _badges,
    "codes": _codes,
}
