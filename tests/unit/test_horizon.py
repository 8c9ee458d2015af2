"""The booking horizon: today through today + N inclusive, in one place for every caller."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.horizon import DateRefusal, bookable_dates, date_refusal, last_bookable_date

TODAY = dt.date(2030, 3, 5)


def test_one_day_ahead_means_today_and_tomorrow() -> None:
    assert bookable_dates(TODAY, 1) == [TODAY, TODAY + dt.timedelta(days=1)]
    assert last_bookable_date(TODAY, 1) == dt.date(2030, 3, 6)


def test_five_days_ahead_ends_at_today_plus_five() -> None:
    assert bookable_dates(TODAY, 5)[-1] == dt.date(2030, 3, 10)
    assert date_refusal(dt.date(2030, 3, 10), TODAY, 5) is None
    assert date_refusal(dt.date(2030, 3, 11), TODAY, 5) is DateRefusal.HORIZON
    assert date_refusal(dt.date(2030, 3, 4), TODAY, 5) is DateRefusal.PAST


@given(st.integers(0, 400), st.integers(-500, 500))
def test_the_list_and_the_check_agree(horizon: int, offset: int) -> None:
    day = TODAY + dt.timedelta(days=offset)
    assert (day in bookable_dates(TODAY, horizon)) == (date_refusal(day, TODAY, horizon) is None)
