"""People, not addresses: the registration roster, badge claim codes, and whose message this is.

- `claim_codes.py`: the code on each badge, derived with a key from COUPON_SECRET (never stored in clear).
- `roster_csv.py`: a registration export (Luma, Eventbrite, Devpost, a form) read into attendees.
- `identity.py`: which attendee a message belongs to (claim code, chat session, sender).
- `badges.py`: the print-ready badge page and the codes CSV for a mail merge.
- `languages.py`: which of the event's languages a participant's message is in (no model).
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "badges": (
            "Badge",
            "badge_page",
            "write_codes_csv",
            "write_private",
            "agent_link",
        ),
        "claim_codes": (
            "ClaimCodes",
            "find_candidates",
        ),
        "identity": (
            "Identified",
            "People",
            "SHARED_SENDER_SESSIONS",
            "SignIn",
        ),
        "languages": (
            "LanguageCommand",
            "LanguageDetector",
            "parse_lang_command",
        ),
        "roster_csv": (
            "FIELDS",
            "RosterFileError",
            "display_name",
            "read_roster",
            "Registrant",
            "RosterFile",
            "attending",
            "role_of",
        ),
        "sign_in": (
            "ASKED_FOR_PIZZA",
            "FrontDoor",
        ),
    },
)
