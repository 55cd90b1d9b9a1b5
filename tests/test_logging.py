"""The log an organizer (or a log shipper) reads: JSON lines on request, a rotating file, no secrets."""

from __future__ import annotations

import json
import logging

import pytest

from pizza_agent.app.logs import configure_logging
from pizza_agent.config.settings import load_settings


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:], root.level = handlers, level


def test_json_lines_for_log_shippers_with_secrets_redacted(tmp_path):
    settings = load_settings({"LOG_FORMAT": "json", "LOG_FILE": str(tmp_path / "agent.log")})
    configure_logging(settings, ["super-secret-seed-value"])
    logging.getLogger("pizza.test").warning("provider=openai tripped; seed super-secret-seed-value")
    line = (tmp_path / "agent.log").read_text().strip()
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "pizza.test"
    assert entry["message"] == "provider=openai tripped; seed ***"
    assert entry["time"].endswith("+00:00")


def test_the_log_file_rotates(tmp_path):
    settings = load_settings(
        {"LOG_FILE": str(tmp_path / "agent.log"), "LOG_FILE_MAX_BYTES": "10000", "LOG_FILE_BACKUPS": "2"}
    )
    configure_logging(settings, [])
    for i in range(400):
        logging.getLogger("pizza.test").warning("line %d %s", i, "x" * 60)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["agent.log", "agent.log.1", "agent.log.2"]
    assert all((tmp_path / name).stat().st_size <= 10_100 for name in files)
