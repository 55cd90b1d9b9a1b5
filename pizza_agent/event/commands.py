"""The organizer's command grammar: which words are commands, and when a message is one.

Only addresses in ORGANIZER_ADDRESSES may run them (organizer.py); anyone else gets a polite
refusal that reveals nothing. A participant's message that merely starts with a command word
("Pause. The oven hummed...") is not a command: for non-organizers only a bare command of a few
words is.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS = (
    "help",
    "status",
    "reset",
    "pause",
    "resume",
    "force",
    "reload",
    "lookup",
    "void",
    "export",
    "review",
    "approve",
    "reject",
    "reissue",
    "grant",
)
# A non-organizer's message is only taken for a command (and refused) when it is this short.
MAX_WORDS_OF_A_STRAY_COMMAND = 3
FORCE_LAYERS = ("openai", "asi1", "static")


@dataclass(frozen=True)
class Command:
    name: str
    args: str = ""


def parse_command(text: str, *, is_organizer: bool) -> Command | None:
    words = text.split()
    if not words:
        return None
    name = words[0].lower().lstrip("/")
    if name not in COMMANDS:
        return None
    if not is_organizer and len(words) > MAX_WORDS_OF_A_STRAY_COMMAND:
        return None  # a participant's sentence that starts with a command word
    return Command(name, text.split(None, 1)[1].strip() if len(words) > 1 else "")


# What the dashboard may run (the rest are chat-only or read-only).
DASHBOARD_COMMANDS = frozenset({"pause", "resume", "force", "reload", "void", "reset", "approve", "reject"})
