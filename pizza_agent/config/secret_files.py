"""Secrets generated on first start and kept in owner-only files in the data directory.

AGENT_SEED fixes the agent's address; COUPON_SECRET signs coupon codes. Either
may come from the environment; if not, it is generated once and kept so the
address and the codes stay valid across restarts. A file that others can read
is refused: whoever reads the seed can impersonate the agent.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


class SecretFileError(Exception):
    pass


def load_or_create_secret(path: Path, configured: str = "") -> str:
    if configured:
        return configured
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SecretFileError(f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")
        value = path.read_text().strip()
        if not value:
            raise SecretFileError(f"{path} is empty; delete it to generate a new one")
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def read_secret(path: Path) -> str | None:
    """An existing secret file's value (None if there is none); refused if others can read it."""
    if not path.exists():
        return None
    return load_or_create_secret(path)
