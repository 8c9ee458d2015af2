"""The booking horizon (docs/rules.md#slot-grid): which location-local dates can be booked at all.

"Bookable up to N days ahead" means every date from today through today + N inclusive, counted
in the location's local dates: with N = 1 a client at 20:00 can book tomorrow; with N = 5 the
dates are today .. today+5. The slot engine, the date pickers, confirm, reschedule and the
waitlist all ask these functions, so the rule has one place.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class DateRefusal(StrEnum):
    """Why a date is outside the bookable range (its value is the domain error's reason)."""

    PAST = "past"
    HORIZON = "horizon"


def last_bookable_date(today: date, horizon_days: int) -> date:
    """today + `horizon_days` (the last date a time can be booked on, inclusive)."""
    return today + timedelta(days=horizon_days)


def bookable_dates(today: date, horizon_days: int) -> list[date]:
    """Every date from `today` through today + `horizon_days` inclusive, in order
    (`horizon_days` + 1 dates)."""
    return [today + timedelta(days=i) for i in range(horizon_days + 1)]


def date_refusal(day: date, today: date, horizon_days: int) -> DateRefusal | None:
    """None when `day` is bookable; PAST before `today`, HORIZON after the last bookable date."""
    if day < today:
        return DateRefusal.PAST
    if day > last_bookable_date(today, horizon_days):
        return DateRefusal.HORIZON
    return None
