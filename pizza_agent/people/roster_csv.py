"""A registration export read into attendees: Luma, Eventbrite, Devpost, a Google Form, a hand-made sheet.

Headers are recognised case-insensitively in the wordings those tools use; `--map
column=field` overrides. A file is read whole before anything is imported, and a
file with a problem imports nothing: the error names the line and the reason.
What is kept of a row is what the event needs: a display name (first name and
last initial, as on the badge) and a stable key, a keyed hash of the attendee's
id or e-mail, so that importing a later export adds only the new people. The
e-mail address is read to make that key (and for `roster codes --from`) and is
never stored.

Read too, when the export has them: the answer to the diet question (mapped onto the
plan's diets by the importer), the registration or approval status (declined, waitlisted,
cancelled, rejected and not-approved rows are skipped by default and counted), and a role
(attendee, mentor, volunteer, sponsor, staff, judge: a meal's `roles` eat without a story).
The same name under two ids or e-mails is imported twice and reported as a possible
duplicate (`roster merge` joins them).

Accepted as the tools write them: a UTF-8 BOM, `;` or tab separators (some
locales), quoted fields with newlines in them, rows repeated word for word
(merged). Refused: text that is not UTF-8, a quote never closed, a row with more
or fewer fields than the header, a row with no name, one id given to two
different names, more than MAX_ROWS rows.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_ROWS = 50_000
MAX_NAME_CHARS = 120
FIELDS = ("name", "first_name", "last_name", "email", "id", "order_id", "diet", "status", "role")

# Header wordings of the common tools, compared lower-cased with `_`, `#` and extra spaces folded.
HEADERS: dict[str, set[str]] = {
    "name": {"name", "full name", "fullname", "attendee name", "participant name", "your name", "guest name"},
    "first_name": {"first name", "firstname", "given name", "forename", "attendee first name", "first"},
    "last_name": {"last name", "lastname", "surname", "family name", "attendee last name", "last"},
    "email": {"email", "e mail", "email address", "e mail address", "attendee email", "mail", "your email"},
    "id": {
        "id",
        "api id",
        "attendee id",
        "attendee",
        "attendee number",
        "ticket id",
        "ticket",
        "ticket number",
        "ticket code",
        "registration id",
        "guest id",
        "barcode",
        "qr code",
    },
    "order_id": {"order id", "order", "order number"},
    "diet": {
        "diet",
        "diets",
        "dietary",
        "dietary restrictions",
        "dietary restriction",
        "dietary requirements",
        "dietary requirement",
        "dietary needs",
        "dietary preferences",
        "dietary restrictions allergies",
        "dietary restrictions and allergies",
        "allergies",
        "food allergies",
        "allergies dietary restrictions",
        "food preferences",
    },
    "status": {
        "status",
        "approval status",
        "registration status",
        "attendee status",
        "ticket status",
        "rsvp status",
        "rsvp",
    },
    "role": {"role", "attendee role", "participant type", "attendee type", "ticket type", "ticket name", "type"},
}
# Registration statuses of people who will not be at the event (compared folded: lower case, words).
NOT_ATTENDING = {
    "declined",
    "rejected",
    "cancelled",
    "canceled",
    "waitlist",
    "waitlisted",
    "wait list",
    "waiting list",
    "pending",
    "pending approval",
    "not approved",
    "unapproved",
    "not attending",
    "refunded",
    "deleted",
    "removed",
    "invited",
}
ROLE_WORDS = ("mentor", "volunteer", "sponsor", "staff", "judge", "organizer", "organiser")


class RosterFileError(ValueError):
    """One line: where in the file and why nothing was imported."""


@dataclass(frozen=True)
class Registrant:
    line: int
    identity: str  # what makes the attendee key: "id:…", "email:…", "order:…|name" or "name:…"
    display_name: str
    full_name: str
    email: str = field(default="", repr=False)  # in memory only (a mail merge), never stored
    diet: str = ""  # the registration's answer, as typed (mapped onto the plan's diets by the importer)
    status: str = ""  # the registration's status, folded ("" when the export has none)
    role: str = "attendee"


@dataclass
class RosterFile:
    registrants: list[Registrant]
    columns: dict[str, str]  # field -> the header it was read from
    merged_duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # status -> rows not imported (not attending)
    not_attending: list[Registrant] = field(default_factory=list)  # those rows (one may be on the roster already)
    possible_duplicates: list[tuple[Registrant, Registrant]] = field(default_factory=list)


def attending(status: str) -> bool:
    """Whether a registration status means the person may attend (an empty status does)."""
    return _fold(status).replace("_", " ") not in NOT_ATTENDING


def role_of(text: str) -> str:
    """A role from a role or ticket-type cell: "Mentor ticket" -> mentor; anything else is an attendee."""
    folded = _fold(text)
    for word in ROLE_WORDS:
        if re.search(rf"\b{word}s?\b", folded):
            return "staff" if word in ("organizer", "organiser") else word
    return "attendee"


def _fold(header: str) -> str:
    header = header.replace("\ufeff", "").replace("_", " ").replace("-", " ").replace("#", " number ")
    return re.sub(r"\s+", " ", header).strip().lower().replace("number number", "number")


def _clean(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    value = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in value)
    return re.sub(r"\s+", " ", value).strip()


def display_name(full: str, first: str = "", last: str = "") -> str:
    """The name on the badge, in its natural order: first name and last initial ("Ada L."); a name in a
    script written family name first (Chinese, Japanese, Korean) whole, family name first ("李雷");
    a single name as it is."""
    first, last = first.strip(), last.strip()
    if _family_first(first + last + full):
        return (f"{last}{first}" if first and last else full.replace(" ", ""))[:40]
    if not first:
        parts = full.split()
        first, last = (parts[0], parts[-1]) if len(parts) > 1 else (full, "")
    name = f"{first} {last[0]}." if last else first
    return name[:40]


def _family_first(text: str) -> bool:
    """Han, kana or Hangul letters: names written family name first, without initials."""
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def _decode(data: bytes) -> str:
    if not data.strip():
        raise RosterFileError("the file is empty: nothing imported")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise RosterFileError(f"line {line}: a NUL byte: this is not a CSV text file (nothing imported)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterFileError(
            f"line {line}: not UTF-8 (byte 0x{data[exc.start]:02X}): save the export as 'CSV UTF-8' "
            "and import it again (nothing imported)"
        ) from None


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def _columns(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    folded = [_fold(h) for h in header]
    found: dict[str, int] = {}
    for name, words in HEADERS.items():
        for index, h in enumerate(folded):
            if h in words and name not in found:
                found[name] = index
    for column, name in mapping.items():
        if name not in FIELDS:
            raise RosterFileError(f"--map {column}={name}: the field must be one of {', '.join(FIELDS)}")
        if _fold(column) not in folded:
            raise RosterFileError(f"--map {column}={name}: the header has no column {column!r} (line 1)")
        found[name] = folded.index(_fold(column))
    if "name" not in found and "first_name" not in found:
        shown = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise RosterFileError(
            f"line 1: no name column (the columns are: {shown}); name one with --map COLUMN=name (nothing imported)"
        )
    return found


def read_roster(
    data: bytes, mapping: Mapping[str, str] | None = None, include: frozenset[str] = frozenset()
) -> RosterFile:
    """Every registrant of an export who may attend, or RosterFileError (one line) and nothing.

    `include`: statuses to import although they mean "not attending" ("all": every row)."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        header = next(reader)
        columns = _columns(header, mapping or {})
        registrants, merged = _rows(reader, header, columns)
    except csv.Error as exc:
        raise RosterFileError(f"line {reader.line_num}: {exc} (a quote never closed?): nothing imported") from None
    kept, skipped, away = [], {}, []
    for registrant in registrants:
        status = registrant.status
        if attending(status) or "all" in include or status in include:
            kept.append(registrant)
        else:
            skipped[status] = skipped.get(status, 0) + 1
            away.append(registrant)
    if not kept:
        raise RosterFileError("the file has a header and no attendee: nothing imported")
    found = RosterFile(kept, {name: header[i].strip() for name, i in columns.items()}, merged, skipped, away)
    found.possible_duplicates = _same_names(kept)
    return found


def _same_names(registrants: list[Registrant]) -> list[tuple[Registrant, Registrant]]:
    """Pairs with the same full name under different ids or e-mails: one person registered twice?"""
    first: dict[str, Registrant] = {}
    pairs = []
    for registrant in registrants:
        key = " ".join(registrant.full_name.casefold().split())
        if key in first:
            pairs.append((first[key], registrant))
        else:
            first[key] = registrant
    return pairs


def _rows(reader: csv._reader, header: list[str], columns: dict[str, int]) -> tuple[list[Registrant], int]:
    registrants: dict[str, Registrant] = {}
    merged = 0
    previous_end = reader.line_num
    for row in reader:
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise RosterFileError(
                f"line {line}: {len(row)} fields where the header has {len(header)}: nothing imported"
            )
        if len(registrants) >= MAX_ROWS:
            raise RosterFileError(f"line {line}: more than {MAX_ROWS} attendees: split the file (nothing imported)")
        registrant = _registrant(line, row, columns)
        same = registrants.get(registrant.identity)
        if same is None:
            registrants[registrant.identity] = registrant
        elif same.full_name.casefold() == registrant.full_name.casefold():
            merged += 1  # the same row twice, as exports sometimes have it
        else:
            raise RosterFileError(
                f"line {line}: the same id or e-mail as line {same.line} with another name "
                f"({registrant.full_name!r} and {same.full_name!r}): fix the file (nothing imported)"
            )
    return list(registrants.values()), merged


def _registrant(line: int, row: list[str], columns: dict[str, int]) -> Registrant:
    def cell(name: str) -> str:
        return _clean(row[columns[name]]) if name in columns else ""

    first, last = cell("first_name"), cell("last_name")
    full = cell("name") or f"{first} {last}".strip()
    if not full:
        raise RosterFileError(f"line {line}: no name: every attendee needs one (nothing imported)")
    if len(full) > MAX_NAME_CHARS:
        raise RosterFileError(
            f"line {line}: a name of {len(full)} characters (at most {MAX_NAME_CHARS}): nothing imported"
        )
    email = cell("email").lower()
    if cell("id"):
        identity = "id:" + cell("id")
    elif email:
        identity = "email:" + email
    elif cell("order_id"):  # an order may hold several tickets: the order and the name together
        identity = f"order:{cell('order_id')}|{full.casefold()}"
    else:
        identity = "name:" + full.casefold()
    status = _fold(cell("status")).replace("_", " ")
    role = role_of(cell("role")) if "role" in columns else "attendee"
    return Registrant(line, identity, display_name(full, first, last), full, email, cell("diet"), status, role)
