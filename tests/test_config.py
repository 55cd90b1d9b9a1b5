"""Configuration: defaults, model chains, and one clear line for a bad value."""

from __future__ import annotations

import pytest

from pizza_agent.config.settings import ConfigError, load_settings


def test_defaults_need_no_environment_at_all():
    settings = load_settings({})
    assert settings.openai_models == ["gpt-4o-mini"]
    assert (settings.openai_timeout, settings.openai_retry_count, settings.openai_failure_threshold) == (8.0, 2, 3)
    assert settings.openai_probe_interval == 30.0
    assert settings.asi1_base_url == "https://api.asi1.ai/v1"
    assert settings.asi1_models == ["asi1-mini"]
    assert settings.reply_deadline == 10.0
    assert settings.openai_api_key.get_secret_value() == ""


def test_comma_list_is_a_model_chain():
    assert load_settings({"OPENAI_MODEL": "gpt-4o, gpt-4o-mini"}).openai_models == ["gpt-4o", "gpt-4o-mini"]


def test_asi_one_api_key_is_accepted_as_an_alias():
    assert load_settings({"ASI_ONE_API_KEY": "k1"}).asi1_api_key.get_secret_value() == "k1"
    assert load_settings({"ASI1_API_KEY": "k2", "ASI_ONE_API_KEY": "k1"}).asi1_api_key.get_secret_value() == "k2"


def test_blank_values_mean_default():
    assert load_settings({"OPENAI_TIMEOUT": "  ", "REPLY_DEADLINE": ""}).openai_timeout == 8.0


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"OPENAI_TIMEOUT": "-1"}, "OPENAI_TIMEOUT"),
        ({"OPENAI_TIMEOUT": "fast"}, "OPENAI_TIMEOUT"),
        ({"REPLY_DEADLINE": "0"}, "REPLY_DEADLINE"),
        ({"OPENAI_RETRY_COUNT": "two"}, "OPENAI_RETRY_COUNT"),
        ({"OPENAI_BASE_URL": "ftp://example.invalid"}, "OPENAI_BASE_URL"),
        ({"ASI1_BASE_URL": "api.asi1.ai"}, "ASI1_BASE_URL"),
        ({"AGENT_MODE": "cloud"}, "AGENT_MODE"),
        ({"AGENT_PORT": "70000"}, "AGENT_PORT"),
    ],
)
def test_a_bad_value_stops_with_one_line_naming_the_variable(env, variable):
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message


def test_config_errors_never_echo_secret_values():
    with pytest.raises(ConfigError) as caught:
        load_settings({"OPENAI_API_KEY": "sk-secret-value", "OPENAI_TIMEOUT": "-2"})
    assert "sk-secret-value" not in str(caught.value)


@pytest.mark.slow  # agent.py
def test_agent_py_exits_with_the_config_line(tmp_path):
    import subprocess
    import sys

    from pizza_agent.config.settings import PROJECT_DIR

    env = {"PATH": "/usr/bin:/bin", "OPENAI_TIMEOUT": "-1", "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "--check-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    [problem] = [line for line in done.stdout.splitlines() if line.strip().startswith("FAIL")]
    assert problem.split(": ", 1)[1].startswith("configuration error: OPENAI_TIMEOUT='-1'")


def test_env_example_documents_every_setting():
    import re

    from pizza_agent.config.settings import PROJECT_DIR, Settings

    text = (PROJECT_DIR / ".env.example").read_text()
    for field in Settings.model_fields.values():
        name = field.alias or field.validation_alias.choices[0]
        assert re.search(rf"^{name}=", text, re.MULTILINE), f"{name} is missing from .env.example"


def test_env_example_itself_is_a_valid_configuration():
    from dotenv import dotenv_values

    from pizza_agent.config.settings import PROJECT_DIR

    values = {k: v or "" for k, v in dotenv_values(PROJECT_DIR / ".env.example").items()}
    settings = load_settings(values)
    assert settings.openai_models == ["gpt-4o-mini"] and settings.reply_deadline == 10


def test_replicas_refuse_the_framework_mailbox_client_which_cannot_stand_by():
    replica = {
        "LEDGER_URL": "postgresql://pizza@db.example.invalid/pizza",
        "AGENT_SEED": "s" * 32,
        "COUPON_SECRET": "c" * 32,
        "AGENT_MODE": "agentverse",
    }
    assert load_settings(replica).mailbox_client == "fast"
    with pytest.raises(ConfigError, match="MAILBOX_CLIENT=framework cannot stand by"):
        load_settings({**replica, "MAILBOX_CLIENT": "framework"})


def test_a_data_dir_the_agent_creates_is_ignored_by_git(tmp_path):
    """Secrets and full addresses in a custom DATA_DIR inside a checkout must never show as untracked files."""
    import subprocess

    from pizza_agent.config.data_dir import prepare

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    data = tmp_path / "event-data"
    prepare(data)
    (data / "coupon_secret").write_text("s" * 32)
    (data / "exports").mkdir()
    (data / "exports" / "coupons.csv").write_text("code,participant\n")
    untracked = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    assert untracked == ""
