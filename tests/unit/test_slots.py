"""The slot engine's rules (SPEC 3), one rule per test, on an in-memory catalog."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.domain.catalog import Holiday, WeeklyHours
from bot.domain.intervals import peak_overlap, subtract
from bot.domain.schedule import location_hours
from bot.domain.slots import Reason, SlotRules, _timely, explain, rank_candidates, time_reason
from bot.domain.tz import local_date
from tests.unit.test_slots_world import CLIENT, OTHER_CLIENT, World, t

TUE = dt.date(2030, 3, 5)  # a Tuesday (ISO 2)


def quarter_hours(first: str, last: str) -> list[str]:
    h, m = map(int, first.split(":"))
    out = []
    while f"{h:02d}:{m:02d}" <= last:
        out.append(f"{h:02d}:{m:02d}")
        m += 15
        h, m = h + m // 60, m % 60
    return out


@pytest.fixture
def world() -> World:
    w = World()
    w.workplace(10)
    w.specialist(1)
    return w


@pytest.fixture
def now(world: World) -> dt.datetime:
    return world.at(TUE - dt.timedelta(days=1), "09:00")


# --- open hours -----------------------------------------------------------------------------


def test_weekday_mapping_is_iso(world: World, now: dt.datetime) -> None:
    # Only Sunday (7) is open: Sunday 2030-03-10 has slots, Monday 2030-03-11 (1) has none.
    world.weekly = {7: WeeklyHours(7, t("10:00"), t("12:00"))}
    assert world.times(dt.date(2030, 3, 10), now)[:1] == ["10:00"]
    assert world.times(dt.date(2030, 3, 11), now) == []
    world.weekly = {1: WeeklyHours(1, t("10:00"), t("12:00"))}
    assert world.times(dt.date(2030, 3, 10), now) == []
    assert world.times(dt.date(2030, 3, 11), now)[:1] == ["10:00"]


def test_missing_weekday_or_day_off_is_closed(world: World, now: dt.datetime) -> None:
    world.weekly[2] = WeeklyHours(2, t("10:00"), t("18:00"), is_day_off=True)
    assert world.times(TUE, now) == []
    del world.weekly[2]
    assert world.times(TUE, now) == []


def test_holiday_not_working_closes_the_day(world: World, now: dt.datetime) -> None:
    world.holidays[TUE] = Holiday(TUE, is_working=False)
    assert location_hours(world.catalog(), world.calendar(), TUE) is None
    assert world.times(TUE, now) == []
    assert world.why(TUE, "10:00", now) is Reason.CLOSED


def test_working_holiday_with_hours_uses_them(world: World, now: dt.datetime) -> None:
    world.holidays[TUE] = Holiday(TUE, is_working=True, start=t("12:00"), end=t("14:00"))
    assert location_hours(world.catalog(), world.calendar(), TUE) == (t("12:00"), t("14:00"))
    assert world.times(TUE, now) == quarter_hours("12:00", "12:45")


def test_working_holiday_without_hours_uses_the_weekday_hours(
    world: World, now: dt.datetime
) -> None:
    # Tuesday is normally a day off with hours on file; the working holiday opens it.
    world.weekly[2] = WeeklyHours(2, t("11:00"), t("13:00"), is_day_off=True)
    assert world.times(TUE, now) == []
    world.holidays[TUE] = Holiday(TUE, is_working=True)
    assert world.times(TUE, now) == quarter_hours("11:00", "11:45")


def test_working_holiday_without_any_hours_stays_closed(world: World, now: dt.datetime) -> None:
    del world.weekly[2]
    world.holidays[TUE] = Holiday(TUE, is_working=True)
    assert world.times(TUE, now) == []


# --- specialist hours and breaks ------------------------------------------------------------


def test_shift_is_intersected_with_open_hours(world: World, now: dt.datetime) -> None:
    world.specialists.clear()
    world.shifts.clear()
    world.specialist(1, "08:00", "12:00")  # the location opens at 10:00
    assert world.times(TUE, now) == quarter_hours("10:00", "10:45")


def test_timed_break_splits_the_day_and_the_grid_restarts_after_it(
    world: World, now: dt.datetime
) -> None:
    world.specialists.clear()
    world.shifts.clear()
    world.specialist(1, "10:00", "14:00")
    world.break_(1, TUE, "11:40", "12:10")
    # 10:00..10:25 fits before 11:40 (75 min blocked); the grid restarts at 12:10.
    assert world.times(TUE, now) == ["10:00", "10:15", "12:10", "12:25", "12:40"]
    assert world.why(TUE, "12:15", now) is Reason.CLOSED


def test_whole_day_break_means_off(world: World, now: dt.datetime) -> None:
    world.break_(1, TUE, None, None)
    assert world.times(TUE, now) == []
    assert world.times(TUE + dt.timedelta(days=1), now) != []


def test_break_at_end_of_day_must_fit_before_closing(world: World, now: dt.datetime) -> None:
    # 60 min + 15 min break: 16:45 ends its break exactly at 18:00; 17:00 would run past.
    times = world.times(TUE, now)
    assert times[-1] == "16:45"
    assert world.why(TUE, "17:00", now) is Reason.CLOSED


def test_step_counts_from_the_start_of_each_working_interval(
    world: World, now: dt.datetime
) -> None:
    world.specialists.clear()
    world.shifts.clear()
    world.specialist(1, "10:10", "12:00")
    world.rules = SlotRules(step_min=20, min_notice_min=60, horizon_days=30)
    assert world.times(TUE, now) == ["10:10", "10:30"]
    # Off-grid starts are not bookable even when free.
    assert world.why(TUE, "10:15", now) is Reason.CLOSED


# --- workplaces and terms -------------------------------------------------------------------


def test_pinned_workplace_is_the_only_option(world: World, now: dt.datetime) -> None:
    world.workplace(11)
    world.specialists.clear()
    world.shifts.clear()
    world.specialist(1, pinned=11)
    plan = world.plan(TUE)
    reason, found = plan.evaluate(
        world.at(TUE, "10:00"), world.obstacles(), now=now, rules=world.rules
    )
    assert reason is Reason.OK
    assert [c.workplace_id for c in found] == [11]
    # The pinned workplace busy: no fallback to workplace 10.
    world.book(2, 11, world.at(TUE, "10:00"))
    assert world.why(TUE, "10:00", now) is Reason.NO_WORKPLACE


def test_pinned_workplace_that_cannot_host_the_service(world: World, now: dt.datetime) -> None:
    world.specialists.clear()
    world.shifts.clear()
    world.specialist(1, pinned=99)  # workplace 99 does not host the service
    assert world.times(TUE, now) == []
    assert world.why(TUE, "10:00", now) is Reason.NO_WORKPLACE


def test_terms_depend_on_the_pair(world: World, now: dt.datetime) -> None:
    world.workplaces.clear()
    world.workplace(10)
    world.workplace(11, price=Decimal("1500"), duration_min=90, break_min=30)
    world.specialists.clear()
    world.shifts.clear()
    world.specialist(1)
    world.specialist(2, custom_price=Decimal("700"), custom_duration=30)
    reason, found = world.plan(TUE).evaluate(
        world.at(TUE, "10:00"), world.obstacles(), now=now, rules=world.rules
    )
    assert reason is Reason.OK
    terms = {
        (c.specialist_id, c.workplace_id): (c.duration_min, c.break_min, c.price) for c in found
    }
    assert terms == {
        (1, 10): (60, 15, Decimal("1000")),  # the service's own terms
        (1, 11): (90, 30, Decimal("1500")),  # the workplace overrides
        (2, 10): (30, 15, Decimal("700")),  # the specialist's custom price and duration
        (2, 11): (30, 30, Decimal("700")),  # ...but the break is the workplace's
    }
    offer = world.slots(TUE, now)[0]
    assert offer.price == Decimal("700") and offer.specialist_ids == (1, 2)


def test_a_busy_workplace_falls_back_to_another(world: World, now: dt.datetime) -> None:
    world.workplace(11)
    world.specialist(2)
    world.book(2, 10, world.at(TUE, "10:00"))
    _, found = world.plan(TUE, specialist_id=1).evaluate(
        world.at(TUE, "10:00"), world.obstacles(), now=now, rules=world.rules
    )
    assert [(c.specialist_id, c.workplace_id) for c in found] == [(1, 11)]


def test_a_check_of_one_workplace_finds_what_the_full_check_finds_there(
    world: World, now: dt.datetime
) -> None:
    """The booking's look at its held pair under the locks: only that workplace's pairs are
    checked, and each comes out exactly as in the full check."""
    world.workplace(11, price=Decimal("1500"))
    world.workplace(12)
    world.specialist(2)
    world.book(2, 10, world.at(TUE, "10:00"))
    start = world.at(TUE, "10:00")
    _, full = world.plan(TUE).evaluate(start, world.obstacles(), now=now, rules=world.rules)
    for workplace in (10, 11, 12):
        _, one = world.plan(TUE).evaluate(
            start, world.obstacles(), now=now, rules=world.rules, workplace_id=workplace
        )
        assert one == [c for c in full if c.workplace_id == workplace]
    assert [(c.specialist_id, c.workplace_id) for c in full if c.workplace_id == 10] == []


def test_no_workplace_hosts_the_service(world: World, now: dt.datetime) -> None:
    world.workplaces.clear()
    assert world.times(TUE, now) == []


# --- busy intervals -------------------------------------------------------------------------


def test_appointment_blocks_the_specialist_including_the_break(
    world: World, now: dt.datetime
) -> None:
    world.workplace(11)
    world.book(1, 11, world.at(TUE, "12:00"))  # blocked 12:00-13:15
    times = world.times(TUE, now)
    # 10:45 + 75 min = 12:00: touches, allowed. 11:00..13:00 overlap. 13:15 is free again.
    assert "10:45" in times and "13:15" in times
    assert not set(quarter_hours("11:00", "13:00")) & set(times)
    assert world.why(TUE, "12:30", now) is Reason.BUSY


def test_appointment_at_another_location_blocks_the_specialist(
    world: World, now: dt.datetime
) -> None:
    world.book(1, 77, world.at(TUE, "12:00"), location_id=2)
    assert "12:00" not in world.times(TUE, now)


def test_other_clients_hold_blocks_own_hold_does_not(world: World, now: dt.datetime) -> None:
    world.hold(1, 10, world.at(TUE, "12:00"), 60, client_id=OTHER_CLIENT)
    assert "12:00" not in world.times(TUE, now, client_id=CLIENT)
    world.holds.clear()
    world.hold(1, 10, world.at(TUE, "12:00"), 60, client_id=CLIENT)
    assert "12:00" in world.times(TUE, now, client_id=CLIENT)
    assert "12:00" not in world.times(TUE, now, client_id=OTHER_CLIENT)


def test_clients_own_appointment_excludes_overlapping_slots(world: World, now: dt.datetime) -> None:
    world.specialist(2)
    world.workplace(11)
    # The client is elsewhere 12:00-13:00 (client busy is [start, end), without the break).
    world.book(2, 11, world.at(TUE, "12:00"), client_id=CLIENT, location_id=2)
    mine = world.times(TUE, now, specialist_id=1, client_id=CLIENT)
    assert "11:00" in mine and "13:00" in mine
    assert not {"11:15", "12:00", "12:45"} & set(mine)
    assert "12:00" in world.times(TUE, now, specialist_id=1, client_id=OTHER_CLIENT)
    assert world.why(TUE, "12:00", now, specialist_id=1, client_id=CLIENT) is Reason.BUSY


def test_rescheduled_appointment_does_not_block_itself(world: World, now: dt.datetime) -> None:
    appt = world.book(1, 10, world.at(TUE, "12:00"), client_id=CLIENT)
    start = world.at(TUE, "12:30")
    plan = world.plan(TUE)
    assert explain(plan, start, world.obstacles(CLIENT), now=now, rules=world.rules) is Reason.BUSY
    reason, found = plan.evaluate(
        start,
        world.obstacles(CLIENT, exclude_appointment_id=appt.appointment_id),
        now=now,
        rules=world.rules,
    )
    assert reason is Reason.OK and found


# --- capacity -------------------------------------------------------------------------------


def test_capacity_caps_appointments_in_progress(world: World, now: dt.datetime) -> None:
    world.capacity = 1
    world.workplace(11)
    world.specialist(2)
    world.book(2, 11, world.at(TUE, "12:00"))  # in progress 12:00-13:00
    times = world.times(TUE, now, specialist_id=1)
    # Capacity counts [start, end) without the break: 11:00 ends at 12:00, 13:00 starts after.
    assert "11:00" in times and "13:00" in times
    assert not {"11:15", "12:00", "12:45"} & set(times)
    assert world.why(TUE, "12:00", now, specialist_id=1) is Reason.CAPACITY


def test_capacity_counts_peak_concurrency_not_overlaps(world: World, now: dt.datetime) -> None:
    world.capacity = 2
    for wp in (11, 12):
        world.workplace(wp)
    world.specialist(2)
    world.specialist(3)
    world.book(2, 11, world.at(TUE, "11:00"), minutes=30, break_min=0)  # 11:00-11:30
    world.book(3, 12, world.at(TUE, "11:30"), minutes=30, break_min=0)  # 11:30-12:00
    # Two appointments overlap 11:00-12:00 but never at once: one more fits.
    assert "11:00" in world.times(TUE, now, specialist_id=1)
    world.book(3, 12, world.at(TUE, "11:15"), minutes=10, break_min=0)  # now 2 at once
    assert "11:00" not in world.times(TUE, now, specialist_id=1)


def test_zero_capacity_means_no_cap(world: World, now: dt.datetime) -> None:
    world.capacity = 0
    world.specialist(2)
    world.workplace(11)
    world.book(2, 11, world.at(TUE, "12:00"))
    assert "12:00" in world.times(TUE, now, specialist_id=1)


def test_other_clients_holds_count_towards_capacity(world: World, now: dt.datetime) -> None:
    world.capacity = 1
    world.specialist(2)
    world.workplace(11)
    world.hold(2, 11, world.at(TUE, "12:00"), 60, client_id=OTHER_CLIENT)
    assert "12:00" not in world.times(TUE, now, specialist_id=1)
    assert world.why(TUE, "12:45", now, specialist_id=1) is Reason.CAPACITY
    # Capacity counts [start, end): the hold's break after 13:00 occupies nobody's place.
    assert "13:00" in world.times(TUE, now, specialist_id=1)


def test_a_hold_at_another_location_blocks_the_specialist(world: World, now: dt.datetime) -> None:
    world.workplace(11)
    world.hold(1, 99, world.at(TUE, "12:00"), 60, client_id=OTHER_CLIENT, location_id=2)
    times = world.times(TUE, now, specialist_id=1)
    # Busy 12:00-13:15 there (service and break); a start here blocks 75 minutes itself.
    assert "10:45" in times and "11:00" not in times
    assert "12:00" not in times and "13:15" in times
    assert world.why(TUE, "12:00", now, specialist_id=1) is Reason.BUSY


# --- time limits ----------------------------------------------------------------------------


def test_minimum_notice(world: World) -> None:
    now = world.at(TUE, "10:20")
    times = world.times(TUE, now)
    assert times[0] == "11:30"  # 10:20 + 60 min = 11:20, next grid start 11:30
    assert world.why(TUE, "11:15", now) is Reason.NOTICE


def test_horizon_counts_local_dates(world: World) -> None:
    now = world.at(TUE, "09:00")
    last = TUE + dt.timedelta(days=30)  # today + BOOKING_HORIZON_DAYS, inclusive
    assert world.times(last, now) != []
    assert world.times(last + dt.timedelta(days=1), now) == []
    assert world.why(last + dt.timedelta(days=1), "10:00", now) is Reason.HORIZON


def test_horizon_of_one_day_offers_tomorrow_from_an_evening(world: World) -> None:
    world.rules = SlotRules(step_min=15, min_notice_min=60, horizon_days=1)
    world.specialists.clear()
    world.shifts.clear()
    world.weekly = {d: WeeklyHours(d, t("09:00"), t("18:00")) for d in range(1, 8)}
    world.specialist(1, "09:00", "18:00")
    now = world.at(TUE, "20:00")
    tomorrow = TUE + dt.timedelta(days=1)
    assert world.times(tomorrow, now)[0] == "09:00"
    assert world.why(tomorrow, "09:00", now) is Reason.OK
    assert world.why(tomorrow + dt.timedelta(days=1), "09:00", now) is Reason.HORIZON


def test_horizon_of_five_days_ends_at_today_plus_five(world: World) -> None:
    world.rules = SlotRules(step_min=15, min_notice_min=60, horizon_days=5)
    now = world.at(TUE, "09:00")
    assert world.times(TUE + dt.timedelta(days=5), now) != []
    assert world.times(TUE + dt.timedelta(days=6), now) == []
    assert world.why(TUE + dt.timedelta(days=6), "10:00", now) is Reason.HORIZON


def test_past_day_is_not_offered(world: World) -> None:
    assert world.times(TUE, world.at(TUE + dt.timedelta(days=1), "09:00")) == []


# --- any specialist -------------------------------------------------------------------------


def test_any_is_the_union_of_specialists(world: World, now: dt.datetime) -> None:
    world.specialists.clear()
    world.shifts.clear()
    world.workplace(11)
    world.specialist(1, "10:00", "12:00")
    world.specialist(2, "10:10", "12:00")
    one = world.times(TUE, now, specialist_id=1)
    two = world.times(TUE, now, specialist_id=2)
    both = world.times(TUE, now)
    assert one == ["10:00", "10:15", "10:30", "10:45"]
    assert two == ["10:10", "10:25", "10:40"]
    assert both == sorted(set(one) | set(two))


def test_rank_prefers_fewest_appointments_then_lowest_id(world: World, now: dt.datetime) -> None:
    for spec in (2, 3):
        world.specialist(spec)
    world.workplace(11)
    world.workplace(12)
    world.book(1, 12, world.at(TUE, "16:00"))  # specialist 1 has one appointment that day
    world.book(3, 12, world.at(TUE + dt.timedelta(days=1), "16:00"))  # 3's is another day
    reason, found = world.plan(TUE).evaluate(
        world.at(TUE, "10:00"), world.obstacles(), now=now, rules=world.rules
    )
    assert reason is Reason.OK
    ranked = rank_candidates(found, world.appointments, day=TUE, tz=world.zone)
    assert [(c.specialist_id, c.workplace_id) for c in ranked][:3] == [(2, 10), (2, 11), (2, 12)]
    assert [c.specialist_id for c in ranked][-3:] == [1, 1, 1]


# --- interval helpers -----------------------------------------------------------------------


def test_subtract_and_peak_overlap() -> None:
    def d(h: int, m: int = 0) -> dt.datetime:
        return dt.datetime(2030, 3, 5, h, m)

    assert subtract([(d(10), d(14))], (d(11), d(12))) == [(d(10), d(11)), (d(12), d(14))]
    assert subtract([(d(10), d(14))], (d(9), d(10))) == [(d(10), d(14))]  # touching only
    assert subtract([(d(10), d(14))], (d(9), d(15))) == []
    back_to_back = [(d(10), d(11)), (d(11), d(12))]
    assert peak_overlap(back_to_back, d(10), d(12)) == 1
    assert peak_overlap([*back_to_back, (d(10, 30), d(11, 30))], d(10), d(12)) == 2
    assert peak_overlap(back_to_back, d(12), d(13)) == 0


@pytest.mark.parametrize(
    "zone", ["Europe/Moscow", "America/Santiago", "America/Havana", "Asia/Beirut", "Pacific/Apia"]
)
def test_the_overlays_time_rule_is_time_reasons(zone: str) -> None:
    """`_timely` (the overlay's notice and horizon, with no start converted to local time)
    says OK exactly where `time_reason` does: on starts around the horizon's last midnight in
    zones whose clocks change at midnight, or whose date line moved."""
    tz = ZoneInfo(zone)
    rules = SlotRules(step_min=15, min_notice_min=60, horizon_days=30)
    rnd = random.Random(zone)
    for _ in range(300):
        now = dt.datetime(2010, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=rnd.randrange(0, 15 * 365 * 24 * 60)
        )
        is_timely = _timely(now=now, rules=rules, tz=tz)
        horizon = dt.datetime.combine(
            local_date(now, tz) + dt.timedelta(days=31), dt.time(), tzinfo=tz
        ).astimezone(dt.UTC)
        for start in (
            now + dt.timedelta(minutes=rnd.choice((59, 60, 61))),
            *(horizon + dt.timedelta(minutes=m) for m in (-90, -60, -15, -1, 0, 1, 15, 60, 90)),
        ):
            assert is_timely(start) == (
                time_reason(start, now=now, rules=rules, tz=tz) is Reason.OK
            )
