"""Hypothesis properties of the slot engine over random catalogs, occupancy and clocks,
including DST dates in Berlin and New York.

The oracle below is independent of the engine: it walks each offered interval in 5-minute
steps (every generated time is a multiple of 5 minutes) and checks each instant with plain
`zoneinfo`, so a bug in the engine's interval arithmetic or DST handling shows up here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.catalog import Holiday, WeeklyHours
from bot.domain.pricing import ServiceTerms
from bot.domain.schedule import location_hours
from bot.domain.slots import (
    Obstacles,
    Reason,
    SlotCandidate,
    SlotRules,
    day_slots,
    explain,
    location_load,
    overlay,
    overlay_obstacles,
    to_offers,
)
from bot.domain.tz import day_bounds
from tests.unit.test_slots_world import CLIENT, LOCATION, OTHER_CLIENT, World

FIVE = dt.timedelta(minutes=5)
DATES = [
    dt.date(2026, 3, 29),  # Berlin spring forward
    dt.date(2026, 10, 25),  # Berlin fall back
    dt.date(2026, 3, 8),  # New York spring forward
    dt.date(2026, 11, 1),  # New York fall back
    dt.date(2026, 6, 10),
]


def clock(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


@st.composite
def span(draw: st.DrawFn, lo: int = 0, hi: int = 24 * 60 - 5) -> tuple[int, int]:
    """[start, end) in minutes of the day, multiples of 5, end > start, end < 24:00."""
    start = draw(st.integers(lo // 5, hi // 5 - 1)) * 5
    end = draw(st.integers(start // 5 + 1, hi // 5)) * 5
    return start, end


@st.composite
def worlds(draw: st.DrawFn) -> tuple[World, dt.date, dt.datetime]:
    tz = draw(st.sampled_from(["Europe/Berlin", "America/New_York", "Europe/Moscow"]))
    day = draw(st.sampled_from(DATES))
    w = World(tz=tz, capacity=draw(st.sampled_from([None, 0, 1, 1, 2, 2, 3])))
    w.service = ServiceTerms(
        1,
        duration_min=draw(st.integers(1, 12)) * 5,
        break_min=draw(st.integers(0, 4)) * 5,
        price=Decimal(draw(st.integers(0, 50)) * 100),
    )
    w.rules = SlotRules(
        step_min=draw(st.sampled_from([10, 15, 20, 30])),
        min_notice_min=draw(st.sampled_from([0, 30, 60, 180])),
        horizon_days=draw(st.integers(1, 5)),
    )
    open_start, open_end = draw(span())
    w.weekly = {day.isoweekday(): WeeklyHours(day.isoweekday(), clock(open_start), clock(open_end))}
    if draw(st.integers(0, 3)) == 0:
        h_start, h_end = draw(span())
        w.holidays[day] = draw(
            st.sampled_from(
                [
                    Holiday(day, is_working=False),
                    Holiday(day, is_working=True),
                    Holiday(day, is_working=True, start=clock(h_start), end=clock(h_end)),
                ]
            )
        )
    for wp in range(1, draw(st.integers(1, 3)) + 1):
        if draw(st.booleans()):
            w.workplace(wp)
        else:
            w.workplace(
                wp,
                price=draw(st.none() | st.integers(0, 50).map(lambda p: Decimal(p * 100))),
                duration_min=draw(st.none() | st.integers(1, 12).map(lambda d: d * 5)),
                break_min=draw(st.none() | st.integers(0, 4).map(lambda b: b * 5)),
            )
    wp_ids = [link.workplace_id for link in w.workplaces]
    for spec in range(1, draw(st.integers(1, 3)) + 1):
        s_start, s_end = draw(span(max(open_start - 60, 0), min(open_end + 60, 24 * 60 - 5)))
        w.specialist(
            spec,
            clock(s_start).strftime("%H:%M"),
            clock(s_end).strftime("%H:%M"),
            days=[day.isoweekday()],
            pinned=draw(st.none() | st.sampled_from([*wp_ids, 99])),
            custom_price=draw(st.none() | st.integers(0, 50).map(lambda p: Decimal(p * 100))),
            custom_duration=draw(st.none() | st.integers(1, 12).map(lambda d: d * 5)),
        )
        for _ in range(draw(st.integers(0, 2))):
            if draw(st.integers(0, 5)) == 0:
                w.break_(spec, day, None, None)
            else:
                b_start, b_end = draw(span())
                w.break_(
                    spec, day, clock(b_start).strftime("%H:%M"), clock(b_end).strftime("%H:%M")
                )
    day_start, _ = day_bounds(day, w.zone)
    # Ids 5 and 6 are specialists/workplaces outside this service: they only load capacity.
    ids = st.sampled_from([1, 2, 3, 5, 6])
    for _ in range(draw(st.integers(0, 6))):
        w.book(
            draw(ids),
            draw(ids),
            # Mostly around opening hours, where they can get in the way.
            day_start + draw(st.integers((open_start - 120) // 5, open_end // 5)) * FIVE,
            minutes=draw(st.integers(1, 24)) * 5,
            break_min=draw(st.integers(0, 6)) * 5,
            client_id=draw(st.sampled_from([CLIENT, OTHER_CLIENT])),
            location_id=draw(st.sampled_from([LOCATION, LOCATION, 2])),
        )
    for _ in range(draw(st.integers(0, 3))):
        w.hold(
            draw(ids),
            draw(ids),
            day_start + draw(st.integers((open_start - 120) // 5, open_end // 5)) * FIVE,
            draw(st.integers(1, 24)) * 5,
            client_id=draw(st.sampled_from([CLIENT, OTHER_CLIENT])),
            break_min=draw(st.integers(0, 6)) * 5,
            location_id=draw(st.sampled_from([LOCATION, LOCATION, 2])),
        )
    now = day_start + draw(st.integers(-2 * 24 * 12, 12 * 12)) * FIVE
    return w, day, now


def working_at(w: World, day: dt.date, spec: int, instant: dt.datetime) -> bool:
    """Oracle: is `spec` working at `instant`? Plain zoneinfo, wall-clock rules of SPEC 3.

    In the hour a fall-back repeats, wall-clock times say too little: a shift of 01:05-02:00
    runs from the first 01:05 to 02:00, through the second pass of 01:00-01:05. There an
    interval counts from the first occurrence of its start to that of its end."""
    local = instant.astimezone(w.zone)
    if local.date() != day:
        return False
    tod = local.time()

    def within(lo: dt.time, hi: dt.time) -> bool:
        if not local.fold:
            return lo <= tod < hi
        first = [dt.datetime.combine(day, x, tzinfo=w.zone).astimezone(dt.UTC) for x in (lo, hi)]
        return first[0] <= instant < first[1]

    hours = location_hours(w.catalog(), w.calendar(), day)
    shift = w.shifts.get((spec, day.isoweekday()))
    if hours is None or shift is None or shift.start is None or shift.end is None:
        return False
    if not (within(*hours) and within(shift.start, shift.end)):
        return False
    for row in w.breaks.get((spec, day), []):
        if row.start is None or row.end is None or within(row.start, row.end):
            return False
    return True


def assert_really_free(
    w: World, day: dt.date, now: dt.datetime, cand: SlotCandidate, client_id: int
) -> None:
    start, end, blocked = cand.start, cand.end, cand.blocked_until
    local = start.astimezone(w.zone)
    # A real, first-occurrence wall-clock time.
    assert local.replace(tzinfo=None).replace(tzinfo=w.zone).astimezone(dt.UTC) == start
    assert start >= now + dt.timedelta(minutes=w.rules.min_notice_min)
    assert local.date() <= now.astimezone(w.zone).date() + dt.timedelta(days=w.rules.horizon_days)
    probe = start
    while probe < blocked:
        assert working_at(w, day, cand.specialist_id, probe), (cand, probe)
        probe += FIVE
    for a in w.appointments:
        if a.specialist_id == cand.specialist_id or a.workplace_id == cand.workplace_id:
            assert not (a.start < blocked and start < a.blocked_until), (cand, a)
        if a.client_id == client_id:
            assert not (a.start < end and start < a.end), (cand, a)
    others = [h for h in w.holds if h.client_id != client_id]
    for h in others:
        if h.specialist_id == cand.specialist_id or h.workplace_id == cand.workplace_id:
            assert not (h.start < blocked and start < h.blocked_until), (cand, h)
    if w.capacity:
        probe = start
        while probe < end:
            running = sum(
                1 for a in w.appointments if a.location_id == LOCATION and a.start <= probe < a.end
            ) + sum(1 for h in others if h.location_id == LOCATION and h.start <= probe < h.end)
            assert running < w.capacity, (cand, probe)
            probe += FIVE


COMMON = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(worlds())
def test_every_offered_slot_is_really_free(case: tuple[World, dt.date, dt.datetime]) -> None:
    w, day, now = case
    plan = w.plan(day)
    obstacles = w.obstacles(CLIENT)
    for offer in w.slots(day, now):
        reason, found = plan.evaluate(offer.start, obstacles, now=now, rules=w.rules)
        assert reason is Reason.OK and found
        assert {c.specialist_id for c in found} == set(offer.specialist_ids)
        assert offer.price == min(c.price for c in found)
        for cand in found:
            assert_really_free(w, day, now, cand, CLIENT)


@COMMON
@given(worlds())
def test_every_grid_start_not_offered_has_a_reason(
    case: tuple[World, dt.date, dt.datetime],
) -> None:
    w, day, now = case
    plan = w.plan(day)
    obstacles = w.obstacles(CLIENT)
    offered = {o.start for o in w.slots(day, now)}
    for start, _spec, _piece in plan.grid():
        reason = explain(plan, start, obstacles, now=now, rules=w.rules)
        assert (reason is Reason.OK) == (start in offered), (start, reason)


@COMMON
@given(worlds(), st.sampled_from([CLIENT, OTHER_CLIENT, None]))
def test_cached_base_plus_overlay_equals_the_full_computation(
    case: tuple[World, dt.date, dt.datetime], client_id: int | None
) -> None:
    """What the Redis cache relies on: base candidates (appointments only) filtered by the
    overlay (holds, the client's appointments, notice, horizon) give exactly the full result."""
    w, day, now = case
    plan = w.plan(day)
    base = Obstacles.build(location_id=LOCATION, capacity=w.capacity, appointments=w.appointments)
    cached = list(plan.base_candidates(base))
    on_top = overlay_obstacles(
        location_id=LOCATION,
        capacity=w.capacity,
        holds=w.holds,
        client_id=client_id,
        client_busy=[(a.start, a.end) for a in w.appointments if a.client_id == client_id],
        in_progress=location_load(w.appointments, LOCATION, plan.window),
    )
    layered = to_offers(overlay(cached, on_top, now=now, rules=w.rules, tz=plan.tz))
    full = day_slots(plan, w.obstacles(client_id), now=now, rules=w.rules)
    assert layered == full


@COMMON
@given(worlds())
def test_a_specialists_slots_are_a_subset_of_any(
    case: tuple[World, dt.date, dt.datetime],
) -> None:
    w, day, now = case
    union: set[dt.datetime] = set()
    for spec in w.specialists:
        own = {o.start for o in w.slots(day, now, specialist_id=spec.specialist_id)}
        union |= own
    assert union == {o.start for o in w.slots(day, now)}
