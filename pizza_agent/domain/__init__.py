"""The event's vocabulary: tiers, scores, the reply type, the participant-facing words and the reading of a message.

Every other room speaks these words; this room imports nothing of ours, so the
ledger can name a tier without knowing that a model exists.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "codes": (
            "ALPHABET",
            "CODE_PATTERN",
            "PART_LENGTH",
            "TIER_WORDS",
        ),
        "content": (
            "StaticContent",
            "StaticContentError",
            "TextReading",
            "WORDING_MESSAGES",
        ),
        "identity": (
            "Chat",
            "CouponOwner",
            "NO_CHAT",
            "attendee_key",
            "attendee_person",
            "owner_of",
        ),
        "languages": (
            "BASE_LANGUAGE",
            "LANGUAGE_CODE",
            "LanguagePack",
            "current_language",
            "speaking",
        ),
        "reply": (
            "Reply",
            "after_line",
            "sender_id",
            "CardSpec",
        ),
        "scores": (
            "Intent",
            "IntentKind",
            "StoryScore",
        ),
        "spreadsheet": ("safe_row",),
        "text": ("clean_text", "SENTENCE_END"),
        "tiers": (
            "TIERS",
            "capped",
            "tier_for",
        ),
    },
)
