"""Settings, read once from the environment (and `.env`), validated at start-up.

Why one module: every tunable lives here with its default and its check, so a
bad value stops start-up with one line naming the variable instead of
surfacing as a strange failure in the middle of the event.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlparse

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from pizza_agent.config.addresses import canonical_agent_address
from pizza_agent.config.token_strength import MAKE_A_TOKEN, guessable

MIN_WEB_TOKEN_CHARS = 16
MIN_COUPON_SECRET_CHARS = 16
# The checkout (pizza_agent/config/settings.py -> three levels up), where `.env`, `data/` and the
# static content live. Installed as a package (pip, pipx) there is no checkout: the working folder
# takes its place, and the static content installed with the package is the default.
_SOURCE_DIR = Path(__file__).resolve().parents[2]
FROM_SOURCE = (_SOURCE_DIR / "pyproject.toml").is_file() and (_SOURCE_DIR / "agent.py").is_file()
PROJECT_DIR = _SOURCE_DIR if FROM_SOURCE else Path.cwd()
INSTALLED_SHARE = Path(sys.prefix) / "share" / "pizza-agent"


def default_static_content() -> Path:
    """The checkout's static_content/, or the working folder's, or the copy installed with the package."""
    local = PROJECT_DIR / "static_content"
    return local if FROM_SOURCE or local.is_dir() else INSTALLED_SHARE / "static_content"


def url_password(url: str) -> str:
    """The password of a `scheme://user:password@host/...` URL as written (everything up to the last @)."""
    rest = url.split("://", 1)[-1]
    userinfo, at, _ = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return ""
    return userinfo.split(":", 1)[1]


def mask_url(url: str) -> str:
    """The URL for people and logs: its password (up to the last @) replaced by ***."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in userinfo else f"{scheme}://{user}@{host}"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], BeforeValidator(_comma_list)]


def _tier_caps(value: Any) -> Any:
    """`premium:50,standard:200` -> {"premium": 50, "standard": 200}."""
    if not isinstance(value, str):
        return value
    caps: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        tier, sep, number = part.partition(":")
        if not sep:
            raise ValueError(f"{part!r} is not tier:number (e.g. premium:50,standard:200)")
        caps[tier.strip().lower()] = number.strip()
    return caps


def _model_prices(value: Any) -> Any:
    """`gpt-4o-mini=0.15/0.60,gpt-4o=2.50/10` -> {model: (prompt, completion)}, USD per million tokens."""
    if not isinstance(value, str):
        return value
    prices: dict[str, tuple[str, str]] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        model, sep, pair = part.partition("=")
        prompt, slash, completion = pair.partition("/")
        if not sep or not slash:
            raise ValueError(f"{part!r} is not model=prompt/completion (USD per million tokens)")
        prices[model.strip()] = (prompt.strip(), completion.strip())
    return prices


ModelPrices = Annotated[
    dict[str, tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]], BeforeValidator(_model_prices)
]
TierCaps = Annotated[
    dict[Literal["premium", "standard", "basic"], Annotated[int, Field(ge=0)]], BeforeValidator(_tier_caps)
]
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class AgentMode(StrEnum):
    LOCAL = "local"
    AGENTVERSE = "agentverse"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and the fix."""


def _check_url(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class Settings(BaseModel):
    """Every variable the agent reads. Field aliases are the environment names."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # --- OpenAI: the first layer for intent, prompts and replies -------------
    openai_api_key: SecretStr = Field(SecretStr(""), alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    openai_models: CommaList = Field(["gpt-4o-mini"], alias="OPENAI_MODEL", min_length=1)
    openai_timeout: PositiveSeconds = Field(8.0, alias="OPENAI_TIMEOUT")
    openai_retry_count: int = Field(2, alias="OPENAI_RETRY_COUNT", ge=1, le=10)
    openai_failure_threshold: int = Field(3, alias="OPENAI_FAILURE_THRESHOLD", ge=1)
    openai_probe_interval: PositiveSeconds = Field(30.0, alias="OPENAI_PROBE_INTERVAL")

    # --- ASI1: scoring, and the second layer for everything else -------------
    asi1_api_key: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("ASI1_API_KEY", "ASI_ONE_API_KEY"))
    asi1_base_url: str = Field("https://api.asi1.ai/v1", alias="ASI1_BASE_URL")
    asi1_models: CommaList = Field(["asi1-mini"], alias="ASI1_MODEL", min_length=1)
    asi1_timeout: PositiveSeconds = Field(8.0, alias="ASI1_TIMEOUT")
    asi1_retry_count: int = Field(2, alias="ASI1_RETRY_COUNT", ge=1, le=10)
    asi1_failure_threshold: int = Field(3, alias="ASI1_FAILURE_THRESHOLD", ge=1)
    asi1_probe_interval: PositiveSeconds = Field(30.0, alias="ASI1_PROBE_INTERVAL")

    # --- The whole chain -----------------------------------------------------
    reply_deadline: PositiveSeconds = Field(10.0, alias="REPLY_DEADLINE")
    backoff_initial: PositiveSeconds = Field(0.2, alias="LLM_BACKOFF_INITIAL")
    backoff_max: PositiveSeconds = Field(2.0, alias="LLM_BACKOFF_MAX")
    rate_limit_cooldown: PositiveSeconds = Field(60.0, alias="LLM_RATE_LIMIT_COOLDOWN")
    llm_stall_after: PositiveSeconds = Field(2.0, alias="LLM_STALL_AFTER")
    llm_max_concurrency: int = Field(16, alias="LLM_MAX_CONCURRENCY", ge=1)
    llm_hedge_max_ratio: float = Field(0.10, alias="LLM_HEDGE_MAX_RATIO", ge=0, le=1)
    llm_fallback_floor: PositiveSeconds = Field(1.5, alias="LLM_FALLBACK_FLOOR")
    model_prices: ModelPrices = Field(
        "gpt-4o-mini=0.15/0.60,gpt-4o=2.50/10.00,gpt-4.1-mini=0.40/1.60", alias="MODEL_PRICES", validate_default=True
    )
    openai_budget_usd: float | None = Field(None, alias="OPENAI_BUDGET_USD", gt=0)
    asi1_budget_usd: float | None = Field(None, alias="ASI1_BUDGET_USD", gt=0)
    flagged_score_cap: int = Field(7, alias="FLAGGED_SCORE_CAP", ge=1, le=10)
    # A story suspected of talking to the judge gets at most this tier until an organizer approves it.
    flagged_tier_cap: Literal["premium", "standard", "basic"] = Field("standard", alias="FLAGGED_TIER_CAP")
    # The highest tier the local heuristic may give while ASI1 cannot score (keyless rehearsals, an outage):
    # a keyword count is no judge, so premium waits for ASI1 (heuristic scores are scored again, upgrades only).
    heuristic_max_tier: Literal["premium", "standard", "basic"] = Field("standard", alias="HEURISTIC_MAX_TIER")
    # How often the stories the heuristic scored are offered to ASI1 again (one round per period).
    rescore_seconds: PositiveSeconds = Field(10.0, alias="RESCORE_SECONDS")
    # Every premium waits for a human look (standard now, premium on approval): for events where premium is scarce.
    review_premium: bool = Field(False, alias="REVIEW_PREMIUM")
    # Who "one coupon per participant" counts: each sender address, or each attendee of a registration
    # roster, who claims with the code on their badge (people/identity.py says how a chat is tied to a person).
    participants: Literal["address", "roster"] = Field("address", alias="PARTICIPANTS")
    # The event plan: meals with windows, diets, caps and pickup groups (blank: one meal, always open).
    event_plan: Path | None = Field(None, alias="EVENT_PLAN")
    # Rehearsals only: START@SPEED runs the plan's clock from START (local time), SPEED times faster.
    plan_clock: str = Field("", alias="PLAN_CLOCK")
    # The languages participants are answered in, the first the default ("en,es,hi"): the plan's
    # [event] languages win when it lists them. Each needs static_content/languages/<code>.toml.
    event_languages: CommaList = Field(["en"], alias="EVENT_LANGUAGES")
    # Organizer alerts (judges' queue, tiers low, pause, providers, ledger) to a Discord/Slack/JSON webhook.
    alert_webhook_url: SecretStr = Field(SecretStr(""), alias="ALERT_WEBHOOK_URL")
    alert_format: Literal["discord", "slack", "json"] | None = Field(None, alias="ALERT_FORMAT")
    alert_every_minutes: float = Field(10.0, alias="ALERT_EVERY_MINUTES", gt=0)
    static_content_dir: Path = Field(default_factory=default_static_content, alias="STATIC_CONTENT_DIR")

    # --- The agent -----------------------------------------------------------
    agent_mode: AgentMode = Field(AgentMode.LOCAL, alias="AGENT_MODE")
    agentverse_url: str = Field("https://agentverse.ai", alias="AGENTVERSE_URL")
    agentverse_api_key: SecretStr = Field(SecretStr(""), alias="AGENTVERSE_API_KEY")
    agent_handle: str = Field("pizza-agent", alias="AGENT_HANDLE", max_length=20)
    agent_description: str = Field(
        "Trade a short story for a pizza coupon at the hackathon: ask for a prompt, send a story, get your code.",
        alias="AGENT_DESCRIPTION",
        max_length=300,
    )
    agent_readme: Path = Field(PROJECT_DIR / "AGENT_README.md", alias="AGENT_README")
    # The picture participants see beside the agent on Agentverse and ASI:One (an https URL; blank: none).
    agent_avatar_url: str = Field("", alias="AGENT_AVATAR_URL", max_length=4000)
    agent_inspector: Literal["auto", "on", "off"] = Field("auto", alias="AGENT_INSPECTOR")
    mailbox_client: Literal["fast", "framework"] = Field("fast", alias="MAILBOX_CLIENT")
    # --- The dashboard and the food-table page (off unless DASHBOARD_TOKEN is set) ----------
    dashboard_token: SecretStr = Field(SecretStr(""), alias="DASHBOARD_TOKEN")
    vendor_token: SecretStr = Field(SecretStr(""), alias="VENDOR_TOKEN")
    dashboard_port: int = Field(8080, alias="DASHBOARD_PORT", ge=0, le=65535)
    dashboard_host: str = Field("127.0.0.1", alias="DASHBOARD_HOST")
    # A dashboard session unused this long is closed (besides the 12 h limit).
    dashboard_idle_minutes: float = Field(60.0, alias="DASHBOARD_IDLE_MINUTES", gt=0)
    # TLS for the dashboard: needed (or DASHBOARD_INSECURE=1) when DASHBOARD_HOST is not loopback.
    dashboard_tls_cert: Path | None = Field(None, alias="DASHBOARD_TLS_CERT")
    dashboard_tls_key: Path | None = Field(None, alias="DASHBOARD_TLS_KEY")
    dashboard_insecure: bool = Field(False, alias="DASHBOARD_INSECURE")
    coupon_qr: bool = Field(True, alias="COUPON_QR")
    agent_name: str = Field("pizza-agent", alias="AGENT_NAME", min_length=1)
    agent_seed: SecretStr = Field(SecretStr(""), alias="AGENT_SEED")
    agent_port: int = Field(8000, alias="AGENT_PORT", ge=0, le=65535)
    agent_host: str = Field("127.0.0.1", alias="AGENT_HOST")
    data_dir: Path = Field(PROJECT_DIR / "data", alias="DATA_DIR")
    database_path: Path | None = Field(None, alias="DATABASE_PATH")
    # postgresql://user:password@host:port/database: the ledger (and what replicas share) in PostgreSQL.
    ledger_url: SecretStr = Field(SecretStr(""), alias="LEDGER_URL")
    replica_name: str = Field("", alias="REPLICA_NAME", max_length=40)
    failover_seconds: PositiveSeconds = Field(5.0, alias="FAILOVER_SECONDS")
    organizer_addresses: CommaList = Field([], alias="ORGANIZER_ADDRESSES")
    coupon_secret: SecretStr = Field(SecretStr(""), alias="COUPON_SECRET")
    coupon_pool_dir: Path | None = Field(None, alias="COUPON_POOL_DIR")
    tier_fallback_down: bool = Field(True, alias="TIER_FALLBACK_DOWN")
    tier_caps: TierCaps = Field({}, alias="TIER_CAPS")
    story_min_chars: int = Field(40, alias="STORY_MIN_CHARS", ge=1)
    story_max_chars: int = Field(4000, alias="STORY_MAX_CHARS", ge=10)
    message_max_bytes: int = Field(65536, alias="MESSAGE_MAX_BYTES", ge=1024)
    tier_premium_min: int = Field(8, alias="TIER_PREMIUM_MIN", ge=1, le=10)
    tier_standard_min: int = Field(6, alias="TIER_STANDARD_MIN", ge=1, le=10)
    sender_rate_limit: int = Field(10, alias="SENDER_RATE_LIMIT", ge=1)
    sender_rate_window: PositiveSeconds = Field(60.0, alias="SENDER_RATE_WINDOW")
    # A sender that opens chat sessions (ASI:One) is limited per chat, and all its chats together
    # at SENDER_RATE_LIMIT x this (event/rate_limit.py).
    sender_rate_chats: int = Field(20, alias="SENDER_RATE_CHATS", ge=1)
    send_timeout: PositiveSeconds = Field(5.0, alias="SEND_TIMEOUT")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")
    log_file: Path | None = Field(None, alias="LOG_FILE")
    log_file_max_bytes: int = Field(10_000_000, alias="LOG_FILE_MAX_BYTES", ge=10_000)
    log_file_backups: int = Field(5, alias="LOG_FILE_BACKUPS", ge=0)

    _check_urls = field_validator("openai_base_url", "asi1_base_url", "agentverse_url")(_check_url)

    @field_validator("agent_avatar_url")
    @classmethod
    def _avatar_is_a_web_address(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be a web address (https://…) of an image")
        return value

    @field_validator(
        "static_content_dir", "data_dir", "database_path", "coupon_pool_dir", "log_file", "agent_readme", "event_plan"
    )
    @classmethod
    def _relative_to_project(cls, value: Path | None) -> Path | None:
        # A relative path means the same folder whatever directory the agent starts from.
        return value if value is None or value.is_absolute() else PROJECT_DIR / value

    @field_validator("organizer_addresses")
    @classmethod
    def _agent_addresses(cls, values: list[str]) -> list[str]:
        canonical = []
        for value in values:
            address = canonical_agent_address(value)
            if address is None:
                raise ValueError(f"{value[:80]!r} is not an agent address (agent1q…; see chat.py --whoami)")
            canonical.append(address)
        return canonical

    @field_validator("coupon_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < MIN_COUPON_SECRET_CHARS:
            raise ValueError(f"must be at least {MIN_COUPON_SECRET_CHARS} characters (or blank: generated once)")
        return value

    @field_validator("dashboard_token", "vendor_token")
    @classmethod
    def _token_hard_to_guess(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if token and len(token) < MIN_WEB_TOKEN_CHARS:
            raise ValueError(f"must be at least {MIN_WEB_TOKEN_CHARS} characters: make one with {MAKE_A_TOKEN}")
        problem = guessable(token) if token else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("asi1_base_url")
    @classmethod
    def _asi1_url_required(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("event_languages")
    @classmethod
    def _language_codes(cls, values: list[str]) -> list[str]:
        codes = [value.lower() for value in values]
        wrong = [code for code in codes if not re.match(r"^[a-z]{2,3}(?:-[a-z]{4})?$", code)]
        if wrong or not codes:
            raise ValueError(f"language codes such as en,es,hi-latn (not {', '.join(wrong) or 'empty'})")
        return list(dict.fromkeys(codes))

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator("ledger_url")
    @classmethod
    def _ledger_url_is_postgresql(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql://user:password@host:port/database URL (or blank: SQLite)")
        password = url_password(url)
        if password and "@" in password:  # the last @ ends the password: an earlier one is part of it
            raise ValueError(
                f"{mask_url(url)}: the password holds a raw @; write it as %40 (percent-encode the password)"
            )
        if password and re.search(r"%(?![0-9A-Fa-f]{2})", password):
            raise ValueError(f"{mask_url(url)}: the password holds a % not followed by two hex digits; write % as %25")
        return value

    @model_validator(mode="after")
    def _dashboard_off_loopback_needs_tls(self) -> Settings:
        if not self.dashboard_token.get_secret_value():
            return self
        if bool(self.dashboard_tls_cert) != bool(self.dashboard_tls_key):
            raise ValueError("DASHBOARD_TLS_CERT and DASHBOARD_TLS_KEY go together: set both, or neither")
        for name, path in (
            ("DASHBOARD_TLS_CERT", self.dashboard_tls_cert),
            ("DASHBOARD_TLS_KEY", self.dashboard_tls_key),
        ):
            if path is not None and not path.is_file():
                raise ValueError(f"{name}={path} is not a file")
        if not is_loopback(self.dashboard_host) and not self.dashboard_tls_cert and not self.dashboard_insecure:
            raise ValueError(
                f"DASHBOARD_HOST={self.dashboard_host} would send tokens and cookies over the venue's network in "
                "clear text: set DASHBOARD_TLS_CERT and DASHBOARD_TLS_KEY, or DASHBOARD_INSECURE=1 to accept that"
            )
        return self

    @property
    def dashboard_tls(self) -> bool:
        return self.dashboard_tls_cert is not None

    @model_validator(mode="after")
    def _replicas_share_their_secrets(self) -> Settings:
        if self.ledger_url.get_secret_value():
            missing = [
                name
                for name, value in (("COUPON_SECRET", self.coupon_secret), ("AGENT_SEED", self.agent_seed))
                if not value.get_secret_value()
            ]
            if missing:
                raise ValueError(
                    f"with LEDGER_URL every replica must use the same {' and '.join(missing)}: set "
                    f"{'them' if len(missing) > 1 else 'it'} (a generated one would differ per machine)"
                )
            if self.mailbox_client == "framework" and self.agent_mode is AgentMode.AGENTVERSE:
                raise ValueError(
                    "MAILBOX_CLIENT=framework cannot stand by: with LEDGER_URL every replica would poll the "
                    "mailbox and answer every message twice; use MAILBOX_CLIENT=fast (the default)"
                )
        return self

    @model_validator(mode="after")
    def _tokens_differ(self) -> Settings:
        vendor = self.vendor_token.get_secret_value()
        if vendor and vendor == self.dashboard_token.get_secret_value():
            raise ValueError("VENDOR_TOKEN must differ from DASHBOARD_TOKEN (the table must not reach the dashboard)")
        return self

    @model_validator(mode="after")
    def _tiers_ordered(self) -> Settings:
        if self.tier_standard_min > self.tier_premium_min:
            raise ValueError("TIER_STANDARD_MIN must not exceed TIER_PREMIUM_MIN")
        if self.story_min_chars >= self.story_max_chars:
            raise ValueError("STORY_MIN_CHARS must be below STORY_MAX_CHARS")
        return self

    @property
    def replica(self) -> str:
        """This replica's name among the others on one LEDGER_URL (REPLICA_NAME, else host:port)."""
        return self.replica_name or f"{socket.gethostname()}:{self.agent_port}"

    @property
    def dashboard_url(self) -> str | None:
        """Where the dashboard listens (None: off, no DASHBOARD_TOKEN)."""
        if not self.dashboard_token.get_secret_value():
            return None
        return f"{'https' if self.dashboard_tls else 'http'}://{self.dashboard_host}:{self.dashboard_port}/"

    @property
    def heuristic_note(self) -> str | None:
        """What a keyless event must be told: the local heuristic never gives the tiers above its cap."""
        if self.asi1_api_key.get_secret_value() or self.heuristic_max_tier == "premium":
            return None
        return (
            f"no ASI1 key: stories are scored by the local heuristic, at most {self.heuristic_max_tier} "
            f"(HEURISTIC_MAX_TIER): no premium until ASI1 scores"
        )

    @property
    def heuristic_max_score(self) -> int:
        """The highest score the heuristic may give: the top of HEURISTIC_MAX_TIER."""
        return {"premium": 10, "standard": self.tier_premium_min - 1, "basic": self.tier_standard_min - 1}[
            self.heuristic_max_tier
        ]

    @property
    def ledger_path(self) -> Path:
        return self.database_path or self.data_dir / "ledger.sqlite3"

    @property
    def ledger_target(self) -> str:
        """What `Ledger()` opens: LEDGER_URL (PostgreSQL) if set, else the SQLite file."""
        return self.ledger_url.get_secret_value() or str(self.ledger_path)

    @property
    def ledger_display(self) -> str:
        """The ledger for people and logs: never the URL's password."""
        url = self.ledger_url.get_secret_value()
        if not url:
            return str(self.ledger_path)
        return mask_url(url)

    @property
    def peers_dir(self) -> Path:
        """Where local clients register their loopback endpoints (local mode has no Almanac)."""
        return self.data_dir / "peers"

    @property
    def agent_info_path(self) -> Path:
        """address, endpoint, port and pid of the running agent, for chat.py and the tests."""
        return self.data_dir / "agent.json"

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in a log line, a reply or status."""
        values = [
            self.ledger_url,
            self.openai_api_key,
            self.asi1_api_key,
            self.agent_seed,
            self.coupon_secret,
            self.agentverse_api_key,
            self.dashboard_token,
            self.vendor_token,
            self.alert_webhook_url,
        ]
        found = [v.get_secret_value() for v in values if v.get_secret_value()]
        password = url_password(self.ledger_url.get_secret_value())
        if password:  # the database password as written, decoded and encoded: none may reach a log line
            found += sorted({password, unquote(password), quote(unquote(password), safe="")} - {""}, key=len)
        return found

    def redact(self, text: str) -> str:
        """`text` with every configured secret replaced by *** (for a line a person will read)."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


_SECRET_FIELDS = {
    "LEDGER_URL",
    "DASHBOARD_TOKEN",
    "VENDOR_TOKEN",
    "OPENAI_API_KEY",
    "ASI1_API_KEY",
    "ASI_ONE_API_KEY",
    "AGENT_SEED",
    "COUPON_SECRET",
    "AGENTVERSE_API_KEY",
}


def _describe(error: Mapping[str, Any], env: Mapping[str, str]) -> str:
    name = str(error["loc"][0]) if error["loc"] else "configuration"
    message = str(error["msg"]).removeprefix("Value error, ")
    if name in _SECRET_FIELDS or name not in env:
        return f"{name}: {message}"
    return f"{name}={env[name]!r}: {message}"


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Build settings from `environ` (default: os.environ over `.env`).

    A blank value means "use the default"; for a key that is "not configured".
    """
    if environ is None:
        # ENV_FILE picks another file; ENV_FILE="" reads none (the tests use this).
        chosen = os.environ.get("ENV_FILE")
        path = dotenv_path or (Path(chosen) if chosen else PROJECT_DIR / ".env")
        use_file = chosen != "" and path.is_file()
        file_values = {k: v for k, v in dotenv_values(path).items() if v is not None} if use_file else {}
        environ = {**file_values, **os.environ}
    env = {k: v.strip() for k, v in environ.items() if v.strip()}
    try:
        return Settings.model_validate(env)
    except ValidationError as exc:
        problems = "; ".join(_describe(err, env) for err in exc.errors())
        raise ConfigError(f"configuration error: {problems} (see .env.example)") from None
