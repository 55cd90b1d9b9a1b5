"""One error hierarchy for provider trouble, and the one place that classifies it.

Both providers (OpenAI and ASI1, each called through the `openai` SDK: openai_provider.py)
convert the SDK's exceptions into these at their boundary, so the fallback chain decides
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
    """Time-out, refused or reset connection, 5xx, 408: may work on a retry.

    `silent`: the provider sent nothing at all before the time-out. A silent
    attempt is never retried on the same provider: the next layer gets the time.
    """

    retryable = True

    def __init__(self, reason: str, status: int | None = None, *, silent: bool = False) -> None:
        super().__init__(reason, status)
        self.silent = silent


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
    """200 whose body is not JSON or not a completion at all: the provider is broken."""


class UnusableAnswer(ProviderError):
    """A well-formed completion whose content this task cannot use: not the JSON asked for, out of
    range, empty, or cut off (`finish_reason: "length"`).

    Counts against this one request, never against the provider's health: a
    participant's story can make a model answer badly, and must not be able to
    switch a provider off for everyone. The request moves on to the next layer.
    """

    health_failure = False

    def __init__(self, reason: str, *, truncated: bool = False) -> None:
        super().__init__(reason)
        self.truncated = truncated


class ContentFiltered(ProviderError):
    """The provider's content filter refused (a content-policy 400 or `finish_reason: "content_filter"`).

    Every model of that provider would refuse the same text: go to the next provider.
    Not a health failure.
    """

    health_failure = False


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


_REJECTED_CODES = ("context_length", "model_not_found", "response_format", "json_schema")
_FILTER_CODES = ("content_policy", "content_filter")


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
        if any(code in lowered for code in _FILTER_CODES):
            return ContentFiltered(f"{short}: content policy", status)
        kind = next((code for code in _REJECTED_CODES if code in lowered), "bad request")
        return RequestRejected(f"{short}: {kind}", status)
    return BadResponse(f"{short}: unexpected status", status)


def require_text(content: object, finish_reason: object) -> str:
    """The completion's text, or the error its finish_reason (or emptiness) means."""
    if finish_reason == "content_filter":
        raise ContentFiltered("finish_reason content_filter")
    if finish_reason == "length":
        raise UnusableAnswer("cut off at max_tokens (finish_reason length)", truncated=True)
    if not isinstance(content, str) or not content.strip():
        raise UnusableAnswer("completion has empty content")
    return content.strip()
