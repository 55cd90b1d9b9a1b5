"""Who a coupon is for, and where its messages go: one person, one chat, one coupon per person and meal.

Every room uses these three words the same way (docs/architecture.md, "One identity"):

- A **person** is who eats: the canonical sender address in address mode, or `attendee:<key>` (an
  attendee of the registration list) in roster mode. "One coupon per person and meal" is the
  ledger's UNIQUE (person, meal); nothing builds or splits a string of the two.
- A **chat** is where a conversation happens: the sender address and the chat session it came in.
  One platform address may carry many people in many chats; one person may write from several.
- A **coupon** belongs to a person for a meal and remembers the chat it was issued in. Its code is
  repeated only in that chat (or after the person proves who they are), and every later message
  about it (an approval, an upgrade, a void) goes back to that chat.

The meal is the plan's meal id; an event without a plan has one meal, "".
"""

from __future__ import annotations

from dataclasses import dataclass

ATTENDEE_PREFIX = "attendee:"


@dataclass(frozen=True)
class Chat:
    """A conversation: the sender address (authenticated by the envelope) and its chat session ("" unknown)."""

    sender: str
    session: str = ""


NO_CHAT = Chat("")  # a coupon from before chats were kept (or made outside one): nowhere to send a message


@dataclass(frozen=True)
class CouponOwner:
    """Whose coupon, for which meal: the key "one per person and meal" is kept under."""

    person: str
    meal: str = ""


def owner_of(owner: CouponOwner | str) -> CouponOwner:
    """A person alone stands for their coupon of an event without a plan (one meal, "")."""
    return owner if isinstance(owner, CouponOwner) else CouponOwner(owner)


def is_attendee(person: str) -> bool:
    return person.startswith(ATTENDEE_PREFIX)


def attendee_person(key: str) -> str:
    """The person of a roster attendee."""
    return f"{ATTENDEE_PREFIX}{key}"


def attendee_key(person: str) -> str | None:
    """The attendee key of a roster person; None for an address-mode person."""
    return person[len(ATTENDEE_PREFIX) :] if is_attendee(person) else None
