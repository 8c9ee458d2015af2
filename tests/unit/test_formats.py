"""Dates, times, zones and money as every screen writes them (bot/formats.py), in both
languages, from CLDR data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot import formats

NBSP = "\xa0"
WED = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("amount", "lang", "expected"),
    [
        ("1800", "ru", f"1{NBSP}800{NBSP}₽"),
        ("1800", "en", "₽1,800"),
        ("1800.5", "ru", f"1{NBSP}800,50{NBSP}₽"),
        ("1800.50", "en", "₽1,800.50"),
        ("0", "en", "₽0"),
        ("1234567.891", "en", "₽1,234,567.89"),
        (Decimal("1499.995"), "ru", f"1{NBSP}500{NBSP}₽"),
        (250, "ru", f"250{NBSP}₽"),
    ],
)
def test_money_groups_thousands_and_shows_decimals_only_when_not_whole(
    amount: str, lang: str, expected: str
) -> None:
    assert formats.money(amount, "RUB", lang) == expected


def test_money_uses_the_locale_sign_of_other_currencies() -> None:
    assert formats.money("1800", "EUR", "en") == "€1,800"
    assert formats.money("1800", "EUR", "ru") == f"1{NBSP}800{NBSP}€"
    assert formats.narrow_symbol("RUB") == "₽"
    assert formats.narrow_symbol("XXX") == "XXX"


def test_money_from_and_unknown_language_fall_back_to_russian() -> None:
    assert formats.money_from("900", "RUB", "en") == "from ₽900"
    assert formats.money_from("900", "RUB", "ru") == f"от 900{NBSP}₽"
    assert formats.money("900", "RUB", "de") == formats.money("900", "RUB", "ru")
    assert formats.money("abc", "RUB", "en") == "abc RUB"


def test_day_names_today_and_tomorrow_else_weekday_day_month() -> None:
    assert formats.day(WED, "en") == "Wed 2 Dec"
    assert formats.day(WED, "ru") == "ср, 2 дек."
    assert formats.day(WED, "en", today=WED) == "Today"
    assert formats.day(WED, "ru", today=WED) == "Сегодня"
    assert formats.day(WED, "en", today=date(2026, 12, 1)) == "Tomorrow"
    assert formats.day(WED, "ru", today=date(2026, 12, 1)) == "Завтра"
    assert formats.day(WED, "en", today=date(2026, 11, 29)) == "Wed 2 Dec"
    # Within the booking horizon across New Year: no year; far away: the year.
    assert formats.day(date(2027, 1, 2), "en", today=WED) == "Sat 2 Jan"
    assert "2025" in formats.day(date(2025, 12, 2), "en", today=WED)
    assert formats.weekday(WED, "en") == "Wed"
    assert formats.weekday(WED, "ru") == "ср"


def test_times_are_24_hour_in_the_given_zone() -> None:
    instant = datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
    assert formats.hhmm(instant, "Europe/Moscow") == "16:30"
    assert formats.hhmm(instant, ZoneInfo("Asia/Yekaterinburg")) == "18:30"
    assert formats.day_time(instant, "Europe/Moscow", "en") == "Wed 2 Dec 16:30"
    assert formats.day_time(instant, "Europe/Moscow", "en", today=WED) == "Today 16:30"
    assert formats.day_time(instant, "Europe/Moscow", "ru", today=WED) == "Сегодня 16:30"
    assert formats.today_in("Asia/Tokyo", datetime(2026, 12, 1, 20, 0, tzinfo=UTC)) == WED


def test_zone_is_named_once_and_only_when_it_can_be_misread() -> None:
    moscow, yekat = "Europe/Moscow", "Asia/Yekaterinburg"
    assert formats.zone_note([moscow, moscow], moscow, "en") == ""
    assert formats.zone_note([], yekat, "en") == ""
    assert formats.zone_note([moscow], yekat, "en") == "Moscow Time"
    assert formats.zone_note([moscow], yekat, "ru") == "время: Москва"
    assert formats.zone_note([moscow], None, "en") == "Moscow Time"
    # Times in several zones: each names its own (`zone_name`), the screen none.
    assert formats.zone_note([moscow, yekat], moscow, "en") == ""
    assert formats.zone_name(yekat, "en") == "Yekaterinburg Time"
