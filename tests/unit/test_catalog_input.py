"""What an admin types for catalog values: every rule of `bot.domain.catalog_input`, with the
value read or the reason it is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.catalog_input import Dated, FieldType, Hours, Shift, is_optional, parse_value
from bot.domain.errors import InputProblem, InvalidInput
from bot.domain.walltime import WallTime

TODAY = date(2031, 3, 3)


def hm(text: str) -> WallTime:
    hours, minutes = text.split(":")
    return WallTime.hm(int(hours), int(minutes))


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (FieldType.NAME, "  Стрижка  ", "Стрижка"),
        (FieldType.TEXT, "-", None),
        (FieldType.LONG_TEXT, "Мытьё и укладка", "Мытьё и укладка"),
        (FieldType.MONEY, "1500", Decimal("1500.00")),
        (FieldType.MONEY, "99,5", Decimal("99.50")),
        (FieldType.MONEY, "0", Decimal("0.00")),
        (FieldType.MONEY_OPT, "-", None),
        (FieldType.MINUTES, "1440", 1440),
        (FieldType.BREAK, "0", 0),
        (FieldType.TIMEZONE, "Asia/Yekaterinburg", "Asia/Yekaterinburg"),
        (FieldType.TIMEZONE, " UTC ", "UTC"),
        (FieldType.CAPACITY, "3", 3),
        (FieldType.CAPACITY, "0", None),
        (FieldType.HOURS, "9:00-18:00", Hours(hm("9:00"), hm("18:00"))),
        (FieldType.HOURS, "18:00-24:00", Hours(hm("18:00"), hm("24:00"))),
        (FieldType.HOURS, "18:00-00:00", Hours(hm("18:00"), hm("24:00"))),
        (FieldType.HOURS, "off", None),
        (FieldType.HOURS, "Выходной", None),
        (
            FieldType.SHIFT,
            "10:00-19:00 Кресло 2",
            Shift(Hours(hm("10:00"), hm("19:00")), "Кресло 2"),
        ),
        (FieldType.SHIFT, "-", Shift(None)),
        (FieldType.DATED, "08.03", Dated(date(2031, 3, 8))),
        (
            FieldType.DATED,
            "08.03.2032 10:00-14:00",
            Dated(date(2032, 3, 8), Hours(hm("10:00"), hm("14:00"))),
        ),
        (FieldType.HOLIDAY, "08.03", Dated(date(2031, 3, 8))),
        (
            FieldType.HOLIDAY,
            "08.03 10:00-14:00",
            Dated(date(2031, 3, 8), Hours(hm("10:00"), hm("14:00"))),
        ),
        (FieldType.HOLIDAY, "08.03 open", Dated(date(2031, 3, 8), usual_hours=True)),
        (FieldType.HOLIDAY, "08.03.2032  Открыто ", Dated(date(2032, 3, 8), usual_hours=True)),
    ],
)
def test_a_value_is_read(kind: FieldType, text: str, value: object) -> None:
    assert parse_value(kind, text, TODAY) == value


@pytest.mark.parametrize(
    ("kind", "text", "problem"),
    [
        (FieldType.NAME, "x" * 101, InputProblem.TEXT_TOO_LONG),
        (FieldType.NAME, "-", None),  # a name is never cleared: "-" is a name
        (FieldType.MONEY, "12.345", InputProblem.AMOUNT_DECIMALS),
        (FieldType.MONEY, "-5", InputProblem.AMOUNT_FORMAT),
        (FieldType.MONEY, "1e3", InputProblem.AMOUNT_FORMAT),
        (FieldType.MONEY, "2000000", InputProblem.AMOUNT_TOO_LARGE),
        (FieldType.MONEY, "1" + "0" * 30, InputProblem.AMOUNT_TOO_LARGE),
        (FieldType.MINUTES, "0", InputProblem.MINUTES_RANGE),
        (FieldType.MINUTES, "1441", InputProblem.MINUTES_RANGE),
        (FieldType.MINUTES, "4.5", InputProblem.WHOLE_NUMBER),
        (FieldType.MINUTES, "-", InputProblem.WHOLE_NUMBER),  # required: not cleared
        (FieldType.TIMEZONE, "Mars/Olympus", InputProblem.TIMEZONE_UNKNOWN),
        (FieldType.TIMEZONE, "../etc/passwd", InputProblem.TIMEZONE_UNKNOWN),
        # Files of the tz database that are no place's zone (the host's clock, leap seconds).
        (FieldType.TIMEZONE, "localtime", InputProblem.TIMEZONE_UNKNOWN),
        (FieldType.TIMEZONE, "right/UTC", InputProblem.TIMEZONE_UNKNOWN),
        (FieldType.TIMEZONE, "posix/Europe/Moscow", InputProblem.TIMEZONE_UNKNOWN),
        (FieldType.TIMEZONE, "Factory", InputProblem.TIMEZONE_UNKNOWN),
        (FieldType.CAPACITY, "-1", InputProblem.WHOLE_NUMBER),
        (FieldType.HOURS, "18:00-9:00", InputProblem.HOURS_ORDER),
        (FieldType.HOURS, "24:00-24:00", InputProblem.HOURS_ORDER),
        (FieldType.HOURS, "10:00-10:00", InputProblem.HOURS_ORDER),
        (FieldType.HOURS, "9-18", InputProblem.TIME_FORMAT),
        (FieldType.HOURS, "25:00-26:00", InputProblem.TIME_FORMAT),
        (FieldType.HOURS, "9:60-18:00", InputProblem.TIME_FORMAT),
        (FieldType.HOURS, "9:00-18:00 Кресло", InputProblem.TIME_FORMAT),
        (FieldType.SHIFT, "10:00", InputProblem.TIME_FORMAT),
        (FieldType.DATED, "31.02", InputProblem.DATE_FORMAT),
        (FieldType.DATED, "08.03 14:00-10:00", InputProblem.HOURS_ORDER),
        (FieldType.DATED, "08.03 13-14", InputProblem.TIME_FORMAT),
        (FieldType.DATED, "08.03 open", InputProblem.TIME_FORMAT),  # a break has no usual hours
        (FieldType.HOLIDAY, "08.03 opened", InputProblem.TIME_FORMAT),
        (FieldType.HOLIDAY, "open", InputProblem.DATE_FORMAT),
        (FieldType.HOLIDAY, "31.02 open", InputProblem.DATE_FORMAT),
        (FieldType.NAME, "   ", InputProblem.NAME_EMPTY),
    ],
)
def test_a_wrong_value_names_its_rule(
    kind: FieldType, text: str, problem: InputProblem | None
) -> None:
    if problem is None:
        assert parse_value(kind, text, TODAY) == text
        return
    with pytest.raises(InvalidInput) as refused:
        parse_value(kind, text, TODAY)
    assert refused.value.reason is problem


def test_a_holiday_is_working_with_hours_or_the_usual_ones() -> None:
    closed, usual, hours = (
        parse_value(FieldType.HOLIDAY, text, TODAY)
        for text in ("08.03", "08.03 open", "08.03 9:00-12:00")
    )
    assert isinstance(closed, Dated) and isinstance(usual, Dated) and isinstance(hours, Dated)
    assert (closed.is_working, usual.is_working, hours.is_working) == (False, True, True)


@pytest.mark.parametrize("kind", list(FieldType))
def test_an_empty_value_is_refused_for_what_it_is_or_clears(kind: FieldType) -> None:
    """Every editor field, typed blank: an optional one is cleared; a required one names its
    own rule, never another field's (a name is not "a comment is required")."""
    try:
        value = parse_value(kind, "   ", TODAY)
    except InvalidInput as refused:
        expected = InputProblem.NAME_EMPTY if kind is FieldType.NAME else None
        assert refused.reason is not InputProblem.TEXT_EMPTY
        if expected is not None:
            assert refused.reason is expected
        return
    assert is_optional(kind) and value is None
