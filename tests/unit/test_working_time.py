"""Working time as instants: DST, holidays, breaks; fitting an appointment; capacity cuts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.catalog import BreakRow, Calendar, Holiday, LocationHours, Shift, WeeklyHours
from bot.domain.walltime import WallTime
from bot.domain.working_time import (
    Occupying,
    fits_working_time,
    over_capacity,
    working_instants,
    working_minutes,
)

SUNDAY_DST = date(2031, 3, 30)  # Berlin springs forward at 02:00


def hours(start: WallTime, end: WallTime) -> LocationHours:
    return LocationHours(
        location_id=1,
        timezone="Europe/Berlin",
        capacity=None,
        weekly_hours={d: WeeklyHours(d, WallTime.hm(0), WallTime.hm(23)) for d in range(1, 8)},
        shifts={(7, d): Shift(7, d, start, end) for d in range(1, 8)},
    )


def test_a_dst_night_is_an_hour_shorter() -> None:
    h = hours(WallTime.hm(1), WallTime.hm(5))
    assert working_minutes(h, Calendar(), SUNDAY_DST, SUNDAY_DST) == {7: 180}
    assert working_minutes(h, Calendar(), date(2031, 3, 23), date(2031, 3, 23)) == {7: 240}


def test_holidays_and_breaks_are_off() -> None:
    h = hours(WallTime.hm(9), WallTime.hm(17))
    monday, tuesday, wednesday = date(2031, 3, 24), date(2031, 3, 25), date(2031, 3, 26)
    calendar = Calendar(
        holidays={monday: Holiday(monday, is_working=False)},
        breaks={
            (7, tuesday): (BreakRow(7, tuesday, WallTime.hm(12), WallTime.hm(13)),),
            (7, wednesday): (BreakRow(7, wednesday),),
        },
    )
    assert working_minutes(h, calendar, monday, wednesday) == {7: 0 + 420 + 0}
    assert working_minutes(h, calendar, monday, wednesday, [7, 8]) == {7: 420, 8: 0}


def test_fits_working_time() -> None:
    tuesday = date(2031, 3, 25)
    calendar = Calendar(
        breaks={(7, tuesday): (BreakRow(7, tuesday, WallTime.hm(12), WallTime.hm(13)),)}
    )
    pieces = working_instants(hours(WallTime.hm(9), WallTime.hm(17)), calendar, 7, tuesday)
    nine = datetime(2031, 3, 25, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert fits_working_time(pieces, nine, nine + timedelta(hours=3))
    assert not fits_working_time(pieces, nine, nine + timedelta(hours=3, minutes=1))
    assert not fits_working_time(pieces, nine - timedelta(minutes=1), nine)


def test_capacity_cut_keeps_the_earliest_booked() -> None:
    t = datetime(2031, 3, 25, 8, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    appts = [
        Occupying(3, t, t + hour),
        Occupying(1, t, t + 2 * hour),
        Occupying(2, t + hour, t + 2 * hour),  # never at once with 3
        Occupying(4, t + hour / 2, t + hour),
    ]
    assert over_capacity(appts, 2) == [4]
    assert over_capacity(appts, 1) == [2, 3, 4]
    assert over_capacity(appts, None) == [] == over_capacity(appts, 0)
