"""The participant's side of the chat protocol on loopback: signed envelopes out, replies in.

`chat.py` (an organizer's or participant's terminal), the tests and the drill
talk to a real agent through it, exactly as another uAgents agent would.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "card_text": ("card_text", "cards_of", "chosen", "remember"),
        "chat_client": (
            "ACK_DIGEST",
            "AgentRef",
            "CHAT_DIGEST",
            "ChatClient",
            "ChatSession",
            "PROTOCOL_DIGEST",
            "Participant",
            "sign_envelope",
        ),
    },
)
