"""The language each participant is answered in: detected from their messages, remembered, or chosen.

The event lists its languages (`[event] languages` in the plan, else EVENT_LANGUAGES; the
first is the default). people/languages.py says which of them a message is in, or that it
cannot tell; this room remembers the answer per participant in the ledger (a restart or a
takeover by another replica keeps it) and applies the rules that need memory: an undecided
message keeps the participant's last language, and `lang CODE` is a choice that detection
does not overrule until the participant chooses again.
"""

from __future__ import annotations

import logging

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.languages import speaking
from pizza_agent.domain.reply import Reply, sender_id
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.people.languages import LanguageCommand, LanguageDetector
from pizza_agent.plan.model import Plan

log = logging.getLogger("pizza.languages")


def event_languages(settings: Settings, plan: Plan) -> list[str]:
    """The plan's [event] languages when it lists them, else EVENT_LANGUAGES."""
    return list(plan.languages) or list(settings.event_languages)


def chat_key(sender: str, session: str) -> str:
    """Whose language it is before a badge links a chat to a person: the chat's (one sender address, such
    as a platform's, may speak for many people, each in a chat of their own)."""
    return f"{sender}#{session}"


class SpokenLanguages:
    """`detect(text)` before identification; `resolve(keys, detected)` once the person is known."""

    def __init__(self, listed: list[str], ledger: LedgerWorker) -> None:
        self.listed = listed
        self.ledger = ledger
        self._detector: LanguageDetector | None = None

    def detector(self, content: StaticContent) -> LanguageDetector:
        """Built for the content in use (an organizer's `reload` may add a language file)."""
        if self._detector is None or self._detector.content is not content:
            self._detector = LanguageDetector(content, self.listed)
        return self._detector

    def default(self, content: StaticContent) -> str:
        return self.detector(content).default

    def detect(self, content: StaticContent, text: str) -> str | None:
        detector = self.detector(content)
        return None if len(detector.listed) == 1 else detector.detect(text)

    def of_text(self, content: StaticContent, text: str) -> str:
        """The language of `text` alone, else the default (for a reply that reads no ledger)."""
        return self.detect(content, text) or self.default(content)

    async def resolve(self, content: StaticContent, keys: tuple[str, ...], detected: str | None) -> str:
        """The language to answer `keys[0]` in: their choice, else this message's, else their last (or the
        last of their chat before a badge linked it to them, `keys[1]`), else the event's default."""
        detector = self.detector(content)
        if len(detector.listed) == 1:  # one language: nothing to remember (no ledger read or write per message)
            return detector.default
        person = keys[0]
        stored, stored_under = None, None
        for key in keys:
            stored = await self.ledger.read(lambda ledger, key=key: ledger.state.language_of(key))
            if stored is not None:
                stored_under = key
                break
        if stored is not None and stored[0] not in detector.listed:
            stored = None  # the organizer took that language off the list
        if stored is not None and stored[1]:
            return stored[0]
        if detected is None:
            return stored[0] if stored is not None else detector.default
        if stored is None or stored[0] != detected or stored_under != person:
            await self.ledger.write(lambda ledger: ledger.state.set_language(person, detected))
        return detected

    async def command(self, content: StaticContent, person: str, command: LanguageCommand) -> Reply:
        """`lang` lists the event's languages; `lang CODE` chooses one (and is answered in it)."""
        detector = self.detector(content)
        if command.code not in detector.listed:
            return Reply(content.message("lang_choices", languages=self.choices(content)), "lang_choices")
        await self.ledger.write(lambda ledger: ledger.state.set_language(person, command.code, chosen=True))
        log.info("language chosen sender=%s language=%s", sender_id(person), command.code)
        with speaking(command.code):  # answered in the language just chosen
            return Reply(content.message("lang_set", language=content.pack().name), "lang_set")

    def choices(self, content: StaticContent) -> str:
        listed = self.detector(content).listed
        return ", ".join(f"`{code}` ({content.pack(code).name})" for code in listed)
