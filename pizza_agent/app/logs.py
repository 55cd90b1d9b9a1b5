"""Logging for organizers: one format, library chatter quietened, secrets redacted.

Text by default (`time LEVEL logger: message`), or one JSON object per line with
LOG_FORMAT=json for log shippers; LOG_FILE= adds a rotating file (stdlib
`logging.handlers`). The framework's own loggers are routed here too
(pizza_agent.workarounds), so every line carries a timestamp.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime

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


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings, secrets: list[str]) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.log_file,
                maxBytes=settings.log_file_max_bytes,
                backupCount=settings.log_file_backups,
                encoding="utf-8",
            )
        )
    formatter = JSONFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    redact = RedactSecrets(secrets)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_not_library_chatter)
        handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(settings.log_level)
