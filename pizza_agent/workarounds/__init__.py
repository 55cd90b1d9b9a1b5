"""Every workaround for a uagents 0.26.1 defect, in one room, each reproduced by a test.

The only room that touches uagents' private attributes; docs/framework-defects.md
lists each defect, its reproduction, the workaround and the test.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "agent_factory": (
            "build_uagent",
            "close_framework_clients",
            "close_inspector_connect",
            "fast_mailbox",
            "send_in_chat",
            "serve_only_while",
        ),
        "fast_crypto": ("use_libsecp256k1",),
        "mailbox": (
            "connect_mailbox",
            "keep_local_server",
            "prepare_agentverse",
        ),
        "uagents_compat": (
            "MessageIdGuard",
            "REPLAY_TTL_SECONDS",
            "register_local_peer",
        ),
    },
)
