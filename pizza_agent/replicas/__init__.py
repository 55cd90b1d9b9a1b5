"""Several replicas on one PostgreSQL ledger: who is active (the lease), the organizer's switches
pushed to every replica (LISTEN/NOTIFY), and the providers' breakers handed over at a takeover.

Built on the ledger's database (its tables and URL), outside the ledger itself.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "breakers": ("Breaker",),
        "lease": (
            "ActiveLease",
            "name_in_use",
        ),
        "notifications": ("ControlsListener",),
    },
)
