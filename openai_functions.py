"""The public API organizers already use, unchanged from the seed design.

Each call always returns a usable result and never raises for provider
trouble. The `*_result` forms return a `ChainResult` that also says which
layer answered (`openai`, `asi1`, `static`/`heuristic`), the model, attempts
and latency; the plain forms return just the value.

One `LLMService` is built lazily from the environment on first use;
`configure()` replaces it (the agent and the tests do this). The code lives
in `pizza_agent.llm.public_api`; this module is its public face.
"""

from pizza_agent.llm.public_api import (
    configure,
    get_openai_status,
    get_service,
    openai_generate_response_message,
    openai_generate_response_message_result,
    openai_generate_unique_prompt,
    openai_generate_unique_prompt_result,
    openai_understand_intent,
    openai_understand_intent_result,
    reset_openai_failures,
)

__all__ = [
    "configure",
    "get_openai_status",
    "get_service",
    "openai_generate_response_message",
    "openai_generate_response_message_result",
    "openai_generate_unique_prompt",
    "openai_generate_unique_prompt_result",
    "openai_understand_intent",
    "openai_understand_intent_result",
    "reset_openai_failures",
]
