"""Logging for organizers: one handler, library chatter quietened, secrets redacted.

May import: pizza_agent.config.
"""

from __future__ import annotations

import logging
import sys

from pizza_agent.config.settings import Settings


class RedactSecrets(logging.Filter):
    """Last line of defence: any configured secret in a log line becomes ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        texts = (message, record.exc_text or "")
        if any(secret in text for secret in self._secrets for text in texts):
            for secret in self._secrets:
                message = message.replace(secret, "***")
                record.exc_text = (record.exc_text or "").replace(secret, "***") or None
            record.msg, record.args = message, ()
        return True


# Libraries whose INFO lines (one per HTTP request) drown the one line per message.
QUIET_LOGGERS = ("httpx", "httpx2", "openai", "uvicorn")


def _not_library_chatter(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not record.name.startswith(QUIET_LOGGERS)


def configure_logging(settings: Settings, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_not_library_chatter)
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
