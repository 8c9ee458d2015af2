"""The demo's movable clock: only forward, and "the next 09:00" in the salon's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.demo.clock import DemoClock

MOSCOW = ZoneInfo("Europe/Moscow")
WALL = datetime(2030, 3, 10, 12, 30, tzinfo=UTC)  # 15:30 in Moscow


def clock() -> DemoClock:
    return DemoClock(wall=lambda: WALL)


def test_unmoved_it_is_the_wall_clock() -> None:
    assert clock().now() == WALL


def test_it_moves_forward_and_keeps_the_offset() -> None:
    c = clock()
    assert c.advance(timedelta(hours=1)) == WALL + timedelta(hours=1)
    assert c.advance(timedelta(days=1)) == WALL + timedelta(days=1, hours=1)
    assert c.now() == WALL + timedelta(days=1, hours=1)
    assert c.timestamp() == (WALL + timedelta(days=1, hours=1)).timestamp()


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(minutes=-1)])
def test_it_never_goes_back(delta: timedelta) -> None:
    c = clock()
    with pytest.raises(ValueError):
        c.advance(delta)
    assert c.now() == WALL


def test_next_nine_is_tomorrow_once_today_s_has_passed() -> None:
    c = clock()
    moved = c.advance_to_next(time(9, 0), MOSCOW)
    assert moved.astimezone(MOSCOW) == datetime(2030, 3, 11, 9, 0, tzinfo=MOSCOW)


def test_next_nine_is_today_before_it() -> None:
    c = DemoClock(wall=lambda: datetime(2030, 3, 10, 3, 0, tzinfo=UTC))  # 06:00 in Moscow
    moved = c.advance_to_next(time(9, 0), MOSCOW)
    assert moved.astimezone(MOSCOW) == datetime(2030, 3, 10, 9, 0, tzinfo=MOSCOW)
