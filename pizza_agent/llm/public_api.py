"""The seed's public API, implemented: one shared `LLMService` behind plain functions.

The top-level `openai_functions.py` and `asi1_client.py` re-export these names
(the way stamina re-exports from a private core); the package never imports
those faces.

Each call always returns a usable result and never raises for provider
trouble. The `*_result` forms return a `ChainResult` that also says which
layer answered (`openai`, `asi1`, `static`/`heuristic`), the model, attempts
and latency; the plain forms return just the value.

One `LLMService` is built lazily from the environment on first use;
`configure()` replaces it (the agent and the tests do this).
"""

from __future__ import annotations

from pizza_agent.config.settings import load_settings
from pizza_agent.domain.scores import Intent, StoryScore
from pizza_agent.llm.fallback import ChainResult
from pizza_agent.llm.service import LLMService

__all__ = [
    "configure",
    "get_openai_status",
    "get_service",
    "openai_generate_response_message",
    "openai_generate_unique_prompt",
    "openai_understand_intent",
    "reset_openai_failures",
    "score_story",
]

_service: LLMService | None = None


def configure(service: LLMService | None) -> None:
    """Use `service` for every call from now on (None: rebuild from the environment)."""
    global _service
    _service = service


def get_service() -> LLMService:
    global _service
    if _service is None:
        _service = LLMService(load_settings())
    return _service


def get_openai_status() -> dict[str, object]:
    """`failures`, `status` ("healthy"/"degraded"), `using_fallback`, `client_available`, and detail."""
    return get_service().status()


def reset_openai_failures() -> None:
    """Manual recovery: OpenAI's counter to 0, cool-down and a rejected key forgotten."""
    get_service().reset_openai()


async def openai_understand_intent_result(message: str) -> ChainResult[Intent]:
    return await get_service().understand_intent(message)


async def openai_understand_intent(message: str) -> Intent:
    return (await openai_understand_intent_result(message)).value


async def openai_generate_unique_prompt_result(avoid: set[str] | None = None) -> ChainResult[str]:
    return await get_service().generate_prompt(avoid)


async def openai_generate_unique_prompt(avoid: set[str] | None = None) -> str:
    return (await openai_generate_unique_prompt_result(avoid)).value


async def openai_generate_response_message_result(story: str, rating: int, tier: str, code: str) -> ChainResult[str]:
    return await get_service().generate_reply(story, rating, tier, code)


async def openai_generate_response_message(story: str, rating: int, tier: str, code: str) -> str:
    return (await openai_generate_response_message_result(story, rating, tier, code)).value


async def score_story(story: str) -> StoryScore:
    """Score 1-10 with a short reason: ASI1 first, the local heuristic when ASI1 is down.

    The result's `source` says which ("asi1" or "heuristic").
    """
    return (await get_service().score_story(story)).value
