"""What runs the event: the conversation (prompt, story → score → tier → coupon), organizer
commands, the per-sender rate limit, re-scoring, spend kept across restarts, and the runtime
(seed, signer, ledger) it all needs. Independent of uAgents.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "alerts": ("Alerts",),
        "commands": ("DASHBOARD_COMMANDS",),
        "controls": ("Controls",),
        "conversation": ("Conversation",),
        "cutoff_notice": ("CHECK_SECONDS", "CutoffNotices"),
        "forecast": ("Forecast", "forecast"),
        "front_desk": ("FrontDesk",),
        "judging": ("deliver_outbox",),
        "meals": (
            "Meals",
            "meals_for",
            "waiting_time",
        ),
        "organizer": ("Organizer",),
        "rate_limit": (
            "Admit",
            "SenderRateLimiter",
        ),
        "reply_times": ("ReplyTimes",),
        "rescore": ("Rescorer",),
        "runtime": (
            "Runtime",
            "open_existing_runtime",
            "open_runtime",
        ),
        "spend_book": (
            "SAVE_SECONDS",
            "SpendBook",
        ),
        "status": ("EventStatus",),
    },
)
