"""The composition root and the command lines people run (`agent.py`, `chat.py`), with the agent's logging.

`composition.py` builds every component and registers every resource in start
order; `cli.py` and `chat_cli.py` are thin layers over it and the rooms.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "chat_cli": ("chat_main",),
        "cli": ("main",),
        "dependencies": ("missing",),
    },
)
