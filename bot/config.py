"""Settings: one place for every knob and its default (the rules they tune: docs/rules.md).

Values come from the environment or `.env`. A missing or malformed value stops start-up with
one readable line (see `load_settings`), never a traceback.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.tz import is_zone_name

# The value `.env.example` ships: a copied example must not pass for a configured bot.
PLACEHOLDER_BOT_TOKEN = "123456789:replace-with-the-token-from-BotFather"
_DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# What Telegram accepts (Bot API setWebhook, secret_token), and the token shape aiogram's Bot
# insists on: checked here so a bad value stops start-up with one line, not a later traceback.
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_TOKEN = re.compile(r"^\d+:\S+$")
# Telegram usernames: 5-32 characters, a letter first; phones: E.164 (a + and 7-15 digits).
_USERNAME = re.compile(r"^@?[A-Za-z][A-Za-z0-9_]{4,31}$")
_PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")


def parse_duration(text: str) -> timedelta:
    """Parse `24h`, `90m` or `1d` into a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 24h, 90m or 1d")
    amount, unit = int(match.group(1)), match.group(2).lower()
    if amount <= 0:
        raise ValueError(f"{text!r} must be positive")
    return timedelta(seconds=amount * _UNIT_SECONDS[unit])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # --- connections -------------------------------------------------------------------------
    bot_token: SecretStr
    database_url: str = "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/booking"
    redis_url: str = "redis://127.0.0.1:6379/0"
    telegram_api_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    # --- demo (`python -m bot demo` only; the bot itself ignores them) ----------------------------
    demo_port: int = Field(default=8080, ge=1, le=65535)
    demo_data_dir: str = Field(default=".demo", min_length=1)

    # --- webhook mode (unset WEBHOOK_URL = long polling) ----------------------------------------
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # Long polling has no HTTP server: set to serve GET /healthz on WEBHOOK_HOST:HEALTH_PORT.
    health_port: int | None = Field(default=None, ge=1, le=65535)
    # Long polling: only the holder of a Redis lease polls (bot.ops.polling_lease); a standby
    # takes over within this many seconds of the holder's death.
    polling_lease_seconds: int = Field(default=15, ge=3, le=300)

    # --- slot engine (docs/rules.md#availability) -----------------------------------------------
    slot_step_min: int = Field(default=15, ge=1, le=240)
    min_notice_min: int = Field(default=60, ge=0)
    booking_horizon_days: int = Field(default=30, ge=1, le=366)
    default_timezone: str = "Europe/Moscow"

    # --- holds and money (docs/rules.md#holds, docs/rules.md#money) ------------------------------
    hold_ttl_seconds: int = Field(default=600, ge=30)
    free_cancel_hours: int = Field(default=24, ge=0)
    late_cancel_refund_percent: int = Field(default=0, ge=0, le=100)
    currency: str = Field(default="RUB", pattern=r"^[A-Z]{3}$")
    payment_provider_token: SecretStr | None = None
    # Who clients write to about money (a top-up without Telegram Payments): a Telegram
    # username (`@salon_admin`) or a phone (`+79991234567`); unset = no contact button.
    admin_contact: str | None = None
    waitlist_offer_ttl_seconds: int = Field(default=900, ge=60)

    # --- admin area (docs/rules.md#admin-rights) ------------------------------------------------
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 90)
    # Region for phone numbers typed without a country code (ISO 3166 alpha-2).
    phone_region: str = Field(default="RU", pattern=r"^[A-Z]{2}$")

    # --- notifications (docs/rules.md#notifications) ---------------------------------------------
    reminder_offsets: Annotated[list[timedelta], NoDecode] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=2)]
    )
    specialist_reminder_min: int = Field(default=30, ge=0)
    agenda_time: time = time(9, 0)
    run_worker: bool = True
    telegram_global_rate: float = Field(default=30.0, gt=0)
    telegram_chat_interval_seconds: float = Field(default=1.0, ge=0)
    outbox_poll_seconds: float = Field(default=5.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    # A claimed row is another worker's to take once its lease runs out (a crashed worker's
    # row is re-sent then); it must outlast a send that waits its turn under the rate limits.
    outbox_lease_seconds: int = Field(default=60, ge=3, le=3600)
    # Rows claimed per pass; enough distinct chats to keep the global rate busy.
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)

    # --- conversation ---------------------------------------------------------------------------
    default_language: str = Field(default="ru", pattern=r"^(ru|en)$")
    fsm_ttl_seconds: int = Field(default=3600, ge=60)
    throttle_rate_per_second: float = Field(default=3.0, gt=0)
    throttle_burst: int = Field(default=8, ge=1, le=1000)
    log_level: str = "INFO"
    # `text` (one human-readable line per record) or `json` (one JSON object per line, with the
    # update id, user id, handler and latency of the update being handled).
    log_format: str = Field(default="text", pattern=r"^(text|json)$")
    # Seconds one Redis command may take before it counts as a failure; after a failure the
    # bot stops asking Redis for a few seconds and answers "temporarily unavailable" at once.
    redis_timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    # Every Redis key starts with this, so several deployments (or test runs) can share a Redis.
    redis_prefix: str = Field(default="bb", min_length=1)

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if not token.strip():
            raise ValueError("must not be empty")
        if token.strip() == PLACEHOLDER_BOT_TOKEN:
            raise ValueError(
                "is still the placeholder from .env.example: put the token from @BotFather there"
            )
        if not _BOT_TOKEN.match(token):
            raise ValueError("must look like 123456:ABC-DEF (digits, a colon, the secret)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_log_level(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().upper() not in LOG_LEVELS:
                raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
            return value.strip().upper()
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _upper_currency(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("webhook_url", "telegram_api_url", mode="before")
    @classmethod
    def _check_http_url(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            if not value.startswith(("https://", "http://")):
                raise ValueError("must start with https:// (or http:// behind a proxy)")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _check_webhook_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("admin_contact", mode="before")
    @classmethod
    def _check_admin_contact(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            return value
        text = value.strip()
        if _USERNAME.match(text):
            return "@" + text.lstrip("@")
        digits = re.sub(r"[\s()\-]", "", text)
        if _PHONE.match(digits):
            return digits if digits.startswith("+") else "+" + digits
        raise ValueError(
            "must be a Telegram username (@salon_admin) or a phone with its country code "
            "(+79991234567)"
        )

    @property
    def payments_enabled(self) -> bool:
        """True when a non-empty `PAYMENT_PROVIDER_TOKEN` turns Telegram Payments on."""
        token = self.payment_provider_token
        return token is not None and bool(token.get_secret_value().strip())

    @property
    def admin_contact_url(self) -> str | None:
        """The `t.me` link that opens a chat with `ADMIN_CONTACT` (a username or a phone)."""
        contact = self.admin_contact
        if contact is None:
            return None
        return f"https://t.me/{contact.lstrip('@')}"

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return [int(p) for p in parts]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("fsm_ttl_seconds")
    @classmethod
    def _flow_outlives_its_hold(cls, value: int, info: ValidationInfo) -> int:
        # An abandoned flow takes its hold with it only if the hold expires first.
        hold_ttl = info.data.get("hold_ttl_seconds")
        if hold_ttl is not None and value < hold_ttl:
            raise ValueError(f"must be at least HOLD_TTL_SECONDS ({hold_ttl})")
        return value

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _parse_offsets(cls, value: object) -> object:
        if isinstance(value, str):
            items = [p for p in (s.strip() for s in value.split(",")) if p]
            return sorted({parse_duration(p) for p in items}, reverse=True)
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        if not is_zone_name(value):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Moscow)")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must start with postgresql+asyncpg://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)


class ConfigError(SystemExit):
    """Start-up stops with one readable line naming the bad settings."""


def format_validation_error(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
        message = err["msg"]
        if err["type"] == "missing":
            message = "is required"
        problems.append(f"{name} {message}")
    return "configuration error: " + "; ".join(problems)


def load_settings(**overrides: object) -> Settings:
    """Build settings or raise `ConfigError` with a one-line explanation."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


class DatabaseSettings(BaseSettings):
    """The few settings a command-line tool needs (catalog import/export): no BOT_TOKEN."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = Settings.model_fields["database_url"].default
    default_timezone: str = Settings.model_fields["default_timezone"].default
    redis_url: str = Settings.model_fields["redis_url"].default
    redis_prefix: str = Field(default=Settings.model_fields["redis_prefix"].default, min_length=1)

    # The same checks as Settings, not a copy of them.
    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        return Settings._check_database_url(value)

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return Settings._check_timezone(value)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        return Settings._check_redis_url(value)


class ProbeSettings(BaseSettings):
    """What `python -m bot health` needs to find the running bot's HTTP server: no BOT_TOKEN."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    webhook_url: str | None = None
    webhook_host: str = Settings.model_fields["webhook_host"].default
    webhook_port: int = Field(default=Settings.model_fields["webhook_port"].default, ge=1, le=65535)
    health_port: int | None = Field(default=None, ge=1, le=65535)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)


def load_probe_settings(**overrides: object) -> ProbeSettings:
    """Build the probe settings or raise `ConfigError` with a one-line explanation."""
    try:
        return ProbeSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def load_database_settings() -> DatabaseSettings:
    """Build the database settings or raise `ConfigError` with a one-line explanation."""
    try:
        return DatabaseSettings()
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
