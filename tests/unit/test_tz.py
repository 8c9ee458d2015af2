"""Wall-clock <-> instant conversions around DST changes, and slots on those dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.domain.catalog import WeeklyHours
from bot.domain.slots import Reason, SlotRules, explain
from bot.domain.tz import boundary_instant, day_bounds, start_instant
from tests.unit.test_slots_world import World, t

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
SPRING = dt.date(2026, 3, 29)  # Berlin: 02:00 CET -> 03:00 CEST (01:00 UTC)
FALL = dt.date(2026, 10, 25)  # Berlin: 03:00 CEST -> 02:00 CET (01:00 UTC)


def local(day: dt.date, hhmm: str) -> dt.datetime:
    return t(hhmm).on(day)


def test_nonexistent_time_is_not_a_start() -> None:
    assert start_instant(local(SPRING, "02:30"), BERLIN) is None
    assert start_instant(local(SPRING, "03:00"), BERLIN) == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )
    assert start_instant(local(SPRING, "01:59"), BERLIN) == dt.datetime(
        2026, 3, 29, 0, 59, tzinfo=UTC
    )


def test_ambiguous_time_is_the_first_occurrence() -> None:
    first = start_instant(local(FALL, "02:30"), BERLIN)
    assert first == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still CEST (+2)


def test_boundary_in_a_gap_is_the_transition() -> None:
    assert boundary_instant(local(SPRING, "02:30"), BERLIN) == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )
    # New York springs forward at 02:00 EST = 07:00 UTC.
    ny = boundary_instant(local(dt.date(2026, 3, 8), "02:15"), NEW_YORK)
    assert ny == dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_day_bounds_on_dst_dates_are_23_and_25_hours() -> None:
    start, end = day_bounds(SPRING, BERLIN)
    assert end - start == dt.timedelta(hours=23)
    start, end = day_bounds(FALL, BERLIN)
    assert end - start == dt.timedelta(hours=25)


def night_world(tz: str = "Europe/Berlin") -> World:
    """A location open through the night so the DST hour falls inside working hours."""
    w = World(tz=tz)
    w.weekly = {d: WeeklyHours(d, t("00:00"), t("06:00")) for d in range(1, 8)}
    w.service = w.service.__class__(1, duration_min=30, break_min=0, price=w.service.price)
    w.workplace(10)
    w.specialist(1, "00:00", "06:00")
    w.rules = SlotRules(step_min=30, min_notice_min=0, horizon_days=30)
    return w


def test_spring_forward_never_offers_nonexistent_times() -> None:
    w = night_world()
    now = dt.datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    offers = w.slots(SPRING, now)
    walls = [o.start.astimezone(BERLIN).strftime("%H:%M") for o in offers]
    assert walls == ["00:00", "00:30", "01:00", "01:30"] + [
        f"{h:02d}:{m:02d}" for h in range(3, 6) for m in (0, 30)
    ]
    utc = [o.start.strftime("%H:%M") for o in offers]
    # Before the jump +01:00, after it +02:00: 03:00 local is 01:00 UTC, right after 01:30 local.
    assert utc == ["23:00", "23:30"] + [f"{h:02d}:{m:02d}" for h in range(4) for m in (0, 30)]
    # 01:30 lasts 30 real minutes and ends at 03:00 local: it fits.
    assert all(o.start.astimezone(BERLIN).fold == 0 for o in offers)


def test_spring_forward_slot_spanning_the_gap_lasts_real_minutes() -> None:
    w = night_world()
    w.service = w.service.__class__(1, duration_min=60, break_min=0, price=w.service.price)
    now = dt.datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    (cand,) = w.plan(SPRING).evaluate(w.at(SPRING, "01:30"), w.obstacles(), now=now, rules=w.rules)[
        1
    ]
    assert cand.end - cand.start == dt.timedelta(minutes=60)
    assert cand.end.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    # The last start: 05:00 local + 60 min = 06:00 local; 05:30 would run past closing.
    walls = [o.start.astimezone(BERLIN).strftime("%H:%M") for o in w.slots(SPRING, now)]
    assert walls[-1] == "05:00"


def test_fall_back_offers_ambiguous_times_once_at_the_first_occurrence() -> None:
    w = night_world()
    now = dt.datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    offers = w.slots(FALL, now)
    walls = [o.start.astimezone(BERLIN).strftime("%H:%M") for o in offers]
    assert walls == [f"{h:02d}:{m:02d}" for h in range(6) for m in (0, 30)]
    by_wall = {o.start.astimezone(BERLIN).strftime("%H:%M"): o.start for o in offers}
    assert by_wall["02:00"] == dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # CEST
    assert by_wall["02:30"] == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert by_wall["03:00"] == dt.datetime(2026, 10, 25, 2, 0, tzinfo=UTC)  # CET
    # The second occurrence of 02:30 (01:30 UTC) is not a grid start.
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert explain(w.plan(FALL), second, w.obstacles(), now=now, rules=w.rules) is Reason.CLOSED


def test_daytime_hours_keep_their_wall_clock_across_the_change() -> None:
    w = World(tz="America/New_York")
    w.workplace(10)
    w.specialist(1)
    now = dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    saturday, sunday = dt.date(2026, 3, 7), dt.date(2026, 3, 8)
    assert w.slots(saturday, now)[0].start == dt.datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # EST
    assert w.slots(sunday, now)[0].start == dt.datetime(2026, 3, 8, 14, 0, tzinfo=UTC)  # EDT
