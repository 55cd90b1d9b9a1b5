"""The organizer's dashboard, the food-table page and /metrics, served by the agent process."""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "qr": ("qr_data_uri",),
        "server": ("WebApp",),
    },
)
