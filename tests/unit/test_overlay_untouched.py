"""When a cached date may skip the overlay (`_untouched`): nothing of the asking client's and
no hold meets the span its candidates can reach, which runs past the date's window by the
longest block a candidate can have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.types import HeldInterval
from bot.services.availability import _untouched
from db.repositories.catalog import LONGEST_BLOCK

OPEN = datetime(2031, 3, 4, 6, 0, tzinfo=UTC)
WINDOW = (OPEN, OPEN + timedelta(hours=12))  # 09:00-21:00 in Moscow


def held(start: datetime, hours: float = 1) -> HeldInterval:
    end = start + timedelta(hours=hours)
    return HeldInterval(7, 1, 2, 3, start, end, end)


def test_a_hold_after_the_window_touches_the_dates_late_candidates() -> None:
    # A candidate starting at 20:45 for two hours meets a hold at 21:30: the date is touched.
    after = WINDOW[1] + timedelta(minutes=30)
    assert _untouched(WINDOW, [held(after)], [], None) is False
    assert _untouched(WINDOW, [], [(after, after + timedelta(hours=1))], None) is False
    # Just inside the margin, and just past it.
    edge = WINDOW[1] + LONGEST_BLOCK
    assert _untouched(WINDOW, [held(edge - timedelta(minutes=1))], [], None) is False
    assert _untouched(WINDOW, [held(edge)], [], None) is True


def test_what_ends_by_the_windows_start_or_a_capacity_count_decide_alike() -> None:
    before = held(WINDOW[0] - timedelta(hours=1))  # ends at 09:00, as the first start begins
    assert _untouched(WINDOW, [before], [], None) is True
    assert _untouched(WINDOW, [], [], None) is True
    # The cap in play (the location counts appointments in progress): never untouched.
    assert _untouched(WINDOW, [], [], True) is False
