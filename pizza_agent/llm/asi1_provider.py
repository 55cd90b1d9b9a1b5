"""ASI1 (Fetch.ai's OpenAI-compatible API) over one shared, pooled aiohttp session.

It is the second layer for intent, prompts and replies, and the scorer of
stories (the score chain's only provider, before the local heuristic).
"""

from __future__ import annotations

import json

import aiohttp

from pizza_agent.llm.errors import BadResponse, TransientError, error_for_status, require_text
from pizza_agent.llm.usage import Completion

Messages = list[dict[str, str]]

# Pool size: concurrent requests kept open to ASI1 (one per participant in flight).
MAX_CONNECTIONS = 100


class ASI1Client:
    name = "asi1"

    def __init__(self, api_key: str, base_url: str) -> None:
        self._url = f"{base_url.rstrip('/')}/chat/completions"
        self._models_url = f"{base_url.rstrip('/')}/models"
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession must be made inside the running loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers)
        return self._session

    async def complete(
        self,
        messages: Messages,
        *,
        model: str,
        timeout: float,
        max_tokens: int | None = None,
        temperature: float | None = None,
        response_format: dict[str, object] | None = None,
    ) -> Completion:
        body: dict[str, object] = {"model": model, "messages": messages}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        if response_format is not None:
            body["response_format"] = response_format
        try:
            async with self._get_session().post(
                self._url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                text = await response.text()
                if response.status != 200:
                    raise error_for_status(response.status, response.headers, text)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TransientError("timed out", silent=True) from exc
        except aiohttp.ClientError as exc:
            raise TransientError(f"connection failed: {type(exc).__name__}") from exc
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise BadResponse("response body is not JSON") from exc
        return completion_from(payload)

    async def list_models(self, *, timeout: float) -> list[str]:
        """The model ids the key may use (the preflight check)."""
        try:
            async with self._get_session().get(
                self._models_url, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                text = await response.text()
                if response.status != 200:
                    raise error_for_status(response.status, response.headers, text)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientError(f"connection failed: {type(exc).__name__}") from exc
        try:
            return [str(model["id"]) for model in json.loads(text)["data"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadResponse("models list has the wrong shape") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def completion_from(payload: object) -> Completion:
    """An OpenAI-shaped completion (a parsed JSON dict) as a Completion, or the error it means."""
    try:
        choice = payload["choices"][0]  # type: ignore[index]
        content, finish_reason = choice["message"]["content"], choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BadResponse("completion has the wrong shape") from exc
    usage = payload.get("usage") if isinstance(payload, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    return Completion(
        require_text(content, finish_reason),
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
