"""OpenAI through the official SDK, with SDK errors converted at this boundary.

The SDK gets `max_retries=0`: the fallback chain owns retries, so a failing
call is never retried by two loops at once.
"""

from __future__ import annotations

import openai

from pizza_agent.llm.errors import BadResponse, ProviderError, TransientError, error_for_status, require_text
from pizza_agent.llm.usage import Completion

Messages = list[dict[str, str]]


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: str, base_url: str | None = None) -> None:
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)

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
        options: dict[str, object] = {}
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        if temperature is not None:
            options["temperature"] = temperature
        if response_format is not None:
            options["response_format"] = response_format
        try:
            response = await self._client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                timeout=timeout,
                **options,  # type: ignore[arg-type]
            )
        except openai.APIStatusError as exc:
            raise error_for_status(exc.status_code, exc.response.headers, _body_text(exc)) from exc
        except openai.APITimeoutError as exc:
            raise TransientError("timed out", silent=True) from exc
        except openai.APIConnectionError as exc:
            raise TransientError(f"connection failed: {type(exc.__cause__).__name__}") from exc
        except openai.APIResponseValidationError as exc:
            raise BadResponse("response failed validation") from exc
        except ValueError as exc:  # a 200 whose body is not JSON (json.JSONDecodeError)
            raise BadResponse("response body is not JSON") from exc
        except openai.OpenAIError as exc:
            raise ProviderError(f"SDK error {type(exc).__name__}") from exc
        try:
            choice = response.choices[0]
            content, finish_reason = choice.message.content, choice.finish_reason
        except (AttributeError, IndexError, TypeError) as exc:  # wrong shape, or a str for a non-object body
            raise BadResponse("completion has the wrong shape") from exc
        usage = getattr(response, "usage", None)
        return Completion(
            require_text(content, finish_reason),
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )

    async def list_models(self, *, timeout: float) -> list[str]:
        """The model ids the key may use (the preflight check)."""
        try:
            page = await self._client.models.list(timeout=timeout)
        except openai.APIStatusError as exc:
            raise error_for_status(exc.status_code, exc.response.headers, _body_text(exc)) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise TransientError(f"connection failed: {type(exc).__name__}") from exc
        return [model.id for model in page.data]

    async def aclose(self) -> None:
        await self._client.close()


def _body_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    return str(body) if body is not None else exc.message
