"""Badges for the roster: a print-ready page of labels, and the codes as CSV for a mail merge.

Each label carries the attendee's display name, a QR code of their claim code
(the food table scans it to find their coupon) and the code in text, grouped
for typing. The page is plain HTML and CSS (A4 or Letter, 3 × 8 labels of
70 × 36 mm, the common sticker sheet); QR codes are inline SVG made by segno,
so the page needs no network and no image files.
"""

from __future__ import annotations

import csv
import html
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import segno

from pizza_agent.domain.spreadsheet import safe_row

CODES_COLUMNS = ("attendee", "name", "claim_code", "email")


@dataclass(frozen=True)
class Badge:
    attendee: str
    name: str
    code: str
    email: str = ""


STYLE = """
@page { size: auto; margin: 10mm; }
body { font-family: system-ui, sans-serif; margin: 0; }
h1 { font-size: 12pt; margin: 0 0 4mm; }
.sheet { display: grid; grid-template-columns: repeat(3, 70mm); grid-auto-rows: 36mm; gap: 0; }
.badge { box-sizing: border-box; border: 0.2mm dashed #bbb; padding: 3mm; display: flex; gap: 3mm;
         align-items: center; break-inside: avoid; overflow: hidden; }
.badge svg { width: 28mm; height: 28mm; flex: none; }
.name { font-size: 13pt; font-weight: 700; overflow-wrap: anywhere; }
.code { font-family: ui-monospace, monospace; font-size: 9.5pt; white-space: nowrap; margin-top: 2mm; }
.hint { font-size: 7pt; color: #555; margin-top: 1mm; }
.reach-name { white-space: nowrap; }
.reach { display: flex; gap: 4mm; align-items: center; margin: 0 0 4mm; font-size: 10pt; }
.reach svg { width: 24mm; height: 24mm; flex: none; }
.reach code { overflow-wrap: anywhere; }
@media print { h1 { display: none; } }
"""


def agent_link(address: str) -> str:
    """Where a phone finds the agent: its Agentverse profile (ASI:One opens a chat from it)."""
    return f"https://agentverse.ai/agents/details/{address}/profile"


def badge_page(badges: Iterable[Badge], event: str, *, reach: str = "the Pizza Agent", link: str = "") -> str:
    """Labels, and (above them, printed once per sheet) how to reach the agent: `link` as a QR code and text.
    `reach` is what each label says to send the code to (a handle, or the agent's name)."""
    labels = []
    for badge in badges:
        qr = segno.make_qr(badge.code, error="m").svg_inline(scale=4, border=2, omitsize=True)
        labels.append(
            f'<div class="badge" data-attendee="{html.escape(badge.attendee)}">{qr}<div>'
            f'<div class="name" dir="auto">{html.escape(badge.name)}</div>'
            f'<div class="code">{html.escape(badge.code)}</div>'
            f'<div class="hint">Send this code to <span class="reach-name">{html.escape(reach)}</span></div>'
            "</div></div>"
        )
    title = html.escape(f"{event}: badges")
    where = ""
    if link:
        qr = segno.make_qr(link, error="m").svg_inline(scale=3, border=2, omitsize=True)
        where = (
            f'<div class="reach">{qr}<div>Chat with {html.escape(reach)}: scan, or open '
            f'<a href="{html.escape(link)}"><code>{html.escape(link)}</code></a></div></div>'
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1><bdi>{title}</bdi> ({len(labels)})</h1>{where}"
        f'<div class="sheet">{"".join(labels)}</div></body></html>\n'
    )


def write_private(path: Path, text: str) -> None:
    """Owner-only (the codes claim coupons): created new, never over another file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        handle.write(text)


def write_codes_csv(path: Path, badges: Iterable[Badge]) -> int:
    """attendee, name, claim code (and e-mail, when read from the registration file) for a mail merge."""
    rows = list(badges)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CODES_COLUMNS)
        for badge in rows:
            writer.writerow(safe_row([badge.attendee, badge.name, badge.code, badge.email]))
    return len(rows)
