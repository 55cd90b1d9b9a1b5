"""The chat transport: ChatMessages in, conversation calls, replies (with a coupon's QR) out.

`chat_handlers.py` turns each message into one `Conversation.handle` call and
the reply into chat content; `handled.py` makes a message id handled once,
across restarts and replicas. Everything else about the agent is built by
the composition root (app/composition.py).
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "chat_handlers": (
            "HandledListener",
            "build_chat_protocol",
        ),
        "handled": ("HandledMessages",),
    },
)
