"""The end of a day, `24:00`, as a closing time at every layer of the pure engine: the value
type, working pieces, the slot grid (also on dates with a DST change at or before midnight)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.domain.schedule import specialist_hours
from bot.domain.slots import Reason
from bot.domain.walltime import END_OF_DAY, MIDNIGHT, WallTime, closing_time
from tests.unit.test_slots_world import World, t

MON = dt.date(2030, 3, 4)


def evening_world(tz: str = "Europe/Moscow") -> World:
    """A location open 18:00-24:00 every day, one specialist with the same hours, a 60-minute
    service with no break."""
    w = World(tz=tz)
    w.service = w.service.__class__(1, duration_min=60, break_min=0, price=w.service.price)
    w.weekly = {d: w.weekly[d].__class__(d, t("18:00"), t("24:00")) for d in range(1, 8)}
    w.workplace(10)
    w.specialist(1, "18:00", "24:00")
    return w


def test_open_until_midnight_offers_23_00_as_the_last_start() -> None:
    w = evening_world()
    now = w.at(MON - dt.timedelta(days=1), "09:00")
    times = w.times(MON, now)
    assert times[0] == "18:00"
    assert times[-1] == "23:00"
    assert w.why(MON, "23:00", now) is Reason.OK
    offer = w.slots(MON, now)[-1]
    assert offer.start == w.at(MON, "23:00")


def test_the_working_piece_runs_to_the_next_dates_midnight() -> None:
    w = evening_world()
    pieces = specialist_hours(w.catalog(), w.calendar(), 1, MON)
    assert pieces == [(dt.datetime(2030, 3, 4, 18), dt.datetime(2030, 3, 5, 0))]


def test_a_break_until_midnight_ends_the_day_at_its_start() -> None:
    w = World()
    w.weekly = {d: w.weekly[d].__class__(d, t("10:00"), t("24:00")) for d in range(1, 8)}
    w.workplace(10)
    w.specialist(1, "10:00", "24:00")
    w.break_(1, MON, "17:00", "24:00")
    now = w.at(MON - dt.timedelta(days=1), "09:00")
    # 60 min + 15 min break: 15:45 is the last start before 17:00; the next date is untouched.
    assert w.times(MON, now)[-1] == "15:45"
    assert w.times(MON + dt.timedelta(days=1), now)[-1] == "22:45"


@pytest.mark.parametrize(
    ("tz", "day", "hours", "last"),
    [
        # Clocks go back at midnight: 23:00-24:00 happens twice, so 18:00-24:00 lasts 7 hours
        # and a start at the first 23:45 ends at the second 23:45, before midnight. The
        # second pass's starts are not offered (an ambiguous time is its first occurrence).
        ("America/Santiago", dt.date(2026, 4, 4), 7, "23:45"),
        # Clocks jump from 24:00 to 01:00: midnight itself does not exist; the day ends at the
        # jump.
        ("America/Santiago", dt.date(2026, 9, 5), 6, "23:00"),
        # The night before a 02:00 spring-forward.
        ("Europe/Berlin", dt.date(2026, 3, 28), 6, "23:00"),
    ],
)
def test_midnight_end_before_a_dst_change(tz: str, day: dt.date, hours: int, last: str) -> None:
    w = evening_world(tz)
    now = w.at(day - dt.timedelta(days=1), "09:00")
    offers = w.slots(day, now)
    walls = [o.start.astimezone(w.zone).strftime("%H:%M") for o in offers]
    assert walls[0] == "18:00"
    assert walls[-1] == last
    assert len(walls) == len(set(walls))  # no wall-clock time offered twice
    plan = w.plan(day)
    piece = plan.pieces[1][0]
    assert piece.end - piece.start == dt.timedelta(hours=hours)
    # The last start ends no later than the piece, and the piece ends where the date does.
    assert offers[-1].start + dt.timedelta(hours=1) <= piece.end == plan.window[1]


def test_wall_time_reads_writes_and_orders_the_end_of_day() -> None:
    assert WallTime.parse("24:00") == END_OF_DAY == WallTime.hm(24)
    assert WallTime.parse("24:00:00") == END_OF_DAY
    assert str(END_OF_DAY) == "24:00"
    assert WallTime.parse("09:05:30.25") == WallTime(9 * 3600 + 5 * 60 + 30)
    assert str(WallTime.parse("09:05:30")) == "09:05:30"
    assert WallTime.of(dt.time(23, 59)) < END_OF_DAY
    assert END_OF_DAY.on(MON) == dt.datetime(2030, 3, 5, 0, 0)
    for bad in ("24:01", "24:00:01", "25:00", "12:60", "noon", "-1:00"):
        with pytest.raises(ValueError):
            WallTime.parse(bad)
    with pytest.raises(ValueError):
        WallTime(86_401)


def test_a_closing_time_of_00_00_after_a_later_start_is_midnight() -> None:
    assert closing_time(t("18:00"), MIDNIGHT) == END_OF_DAY
    assert closing_time(MIDNIGHT, MIDNIGHT) == MIDNIGHT  # 00:00-00:00 stays empty (refused)
    assert closing_time(t("18:00"), t("23:00")) == t("23:00")
