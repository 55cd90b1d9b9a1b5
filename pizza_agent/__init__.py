"""Pizza Agent: a resilient uAgents chat agent that trades short stories for pizza coupons.

One sub-package ("room") per job. `ROOMS` below is the one list of what each
room may import of ours: `tests/test_architecture.py` reads it (and fails on
an import it does not allow, on a cycle, and on a private uagents attribute
used outside `workarounds`), and checks docs/architecture.md's "may import"
column against it. Each room's own docstring says what the room owns.

The top-level `agent.py`, `chat.py`, `openai_functions.py` and `asi1_client.py`
are thin public faces over these rooms; nothing in the package imports them.
"""

__version__ = "0.4.0"

from collections.abc import Callable
from importlib import import_module

# room: the rooms of ours it may import. Nothing that runs at the event imports `rehearsal`.
# Everything that runs at the event: what the composition root (app) may wire together.
_EVENT = frozenset(
    {
        "config",
        "domain",
        "plan",
        "llm",
        "ledger",
        "replicas",
        "people",
        "event",
        "workarounds",
        "client",
        "web",
        "transport",
    }
)
ROOMS: dict[str, frozenset[str]] = {
    "config": frozenset(),
    "domain": frozenset(),
    "plan": frozenset({"domain"}),
    "llm": frozenset({"config", "domain"}),
    "ledger": frozenset({"config", "domain"}),
    "replicas": frozenset({"config", "domain", "ledger"}),
    "people": frozenset({"config", "domain", "ledger"}),
    "event": frozenset({"config", "domain", "plan", "llm", "ledger", "people"}),
    "workarounds": frozenset({"config"}),
    "client": frozenset({"config", "workarounds"}),
    "web": frozenset({"config", "domain", "plan", "llm", "ledger", "people", "event"}),
    "transport": frozenset({"domain", "event", "workarounds"}),
    "app": _EVENT,
    "rehearsal": _EVENT | {"app"},
}


def room_surface(package: str, surface: dict[str, tuple[str, ...]]) -> tuple[list[str], Callable[[str], object]]:
    """A room's surface: the names other rooms may import (module -> names), as `__all__` and a lazy
    `__getattr__` (PEP 562), so `from pizza_agent.ROOM import NAME` works without importing the whole
    room at start. `tests/test_room_surfaces.py` fails when a room imports another room's name that is
    not on its surface, or when a surface names something its module does not define."""
    where = {name: module for module, names in surface.items() for name in names}

    def lazy(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module == name:  # a whole module on the surface (e.g. a public face's functions)
            return import_module(f"{package}.{name}")
        return getattr(import_module(f"{package}.{module}"), name)

    return sorted(where), lazy
