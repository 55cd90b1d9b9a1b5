"""Rehearsal tools: the misbehaving provider, the outage drill, the stand-ins, the agent-subprocess helper.

They exercise the agent from outside; nothing that runs at the event imports them.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "drill": ("main",),
    },
)
