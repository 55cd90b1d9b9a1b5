"""The LLM layer: errors, provider health, the one fallback chain, providers, tasks, the heuristic scorer.

OpenAI → ASI1 → static for intent, prompts and replies; ASI1 → heuristic for scores.
"""

from pizza_agent import room_surface

# What other rooms may import from this one (module -> names); anything else is this room's own.
__all__, __getattr__ = room_surface(
    __name__,
    {
        "asi1_provider": ("ASI1Client",),
        "errors": ("ProviderError",),
        "fallback": (
            "ChainResult",
            "speculative",
        ),
        "public_api": (
            "configure",
            "get_openai_status",
            "get_service",
            "openai_generate_response_message",
            "openai_generate_response_message_result",
            "openai_generate_unique_prompt",
            "openai_generate_unique_prompt_result",
            "openai_understand_intent",
            "openai_understand_intent_result",
            "public_api",
            "reset_openai_failures",
            "score_story",
        ),
        "service": (
            "LLMService",
            "make_provider",
        ),
        "tasks": (
            "DATAMARK",
            "finish_reply",
        ),
        "usage": (
            "Completion",
            "Spend",
        ),
    },
)
