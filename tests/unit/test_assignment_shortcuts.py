"""The re-assignment's shortcuts answer exactly as the plain search: a day's runs of overlapping
appointments, the quick yes/no of `Rearrangement.fits`, a date's slice of a loaded range, and
`ReachFit`, which makes only the jobs a question reaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.domain import assignment
from bot.domain.assignment import (
    DayJobs,
    HeldPlace,
    Job,
    PlacedAppointment,
    ReachFit,
    Rearrangement,
    WorkplaceDay,
    fit_new,
    near_jobs,
    placed_jobs,
    reach,
)
from bot.domain.slots import Obstacles, SlotCandidate, _Stage
from tests.unit.test_assignment import brute_force, days

T0 = datetime(2030, 3, 5, 6, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@st.composite
def busy_days(draw: st.DrawFn) -> tuple[WorkplaceDay, list[HeldPlace], datetime]:
    """A location's day: 1-3 workplaces, services hosted on some of them, appointments on a
    15-minute grid crowded into a few hours (some pinned, some started, some on a workplace
    no longer hosting their service, some overlapping on one workplace), a few holds."""
    workplaces = draw(st.integers(1, 3))
    some = st.frozensets(st.integers(1, workplaces), min_size=1, max_size=workplaces)
    hosts = {service: draw(some) for service in (1, 2, 3)}
    placed = []
    for n in range(draw(st.integers(0, 9))):
        start = draw(st.integers(0, 16)) * 15
        length = draw(st.integers(1, 8)) * 15
        service = draw(st.sampled_from((1, 2, 3)))
        workplace = draw(st.sampled_from(sorted(hosts[service])) | st.integers(1, workplaces))
        pinned = draw(st.booleans()) and draw(st.booleans())
        placed.append(
            PlacedAppointment(n + 1, service, workplace, at(start), at(start + length), pinned)
        )
    placed.sort(key=lambda a: (a.start, a.appointment_id))
    holds = []
    for n in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, 16)) * 15
        allowed = draw(some)
        current = draw(st.sampled_from(sorted(allowed)))
        holds.append(HeldPlace(allowed, current, at(start), at(start + 60), f"h{n}"))
    now = at(draw(st.integers(-60, 120)))
    day = WorkplaceDay((at(0), at(12 * 60)), hosts, tuple(placed))
    return day, holds, now


@settings(max_examples=500, deadline=None)
@given(busy_days(), st.integers(0, 20), st.integers(1, 6), st.integers(1, 3))
def test_fits_and_moves_agree_with_the_plain_search(
    case: tuple[WorkplaceDay, list[HeldPlace], datetime],
    quarter: int,
    quarters: int,
    workplace: int,
) -> None:
    day, holds, now = case
    start, end = at(15 * quarter), at(15 * (quarter + quarters))
    plain = fit_new(Rearrangement(day, now=now, holds=holds)._jobs, start, end, workplace)
    # A fresh check per question: `fits` must not lean on an answer `moves_for` cached.
    assert Rearrangement(day, now=now, holds=holds).fits(start, end, workplace) == (
        plain is not None
    )
    assert Rearrangement(day, now=now, holds=holds).moves_for(start, end, workplace) == plain


@settings(max_examples=200, deadline=None)
@given(busy_days(), st.integers(-40, 60), st.integers(0, 60))
def test_a_date_slice_holds_exactly_the_appointments_meeting_it(
    case: tuple[WorkplaceDay, list[HeldPlace], datetime], lo: int, length: int
) -> None:
    day, _, _ = case
    window = (at(15 * lo), at(15 * (lo + length)))
    naive = tuple(
        a for a in day.appointments if a.start < window[1] and a.blocked_until > window[0]
    )
    assert day.within(window) == WorkplaceDay(window, day.hosts, naive)
    # Out of start order (built by hand), the slice is still right.
    shuffled = WorkplaceDay(day.window, day.hosts, tuple(reversed(day.appointments)))
    assert shuffled.within(window).appointments == tuple(reversed(naive))


def day_of(*placed: tuple[int, int, int, int, int]) -> WorkplaceDay:
    """(id, service, workplace, start minute, end minute) appointments; service 1 may use
    workplaces 1 and 2, service 2 only 2, service 3 only 1."""
    hosts = {1: frozenset({1, 2}), 2: frozenset({2}), 3: frozenset({1})}
    return WorkplaceDay(
        (at(0), at(600)),
        hosts,
        tuple(PlacedAppointment(i, s, w, at(a), at(b)) for i, s, w, a, b in placed),
    )


def test_an_appointment_in_the_way_may_not_move_onto_a_taken_workplace() -> None:
    # Appointment 1 would have to go to workplace 2, where 2 is for the same hour.
    day = day_of((1, 1, 1, 0, 60), (2, 2, 2, 0, 60))
    check = Rearrangement(day, now=at(-60))
    assert check.fits(at(0), at(60), 1) is False
    assert check.moves_for(at(0), at(60), 1) is None


def test_two_appointments_in_the_way_both_move() -> None:
    # Both on workplace 1 back to back under a new 06:00-08:00: both go to 2 ...
    day = day_of((1, 1, 1, 0, 60), (2, 1, 1, 60, 120))
    assert Rearrangement(day, now=at(-60)).fits(at(0), at(120), 1) is True
    # ... unless 2 is taken for part of that time.
    crowded = day_of((1, 1, 1, 0, 60), (2, 1, 1, 60, 120), (3, 1, 2, 30, 90))
    assert Rearrangement(crowded, now=at(-60)).fits(at(0), at(120), 1) is False


def test_a_chain_of_moves_is_found() -> None:
    # Appointment 1 may leave workplace 1 only for 2, where appointment 2 is; that one may go
    # to the free workplace 3: no single move does it, two do.
    hosts = {1: frozenset({1, 2}), 2: frozenset({2, 3})}
    placed = (PlacedAppointment(1, 1, 1, at(0), at(60)), PlacedAppointment(2, 2, 2, at(0), at(60)))
    check = Rearrangement(WorkplaceDay((at(0), at(600)), hosts, placed), now=at(-60))
    assert check.fits(at(0), at(60), 1) is True
    assert check.moves_for(at(0), at(60), 1) == {1: 2, 2: 3}


@settings(max_examples=400, deadline=None)
@given(days(), st.integers(0, 40), st.integers(1, 8), st.integers(1, 4))
def test_a_new_job_fits_exactly_when_the_brute_force_oracle_finds_room(
    jobs: list[Job], quarter: int, quarters: int, workplace: int
) -> None:
    # Jobs without a current workplace are new ones too: give them one of theirs.
    placed = [Job(j.key, j.start, j.end, j.allowed, j.current or min(j.allowed)) for j in jobs]
    # A day as booked has an assignment (the new job's answer is about its own part of it).
    assume(brute_force(placed))
    start, end = at(15 * quarter), at(15 * (quarter + quarters))
    new = Job("new", start, end, frozenset({workplace}))
    assert (fit_new(placed, start, end, workplace) is not None) == brute_force([*placed, new])


@settings(max_examples=400, deadline=None)
@given(
    days(),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 8), st.integers(1, 4)), max_size=6),
    st.none() | st.integers(0, 40),
)
def test_reach_fit_answers_as_the_search_over_every_job(
    jobs: list[Job], questions: list[tuple[int, int, int]], instant: int | None
) -> None:
    """Several questions to one `ReachFit` (each reach kept for the next), of any length,
    zero included, over jobs one of which may have no length: the same answers as `fit_new`
    over every job, and (with no empty interval) only jobs a question reaches made."""
    placed = [Job(j.key, j.start, j.end, j.allowed, j.current or min(j.allowed)) for j in jobs]
    if instant is not None:
        placed.append(Job(99, at(15 * instant), at(15 * instant), frozenset({1}), 1))
    made: list[int] = []

    def job(i: int) -> Job:
        made.append(i)
        return placed[i]

    reach = ReachFit([(j.start, j.end) for j in placed], job)
    for quarter, quarters, workplace in questions:
        start, end = at(15 * quarter), at(15 * (quarter + quarters))
        plain = fit_new(placed, start, end, workplace)
        assert reach.fits(start, end, workplace) == (plain is not None)
        assert reach.moves_for(start, end, workplace) == plain
    if all(j.start < j.end for j in placed) and all(q[1] for q in questions):
        # Every job made was one a question's interval reaches through overlaps.
        reached = {
            n
            for quarter, quarters, _ in questions
            for n, j in enumerate(placed)
            if j in fit_component(placed, at(15 * quarter), at(15 * (quarter + quarters)))
        }
        assert set(made) <= reached


def fit_component(jobs: list[Job], start: datetime, end: datetime) -> list[Job]:
    """The jobs connected to [start, end) through overlaps (the plain search's own rule)."""
    lo, hi, picked, changed = start, end, [], True
    while changed:
        changed = False
        for job in jobs:
            if job not in picked and job.start < hi and lo < job.end:
                picked.append(job)
                lo, hi, changed = min(lo, job.start), max(hi, job.end), True
    return picked


@settings(max_examples=300, deadline=None)
@given(
    days(),
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8), st.integers(1, 4)), max_size=6),
)
def test_a_hold_only_check_answers_as_the_plain_search(
    jobs: list[Job], questions: list[tuple[int, int, int]]
) -> None:
    """`Obstacles` without re-arrangement: appointments stay on their workplace, holds may move
    within theirs. Asked start by start (answers kept), `stage` and `moves_for` answer as the
    search over every appointment and hold made afresh for each question (of a day that has
    room for its holds, as each hold was taken with that check)."""
    obstacles = Obstacles(location_id=1, capacity=None)
    plain_jobs = []
    for n, j in enumerate(jobs):
        if j.current is None:  # a hold: it may use any of its allowed workplaces
            hold = HeldPlace(j.allowed, min(j.allowed), j.start, j.end, f"h{n}")
            obstacles.held.append(hold)
            plain_jobs.append(Job(("hold", n), j.start, j.end, j.allowed, min(j.allowed)))
        else:  # an appointment: fixed to its workplace
            obstacles.workplace[j.current].append((j.start, j.end))
            plain_jobs.append(Job(("appointment", n), j.start, j.end, frozenset({j.current})))
    # The day as it stands has room for every hold (each was taken with that check).
    assume(brute_force(plain_jobs))
    for quarter, quarters, workplace in questions:
        start, end = at(15 * quarter), at(15 * (quarter + quarters))
        cand = SlotCandidate(1, workplace, start, end, end, Decimal(0), 15 * quarters, 0)
        plain = fit_new(plain_jobs, start, end, workplace)
        assert obstacles.moves_for(cand) == plain
        assert (obstacles.stage(cand) is not _Stage.NO_WORKPLACE) == (plain is not None)


@settings(max_examples=400, deadline=None)
@given(
    busy_days(),
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(1, 6), st.integers(1, 3), st.booleans()),
        max_size=10,
    ),
)
def test_one_check_asked_start_after_start_answers_each_as_the_plain_search(
    case: tuple[WorkplaceDay, list[HeldPlace], datetime],
    questions: list[tuple[int, int, int, bool]],
) -> None:
    """A date's slot grid asks one check about start after start. What a search found for
    one question is where the next ones start from (`_Clusters.learn`): every answer, `fits`
    or `moves_for`, is still the plain search's over the day as it is."""
    day, holds, now = case
    check = Rearrangement(day, now=now, holds=holds)
    for quarter, quarters, workplace, moves_first in questions:
        start, end = at(15 * quarter), at(15 * (quarter + quarters))
        plain = fit_new(Rearrangement(day, now=now, holds=holds)._jobs, start, end, workplace)
        if moves_first:
            assert check.moves_for(start, end, workplace) == plain
        assert check.fits(start, end, workplace) == (plain is not None)


def chain_day() -> WorkplaceDay:
    """06:00-07:00 on workplace 1 (may use 1 or 2), on 2 (2 or 3) and on 3 (3 or 4): a new
    appointment on workplace 1 at that hour takes three moves, one more than the quick check
    tries."""
    hosts = {1: frozenset({1, 2}), 2: frozenset({2, 3}), 3: frozenset({3, 4})}
    placed = tuple(PlacedAppointment(n, n, n, at(0), at(60)) for n in (1, 2, 3))
    return WorkplaceDay((at(0), at(600)), hosts, placed)


def test_a_neighbouring_start_is_answered_from_the_moves_found_for_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    searched: list[int] = []
    search = assignment._assign_related

    def counted(related: list[Job], *args: object) -> object:
        searched.append(len(related))
        return search(related, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(assignment, "_assign_related", counted)
    check = Rearrangement(chain_day(), now=at(-60))
    assert check.fits(at(0), at(60), 1) is True
    assert searched == [3]
    # 06:15-07:00 needs the same three moves: found from the last answer, with no search.
    assert check.fits(at(15), at(60), 1) is True
    assert searched == [3]
    # The answer with the moves is still the plain search's.
    assert check.moves_for(at(15), at(60), 1) == {1: 2, 2: 3, 3: 4}


@settings(max_examples=400, deadline=None)
@given(days(), st.integers(0, 40), st.integers(1, 8))
def test_reach_is_the_stretch_of_every_job_linked_to_the_interval(
    jobs: list[Job], quarter: int, quarters: int
) -> None:
    """What a hold sends its script: every job meeting `reach`'s stretch is linked to the
    new interval through overlaps, and every linked job lies inside it."""
    start, end = at(15 * quarter), at(15 * (quarter + quarters))
    lo, hi = reach([(j.start, j.end) for j in jobs], start, end)
    linked = fit_component(jobs, start, end)
    assert lo <= start and end <= hi
    assert all(lo <= j.start and j.end <= hi for j in linked)
    assert [j for j in jobs if j.start < hi and lo < j.end] == [j for j in jobs if j in linked]


@settings(max_examples=400, deadline=None)
@given(busy_days(), st.integers(0, 20), st.integers(1, 6))
def test_a_dates_jobs_made_on_demand_send_what_the_whole_list_sends(
    case: tuple[WorkplaceDay, list[HeldPlace], datetime], quarter: int, quarters: int
) -> None:
    """`DayJobs` finds a hold's stretch by bisection over the date's appointments (in start
    order, as read) and makes only the jobs meeting it: the same stretch, jobs, places and
    unsent booking keys as `near_jobs` over every job made."""
    day, holds, now = case
    booked = WorkplaceDay(
        day.window,
        day.hosts,
        tuple(a._replace(booking_key=f"k{a.appointment_id}") for a in day.appointments),
    )
    lazy = DayJobs(booked, now=now)
    every = placed_jobs(booked, now=now)
    assert list(lazy) == every and len(lazy) == len(every)
    start, end = at(15 * quarter), at(15 * (quarter + quarters))
    spans = [(h.start, h.blocked_until) for h in holds]
    assert lazy.near(start, end, spans) == near_jobs(every, start, end, spans)
