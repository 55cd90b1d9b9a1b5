"""ASI1 (Fetch.ai's OpenAI-compatible API), called through the `openai` SDK with ASI1's base URL.

ASI1 speaks the OpenAI API, and Fetch.ai's own examples call it with the OpenAI
client and `base_url="https://api.asi1.ai/v1"`: so the agent does the same, with
the one provider class both layers share (openai_provider.py: errors converted at
the boundary, no SDK retries). ASI1 is the second layer for intent, prompts and
replies, and the scorer of stories (the score chain's only provider, before the
local heuristic). The hand-written aiohttp client this replaced is gone; its
public name stays (`asi1_client.ASI1Client`).
"""

from __future__ import annotations

from pizza_agent.llm.openai_provider import OpenAIProvider


class ASI1Client(OpenAIProvider):
    name = "asi1"

    def __init__(self, api_key: str, base_url: str) -> None:
        super().__init__(api_key, base_url)
