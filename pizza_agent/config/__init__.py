"""Configuration: settings read once from the environment and `.env`, secret files kept 0600."""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "addresses": ("canonical_agent_address",),
        "data_dir": (
            "DataDirError",
            "DataDirLock",
            "endpoints_in",
            "is_locked",
            "listed_endpoints",
            "lock_name",
            "prepare",
            "write_agent_info",
        ),
        "secret_files": (
            "SecretFileError",
            "load_or_create_secret",
            "read_secret",
        ),
        "settings": (
            "AgentMode",
            "ConfigError",
            "PROJECT_DIR",
            "Settings",
            "default_static_content",
            "is_loopback",
            "load_settings",
        ),
    },
)
