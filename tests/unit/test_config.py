"""Settings: SPEC defaults, parsing of list-like values, one readable line per bad value."""

from __future__ import annotations

import os
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.config import PLACEHOLDER_BOT_TOKEN, ConfigError, Settings, load_settings, parse_duration

FIELD_ENV_NAMES = {name.upper() for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets reaches Settings (the developer's shell and `.env` stay out)."""
    for key in list(os.environ):
        if key.upper() in FIELD_ENV_NAMES:
            monkeypatch.delenv(key)
    monkeypatch.setenv("BOT_TOKEN", "123456:TEST")


def load() -> Settings:
    return load_settings(_env_file=None)


def config_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load()
    message = str(info.value)
    assert "\n" not in message, "the error must fit on one line"
    return message


def test_defaults_match_the_spec() -> None:
    settings = load()
    assert settings.slot_step_min == 15
    assert settings.min_notice_min == 60
    assert settings.booking_horizon_days == 30
    assert settings.hold_ttl_seconds == 600
    assert settings.free_cancel_hours == 24
    assert settings.late_cancel_refund_percent == 0
    assert settings.currency == "RUB"
    assert settings.specialist_reminder_min == 30
    assert settings.default_timezone == "Europe/Moscow"
    assert settings.reminder_offsets == [timedelta(hours=24), timedelta(hours=2)]
    assert settings.agenda_time == time(9, 0)
    assert settings.default_language == "ru"
    assert settings.admin_ids == []
    assert settings.telegram_api_url is None
    assert settings.webhook_url is None
    assert not settings.webhook_enabled
    assert settings.payment_provider_token is None


def test_token_is_secret() -> None:
    settings = load()
    assert settings.bot_token.get_secret_value() == "123456:TEST"
    assert "123456:TEST" not in repr(settings)


def test_missing_bot_token_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TOKEN")
    with pytest.raises(ConfigError) as info:
        load()
    message = str(info.value)
    assert "\n" not in message
    assert "BOT_TOKEN" in message
    assert "required" in message
    # ConfigError is a SystemExit: start-up stops with this line, not a traceback.
    assert isinstance(info.value, SystemExit)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_bot_token_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BOT_TOKEN", value)
    with pytest.raises(ConfigError) as info:
        load()
    assert str(info.value) == "configuration error: BOT_TOKEN Value error, must not be empty"


def test_the_placeholder_token_of_the_example_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", PLACEHOLDER_BOT_TOKEN)
    with pytest.raises(ConfigError) as info:
        load()
    message = str(info.value)
    assert "BOT_TOKEN" in message and "placeholder from .env.example" in message
    assert PLACEHOLDER_BOT_TOKEN not in message
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text("utf-8")
    assert f"BOT_TOKEN={PLACEHOLDER_BOT_TOKEN}\n" in example


@pytest.mark.parametrize("value", ["no-colon-here", "abc:def", "123:has space", "123:"])
def test_a_token_not_shaped_like_botfathers_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", value)
    with pytest.raises(ConfigError) as info:
        load()
    assert "BOT_TOKEN Value error, must look like 123456:ABC-DEF" in str(info.value)
    assert value not in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLOT_STEP_MIN", "fifteen"),
        ("SLOT_STEP_MIN", "0"),
        ("HOLD_TTL_SECONDS", "1.5x"),
        ("FSM_TTL_SECONDS", "300"),  # shorter than the default 600 s hold
        ("WEBHOOK_PORT", "70000"),
        ("LATE_CANCEL_REFUND_PERCENT", "101"),
        ("DATABASE_URL", "mysql://root@localhost/booking"),
        ("DATABASE_URL", "postgresql://postgres@localhost/booking"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus_Mons"),
        ("DEFAULT_TIMEZONE", "localtime"),
        ("DEFAULT_TIMEZONE", "right/Europe/Moscow"),
        ("DEFAULT_LANGUAGE", "de"),
        ("AGENDA_TIME", "25:99"),
        ("ADMIN_IDS", "1, two"),
        ("REMINDER_OFFSETS", "24h,soon"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_LEVEL", "TRACE"),
        ("BOT_TOKEN", "not-a-token"),
        ("BOT_TOKEN", "123456:has space"),
        ("CURRENCY", "R$1"),
        ("CURRENCY", "RUBL"),
        ("WEBHOOK_URL", "bot.example.com"),
        ("TELEGRAM_API_URL", "127.0.0.1:8081"),
        ("WEBHOOK_PATH", "telegram/webhook"),
        ("WEBHOOK_SECRET", "no spaces or ! allowed"),
        ("WEBHOOK_SECRET", "x" * 257),
    ],
)
def test_malformed_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    message = config_error(monkeypatch, **{name: value})
    assert name in message
    assert message.startswith("configuration error:")


def test_bad_log_level_stops_the_command_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`LOG_LEVEL=verbose python -m bot`: the one-line error and exit code 2, not logging's
    traceback (and no connection is tried: the settings are checked first)."""
    from bot.__main__ import main

    monkeypatch.setenv("LOG_LEVEL", "verbose")
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("configuration error: LOG_LEVEL")
    assert err.count("\n") == 1


@pytest.mark.parametrize(("raw", "expected"), [("debug", "DEBUG"), (" Warning ", "WARNING")])
def test_log_level_is_case_insensitive(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: str
) -> None:
    monkeypatch.setenv("LOG_LEVEL", raw)
    assert load().log_level == expected


def test_values_that_telegram_accepts_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURRENCY", "eur")
    monkeypatch.setenv("WEBHOOK_SECRET", "Abc_123-xyz")
    monkeypatch.setenv("TELEGRAM_API_URL", "")
    settings = load()
    assert settings.currency == "EUR"
    assert settings.webhook_secret is not None
    assert settings.telegram_api_url is None


def test_several_bad_values_are_all_named_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TOKEN")
    message = config_error(monkeypatch, SLOT_STEP_MIN="x", DEFAULT_TIMEZONE="Nowhere/Land")
    for name in ("BOT_TOKEN", "SLOT_STEP_MIN", "DEFAULT_TIMEZONE"):
        assert name in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1, 2", [1, 2]),
        ("1,2", [1, 2]),
        (" 42 ", [42]),
        ("", []),
        ("7,", [7]),
    ],
)
def test_admin_ids_are_comma_separated(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[int]
) -> None:
    monkeypatch.setenv("ADMIN_IDS", raw)
    assert load().admin_ids == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("24h,2h", [timedelta(hours=24), timedelta(hours=2)]),
        # Order does not matter: reminders are kept from the earliest (largest offset) down.
        ("2h, 24h", [timedelta(hours=24), timedelta(hours=2)]),
        ("1d,90m", [timedelta(days=1), timedelta(minutes=90)]),
        ("2h,2h", [timedelta(hours=2)]),
        ("", []),
    ],
)
def test_reminder_offsets_parse(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[timedelta]
) -> None:
    monkeypatch.setenv("REMINDER_OFFSETS", raw)
    assert load().reminder_offsets == expected


@pytest.mark.parametrize("raw", ["24", "h", "0h", "-2h", "2w", "2 hours", "24h;2h"])
def test_reminder_offsets_reject_what_is_not_a_duration(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    message = config_error(monkeypatch, REMINDER_OFFSETS=raw)
    assert "REMINDER_OFFSETS" in message


def test_parse_duration_units() -> None:
    assert parse_duration("45m") == timedelta(minutes=45)
    assert parse_duration(" 3H ") == timedelta(hours=3)
    assert parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ValueError):
        parse_duration("0m")


def test_env_names_are_case_insensitive_and_override_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("slot_step_min", "30")
    monkeypatch.setenv("CURRENCY", "EUR")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com")
    settings = load()
    assert settings.slot_step_min == 30
    assert settings.currency == "EUR"
    assert settings.webhook_enabled


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TOKEN")
    env_file = tmp_path / ".env"
    env_file.write_text("BOT_TOKEN=999:FILE\nFREE_CANCEL_HOURS=12\n", encoding="utf-8")
    settings = load_settings(_env_file=str(env_file))
    assert settings.bot_token.get_secret_value() == "999:FILE"
    assert settings.free_cancel_hours == 12


@pytest.mark.parametrize(
    ("value", "stored", "url"),
    [
        ("@salon_admin", "@salon_admin", "https://t.me/salon_admin"),
        ("salon_admin", "@salon_admin", "https://t.me/salon_admin"),
        ("+7 (999) 123-45-67", "+79991234567", "https://t.me/+79991234567"),
        ("", None, None),
    ],
)
def test_admin_contact_is_a_username_or_a_phone(
    monkeypatch: pytest.MonkeyPatch, value: str, stored: str | None, url: str | None
) -> None:
    monkeypatch.setenv("ADMIN_CONTACT", value)
    settings = load()
    assert (settings.admin_contact, settings.admin_contact_url) == (stored, url)


def test_an_admin_contact_that_is_neither_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = config_error(monkeypatch, ADMIN_CONTACT="call the front desk")
    assert "ADMIN_CONTACT" in message and "username" in message
