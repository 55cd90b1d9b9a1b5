"""Is every package the agent needs installed? Read from what it declares, before importing any of them.

The list is requirements.txt in a checkout, or the installed package's own metadata
(the same list, `pyproject.toml` reads it from requirements.txt). Each requirement
is looked up with importlib.metadata, which imports nothing: so a missing package is
one line each, never a traceback from the first module that happens to import it.
Only the standard library is imported here, for the same reason.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
# `name[extras]==version ; marker`: the only form requirements.txt uses (hand-parsed: `packaging`
# is not one of our requirements, and this must work when requirements are missing).
_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s;#]+))?")


def declared() -> list[tuple[str, str | None]]:
    """(distribution, pinned version or None) for every requirement."""
    if REQUIREMENTS.is_file():
        lines = REQUIREMENTS.read_text().splitlines()
    else:
        try:
            lines = metadata.requires("pizza-agent") or []
        except metadata.PackageNotFoundError:
            return []
    found = []
    for line in lines:
        line = line.split("#", 1)[0]
        match = _LINE.match(line)
        if match and "extra ==" not in line:
            found.append((match.group(1), match.group(2)))
    return found


def problems() -> list[str]:
    """One line per requirement not installed; a version other than the pin is said too."""
    lines = []
    for name, pinned in declared():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            pin = f" {pinned}" if pinned else ""
            lines.append(f"error: {name}{pin} is not installed: run `make setup` (or pip install -r requirements.txt)")
            continue
        if pinned and installed != pinned:
            lines.append(f"warning: {name} {installed} is installed, requirements.txt pins {pinned}")
    return lines


def missing() -> list[str]:
    return [line for line in problems() if line.startswith("error:")]
