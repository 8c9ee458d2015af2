"""What an admin types: money, percents, dates, free text and phones, each refused by rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.admin_input import (
    check_text,
    looks_like_phone,
    parse_amount,
    parse_day,
    parse_percent,
    parse_tg_id,
    to_e164,
    unquote,
)
from bot.domain.errors import InputProblem, InvalidInput

TODAY = date(2031, 3, 3)


@pytest.mark.parametrize(
    ("text", "signed", "expected"),
    [
        ("1500", False, Decimal("1500.00")),
        ("99,5", False, Decimal("99.50")),
        (" 1 000.25 ", False, Decimal("1000.25")),
        ("-200.25", True, Decimal("-200.25")),
        ("+10", True, Decimal("10.00")),
        ("1000000", False, Decimal("1000000.00")),
    ],
)
def test_amounts_accepted(text: str, signed: bool, expected: Decimal) -> None:
    assert parse_amount(text, signed=signed) == expected


@pytest.mark.parametrize(
    ("text", "signed", "problem"),
    [
        ("abc", False, InputProblem.AMOUNT_FORMAT),
        ("1e5", False, InputProblem.AMOUNT_FORMAT),
        ("NaN", True, InputProblem.AMOUNT_FORMAT),
        ("-5", False, InputProblem.AMOUNT_NOT_POSITIVE),
        ("0", False, InputProblem.AMOUNT_NOT_POSITIVE),
        ("0.00", True, InputProblem.AMOUNT_ZERO),
        ("1.001", False, InputProblem.AMOUNT_DECIMALS),
        ("1000000.01", False, InputProblem.AMOUNT_TOO_LARGE),
        ("-1000001", True, InputProblem.AMOUNT_TOO_LARGE),
        # Beyond Decimal's 28 digits: refused by size, never a rounding error.
        ("1" + "0" * 30, False, InputProblem.AMOUNT_TOO_LARGE),
        ("-" + "9" * 40, True, InputProblem.AMOUNT_TOO_LARGE),
        ("-" + "9" * 40, False, InputProblem.AMOUNT_NOT_POSITIVE),
        ("9" * 30 + ".125", False, InputProblem.AMOUNT_TOO_LARGE),
        ("", False, InputProblem.AMOUNT_FORMAT),
    ],
)
def test_amounts_refused(text: str, signed: bool, problem: InputProblem) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount(text, signed=signed)
    assert refused.value.reason is problem


def test_percents() -> None:
    assert parse_percent("15") == Decimal("15.00")
    assert parse_percent("12,5%") == Decimal("12.50")
    assert parse_percent("0") == Decimal("0.00")
    for bad in ("101", "-1", "ten", "", "100.001"):
        with pytest.raises(InvalidInput):
            parse_percent(bad)


def test_days() -> None:
    assert parse_day("05.03", TODAY) == date(2031, 3, 5)
    assert parse_day("5.3.2032", TODAY) == date(2032, 3, 5)
    for bad in ("31.02", "00.01", "1/3", "05.13", "tomorrow", "05.03.31"):
        with pytest.raises(InvalidInput) as refused:
            parse_day(bad, TODAY)
        assert refused.value.reason is InputProblem.DATE_FORMAT


def test_free_text() -> None:
    assert check_text("  <b>hi</b> ", 20, required=True) == "<b>hi</b>"
    assert check_text("   ", 20, required=False) is None
    with pytest.raises(InvalidInput) as empty:
        check_text(" ", 20, required=True)
    assert empty.value.reason is InputProblem.TEXT_EMPTY
    with pytest.raises(InvalidInput) as no_name:
        check_text("", 20, required=True, empty=InputProblem.NAME_EMPTY)
    assert no_name.value.reason is InputProblem.NAME_EMPTY
    with pytest.raises(InvalidInput) as long:
        check_text("x" * 21, 20, required=False)
    assert (long.value.reason, long.value.limit) == (InputProblem.TEXT_TOO_LONG, 20)


def test_phones_become_e164() -> None:
    assert to_e164("8 (916) 123-45-67", "RU") == "+79161234567"
    assert to_e164("+44 20 7946 0958", "RU") == "+442079460958"
    assert to_e164("12345", "RU") is None
    assert to_e164("not a phone", "RU") is None
    assert looks_like_phone("+7 916 123-45-67") and not looks_like_phone("Anna 123")


@pytest.mark.parametrize(
    ("text", "signed", "expected"),
    [
        ("−500", True, Decimal("-500.00")),  # the Unicode minus
        ("– 20", True, Decimal("-20.00")),  # an en dash, a space after it
        ("＋10", True, Decimal("10.00")),
    ],
)
def test_typed_signs_are_signs(text: str, signed: bool, expected: Decimal) -> None:
    assert parse_amount(text, signed=signed) == expected


@pytest.mark.parametrize("text", ["-5", "−500", "—1"])
def test_a_negative_amount_where_only_positive_fits_is_not_positive(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount(text)
    assert refused.value.reason is InputProblem.AMOUNT_NOT_POSITIVE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Anna Petrova"', "Anna Petrova"),
        ("«Анна Петрова»", "Анна Петрова"),
        ("“Anna Petrova”", "Anna Petrova"),
        ("„Anna“", "Anna"),
        ("  ' Anna '  ", "Anna"),
        ('"Anna', '"Anna'),
        ("Anna Petrova", "Anna Petrova"),
        ('"', '"'),
        ("", ""),
    ],
)
def test_unquote(text: str, expected: str) -> None:
    assert unquote(text) == expected


def test_telegram_ids() -> None:
    assert parse_tg_id(" 123456789 ") == 123456789
    assert parse_tg_id(str(2**53)) == 2**53
    for text in ("", "abc", "0", "-5", "+5", "1.5", str(2**53 + 1), "9" * 20, "１２３", "12 34"):
        with pytest.raises(InvalidInput) as refused:
            parse_tg_id(text)
        assert refused.value.reason is InputProblem.TG_ID, text


@pytest.mark.parametrize("blank", ["", "   ", "\u200b", "\u3164", " \ufeff\u200d ", "\u2800"])
def test_text_that_draws_nothing_is_empty(blank: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_text(blank, 100, required=True, empty=InputProblem.NAME_EMPTY)
    assert refused.value.reason is InputProblem.NAME_EMPTY
    assert check_text(blank, 100, required=False) is None


def test_visible_text_is_kept_as_typed() -> None:
    assert check_text(" \u200bAnna ", 100, required=True) == "\u200bAnna"
    assert check_text("😀", 100, required=True) == "😀"
