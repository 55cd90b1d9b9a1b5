"""The data directory: one agent at a time, and nothing in it readable by other local users.

Coupon codes are bearer tokens and the seed is the agent's identity, so DATA_DIR
is kept 0700 and every file in it 0600 (fixed at start when we own them). A
second agent on the same DATA_DIR would be a second writer of one ledger and
overwrite `agent.json`: an advisory lock (`agent.lock`, held while the agent
runs, released by the kernel if it dies) makes the second one refuse to start.
Replicas on one PostgreSQL ledger (LEDGER_URL) may share a DATA_DIR: the
ledger is not in it, `agent.json` lists every replica's endpoint, and the lock
is per port (`agent-<port>.lock`), keeping only a second agent off one port.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from pathlib import Path

LOCK_NAME = "agent.lock"
# Secret files are refused, not fixed, when others can read them (config/secret_files.py):
# a seed that was readable may already be in someone else's hands.
SECRET_FILES = {"agent_seed", "coupon_secret", "chat_seed"}


class DataDirError(Exception):
    """DATA_DIR cannot be used; the message says why in one line."""


def lock_name(shared_ledger: bool, port: int) -> str:
    """`agent.lock`; `agent-<port>.lock` for a replica of a shared (PostgreSQL) ledger."""
    return f"agent-{port}.lock" if shared_ledger else LOCK_NAME


def write_agent_info(path: Path, info: dict[str, object]) -> None:
    """Write agent.json whole or not at all (a sender reading it never sees half a file)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(info))
    os.replace(partial, path)


def endpoints_in(info: dict[str, object]) -> list[str]:
    """agent.json's endpoints, the active replica first (a single agent lists one: `endpoint`)."""
    return [str(e) for e in info.get("endpoints") or [info["endpoint"]]]  # type: ignore[union-attr]


def listed_endpoints(path: Path) -> list[str]:
    """The endpoints agent.json lists now (none if it is missing or unreadable)."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, KeyError):
        return endpoints_in(json.loads(path.read_text()))
    return []


class DataDirLock:
    def __init__(self, data_dir: Path, name: str = LOCK_NAME) -> None:
        self.path = data_dir / name
        self._fd: int | None = None

    def acquire(self, **facts: object) -> None:
        """Hold the lock for this process, or raise DataDirError naming the agent that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirError(
                f"another agent is already running on {self.path.parent} ({holder(self.path)})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), **facts}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def holder(lock_path: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        facts = json.loads(lock_path.read_text())
        return ", ".join(f"{k} {v}" for k, v in facts.items())
    return "pid unknown"


def is_locked(data_dir: Path, name: str = LOCK_NAME) -> str | None:
    """Who holds DATA_DIR's lock (a running agent), or None. Takes nothing."""
    path = data_dir / name
    if not path.exists():
        return None
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return holder(path)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


GITIGNORE = "# Written by the Pizza Agent: its seed, coupon secret, ledger and exports never belong in git.\n*\n"


def keep_out_of_git(data_dir: Path) -> None:
    """A DATA_DIR inside a checkout holds secrets and full addresses: git ignores all of it."""
    marker = data_dir / ".gitignore"
    if not marker.exists():
        with contextlib.suppress(OSError):
            marker.write_text(GITIGNORE)


def prepare(data_dir: Path) -> list[str]:
    """Create DATA_DIR 0700 if missing and make it and its files owner-only; returns what was fixed.

    Raises DataDirError when it cannot be written or a file cannot be fixed.
    """
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"DATA_DIR {data_dir} cannot be created: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DataDirError(f"DATA_DIR {data_dir} is not writable by this user")
    keep_out_of_git(data_dir)
    fixed: list[str] = []
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.is_symlink() or path.name in SECRET_FILES:
            continue
        wanted = 0o700 if path.is_dir() else 0o600
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            try:
                path.chmod(mode & ~0o077 | (wanted & 0o700))
            except OSError as exc:
                raise DataDirError(f"{path} is readable by other users and cannot be fixed: {exc.strerror}") from None
            fixed.append(f"{path.name} {mode:o} → {stat.S_IMODE(path.stat().st_mode):o}")
    return fixed
