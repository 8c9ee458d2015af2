"""Typed dates outside the product's range [2000-01-01, 2100-01-01) are refused as wrong dates
by every parser (they crashed the statistics and the day view: the day's bounds overflowed, or
no button could carry the date)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain import admin_input, catalog_input, periods
from bot.domain.errors import InputProblem, InvalidInput

TODAY = date(2026, 12, 1)
OUTSIDE = ["01.01.0001", "31.12.9999", "01.01.1999", "01.01.2100"]


@pytest.mark.parametrize("text", OUTSIDE)
def test_admin_dates_outside_the_range_are_wrong_dates(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        admin_input.parse_day(text, TODAY)
    assert refused.value.reason is InputProblem.DATE_FORMAT
    with pytest.raises(InvalidInput):
        catalog_input.parse_dated(f"{text} 10:00-12:00", TODAY)


@pytest.mark.parametrize("text", OUTSIDE)
def test_periods_and_days_outside_the_range_are_wrong_dates(text: str) -> None:
    with pytest.raises(periods.BadPeriod) as refused:
        periods.parse_period(f"{text}-{text}", TODAY)
    assert refused.value.reason == "date"
    with pytest.raises(periods.BadPeriod):
        periods.parse_day(text, TODAY)
    token = f"{text[6:]}{text[3:5]}{text[:2]}"
    with pytest.raises(periods.BadPeriod):
        periods.period_from_token(f"{token}-{token}", TODAY)


def test_the_edges_of_the_range() -> None:
    assert admin_input.parse_day("01.01.2000", TODAY) == date(2000, 1, 1)
    assert admin_input.parse_day("31.12.2099", TODAY) == date(2099, 12, 31)
    assert periods.parse_period("30.12.2099-31.12.2099", TODAY).last == date(2099, 12, 31)
