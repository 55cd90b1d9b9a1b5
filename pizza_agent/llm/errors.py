"""One error hierarchy for provider trouble, and the one place that classifies it.

Both providers (the `openai` SDK and the `aiohttp` ASI1 client) convert their
own exceptions into these at their boundary, so the fallback chain decides
retries, cool-downs and health from the class alone. Anything that is not a
`ProviderError` is our own bug and is never retried as if it were the network.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping


class ProviderError(Exception):
    """A provider could not give a usable answer.

    `retryable`: try the same model again after a backoff.
    `health_failure`: counts against the provider's failure counter.
    """

    retryable = False
    health_failure = True

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class TransientError(ProviderError):
    """Time-out, refused or reset connection, 5xx, 408: may work on a retry."""

    retryable = True


class RateLimited(ProviderError):
    """429. `retry_after` is what the provider asked for (None: it did not say)."""

    def __init__(self, reason: str, retry_after: float | None, status: int | None = 429) -> None:
        super().__init__(reason, status)
        self.retry_after = retry_after


class CredentialsRejected(ProviderError):
    """401/403 or no key: never retried; the provider stays off until reset."""


class RequestRejected(ProviderError):
    """400 for this request (context length, content policy, unknown model).

    The provider is healthy; this model cannot take this request. Next model.
    """

    health_failure = False


class BadResponse(ProviderError):
    """200 whose body is not JSON, has the wrong shape, or has no content."""


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


_REJECTED_CODES = ("context_length", "content_policy", "content_filter", "model_not_found")


def error_for_status(status: int, headers: Mapping[str, str], body: str) -> ProviderError:
    """Map an HTTP error status to its class (the table in the provider-layer issue)."""
    short = f"HTTP {status}"
    if status == 429:
        return RateLimited(short, parse_retry_after(headers), status)
    if status in (401, 403):
        return CredentialsRejected(f"{short}: key rejected", status)
    if status == 408 or status >= 500:
        return TransientError(short, status)
    if status in (400, 404, 413, 422):
        lowered = body.lower()
        kind = next((code for code in _REJECTED_CODES if code in lowered), "bad request")
        return RequestRejected(f"{short}: {kind}", status)
    return BadResponse(f"{short}: unexpected status", status)


def content_from_completion(payload: object) -> str:
    """The assistant text of an OpenAI-shaped completion (a parsed JSON dict), or BadResponse."""
    try:
        content = payload["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError) as exc:
        raise BadResponse("completion has the wrong shape") from exc
    return require_text(content)


def require_text(content: object) -> str:
    if not isinstance(content, str) or not content.strip():
        raise BadResponse("completion has empty content")
    return content.strip()
