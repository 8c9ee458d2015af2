"""Statistics periods: named ones relative to today, custom `DD.MM-DD.MM`, and refusals."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.periods import (
    BadPeriod,
    PeriodKind,
    parse_day,
    parse_period,
    period_from_token,
    period_token,
)

TODAY = date(2031, 3, 20)  # a Thursday


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("today", TODAY, TODAY),
        ("week", date(2031, 3, 17), TODAY),
        ("MONTH", date(2031, 3, 1), TODAY),
        ("30d", date(2031, 2, 19), TODAY),
        ("01.03-15.03", date(2031, 3, 1), date(2031, 3, 15)),
        (" 1.3 - 2.3 ", date(2031, 3, 1), date(2031, 3, 2)),
        ("20.12-10.01", date(2030, 12, 20), date(2031, 1, 10)),
        ("28.02.2030-01.03.2030", date(2030, 2, 28), date(2030, 3, 1)),
    ],
)
def test_periods(text: str, first: date, last: date) -> None:
    period = parse_period(text, TODAY)
    assert (period.first, period.last) == (first, last)
    assert len(period.days) == (last - first).days + 1


def test_named_kind_is_kept() -> None:
    assert parse_period("week", TODAY).kind is PeriodKind.WEEK
    assert parse_period("01.03-02.03", TODAY).kind is PeriodKind.CUSTOM


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("yesterday", "format"),
        ("01.03", "format"),
        ("01.03-", "format"),
        ("32.01-02.02", "date"),
        ("29.02-01.03", "date"),  # 2031 is not a leap year
        ("10.03.2031-01.03.2031", "order"),
        ("01.01.2029-01.01.2031", "too_long"),
    ],
)
def test_refused(text: str, reason: str) -> None:
    with pytest.raises(BadPeriod) as caught:
        parse_period(text, TODAY)
    assert caught.value.reason == reason


@pytest.mark.parametrize("text", ["today", "week", "month", "30d", "01.03-15.03", "20.12-10.01"])
def test_token_round_trip(text: str) -> None:
    period = parse_period(text, TODAY)
    assert period_from_token(period_token(period), TODAY) == period


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "format"),
        ("custom", "format"),
        ("2031-03-01", "format"),
        ("20310230-20310301", "date"),
        ("20310310-20310301", "order"),
        ("20290101-20310101", "too_long"),
    ],
)
def test_forged_tokens_are_refused(token: str, reason: str) -> None:
    with pytest.raises(BadPeriod) as caught:
        period_from_token(token, TODAY)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20.03", date(2031, 3, 20)),
        (" 8.3 ", date(2032, 3, 8)),  # 08.03 has passed this year: next year's
        ("01.01.2032", date(2032, 1, 1)),
    ],
)
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("20/03", "format"), ("tomorrow", "format"), ("30.02", "date"), ("19.03.2031", "past")],
)
def test_parse_day_refuses(text: str, reason: str) -> None:
    with pytest.raises(BadPeriod) as caught:
        parse_day(text, TODAY)
    assert caught.value.reason == reason
