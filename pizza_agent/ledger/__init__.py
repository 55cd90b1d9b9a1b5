"""The coupon ledger (exactly one coupon per participant, crash-safe) and signed coupon codes.

One connection (`database.py`, SQLite or PostgreSQL, migrations in `schema.py`)
shared by repositories that each own their tables (`coupons.py`,
`conversation_state.py`, `bookkeeping.py`, `controls.py`), held together by
`store.Ledger` and run off the event loop by `worker.LedgerWorker`.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "codes": (
            "CODE_PATTERN",
            "CouponSigner",
        ),
        "controls": ("CONTROLS_CHANNEL",),
        "conversation_state": ("UNCLAIMED_PREFIX",),
        "coupons": (
            "Coupon",
            "Issuance",
            "Issued",
            "export_csv",
            "exported",
            "write_export",
        ),
        "errors": (
            "LedgerBusy",
            "LedgerGone",
            "LedgerIdentityMismatch",
            "LedgerUnreachable",
        ),
        "postgres": ("server_facts",),
        "redemption": (
            "CodeCheck",
            "CodeState",
            "TableMeal",
            "check_code",
            "redeem_code",
            "when",
        ),
        "reviews": (
            "Notice",
            "PendingReview",
            "QueuePage",
            "Review",
            "ReviewDecision",
            "WaitingGroup",
        ),
        "roster": (
            "Attendee",
            "Claim",
        ),
        "schema": ("MIGRATIONS",),
        "store": ("Ledger",),
        "worker": ("LedgerWorker",),
    },
)
