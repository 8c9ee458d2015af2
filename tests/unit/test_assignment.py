"""Workplace assignment: exact against a brute-force oracle, and the case a greedy choice loses."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import assignment
from bot.domain.assignment import (
    Job,
    PlacedAppointment,
    Rearrangement,
    WorkplaceDay,
    _Search,
    assign_workplaces,
    moved,
)
from bot.domain.slots import Obstacles, Reason, day_slots
from tests.unit.test_slots_world import LOCATION, World, t

T0 = datetime(2030, 3, 5, 6, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def valid(jobs: list[Job], assignment: dict[Hashable, int]) -> bool:
    if set(assignment) != {j.key for j in jobs}:
        return False
    for job in jobs:
        if assignment[job.key] not in job.allowed:
            return False
    for a, b in itertools.combinations(jobs, 2):
        same = assignment[a.key] == assignment[b.key]
        if same and a.start < b.end and b.start < a.end:
            return False
    return True


def brute_force(jobs: list[Job]) -> bool:
    keys = [j.key for j in jobs]
    for choice in itertools.product(*(sorted(j.allowed) for j in jobs)):
        if valid(jobs, dict(zip(keys, choice, strict=True))):
            return True
    return False


def test_the_greedy_loss_of_the_report_is_found_and_moves_one_appointment() -> None:
    # 60 min + 15 min break: each blocks its workplace 75 minutes. Booked greedily:
    # Boris 09:00 -> 1, Anna 11:15 -> 1, Boris 10:15 -> 2. Anna 10:00 then fits only if
    # Anna 11:15 moves to workplace 2 and Boris 10:15 to workplace 1.
    both = frozenset({1, 2})
    jobs = [
        Job("boris-0900", at(0), at(75), both, current=1),
        Job("anna-1115", at(135), at(210), both, current=1),
        Job("boris-1015", at(75), at(150), both, current=2),
        Job("new-anna-1000", at(60), at(135), both),
    ]
    found = assign_workplaces(jobs)
    assert found is not None and valid(jobs, found)
    assert found["boris-0900"] == found["boris-1015"]
    assert found["new-anna-1000"] == found["anna-1115"] != found["boris-0900"]
    assert moved(jobs, found) == {"anna-1115": 2, "boris-1015": 1}


def test_a_pinned_or_started_appointment_keeps_its_workplace() -> None:
    jobs = [
        Job("pinned", at(0), at(60), frozenset({1}), current=1),
        Job("movable", at(30), at(90), frozenset({1, 2}), current=1),
        Job("new", at(30), at(90), frozenset({1, 2})),
    ]
    assert assign_workplaces(jobs) is None
    assert assign_workplaces(jobs[:2]) == {"pinned": 1, "movable": 2}


def test_back_to_back_jobs_share_a_workplace() -> None:
    jobs = [Job(n, at(60 * n), at(60 * n + 60), frozenset({7})) for n in range(10)]
    assert assign_workplaces(jobs) == {n: 7 for n in range(10)}


def test_nothing_moves_when_the_current_assignment_works() -> None:
    jobs = [
        Job(n, at(30 * n), at(30 * n + 90), frozenset({1, 2, 3}), current=1 + n % 3)
        for n in range(12)
    ]
    found = assign_workplaces(jobs)
    assert found is not None and moved(jobs, found) == {}


@st.composite
def days(draw: st.DrawFn) -> list[Job]:
    workplaces = draw(st.integers(1, 4))
    jobs = []
    for n in range(draw(st.integers(0, 7))):
        start = draw(st.integers(0, 40)) * 15
        length = draw(st.integers(1, 8)) * 15
        allowed = draw(st.frozensets(st.integers(1, workplaces), min_size=1, max_size=workplaces))
        current = draw(st.none() | st.sampled_from(sorted(allowed)))
        jobs.append(Job(n, at(start), at(start + length), allowed, current))
    return jobs


@settings(max_examples=400, deadline=None)
@given(days())
def test_exact_like_the_brute_force_oracle(jobs: list[Job]) -> None:
    found = assign_workplaces(jobs)
    assert (found is not None) == brute_force(jobs)
    if found is not None:
        assert valid(jobs, found)


def test_an_early_appointment_in_the_way_is_moved_without_trying_everything_between(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A busy morning (from a slow cold day of bench/slots.py): the new 09:45 job must have
    # workplace 9, where the 08:00 job sits until 10:00. Six jobs start in between, each with
    # seven to nine free workplaces. A plain depth-first search tries every placement of those
    # six (tens of thousands of states) before it moves the 08:00 job; the conflict sets send
    # it straight back to that job.
    def job(key: int, start: int, end: int, allowed: set[int], current: int) -> Job:
        return Job(key, at(start), at(end), frozenset(allowed), current)

    jobs = [
        job(1, 120, 240, {3, 5, 7, 9, 11, 19, 21, 25}, 9),
        job(2, 180, 270, {1, 3, 5, 7, 9, 15, 17, 21, 23}, 5),
        job(3, 195, 255, {1, 3, 7, 9, 13, 15, 17, 19, 21, 23}, 21),
        job(4, 195, 285, {1, 3, 5, 7, 9, 15, 17, 21, 23}, 1),
        job(5, 195, 285, {1, 5, 7, 9, 11, 13, 17, 19, 21, 23, 25}, 25),
        job(6, 210, 255, {3, 5, 7, 9, 11, 13, 15, 17, 25}, 3),
        job(7, 220, 260, {7, 9, 11, 13, 15, 19, 23}, 11),
        Job("new", at(225), at(315), frozenset({9})),
    ]
    placed = _counted_places(monkeypatch)
    found = assign_workplaces(jobs)
    assert found is not None and valid(jobs, found)
    assert found["new"] == 9 and found[1] != 9
    assert placed[0] <= 50  # a plain depth-first search visits over 50,000 states here


def test_the_engine_offers_anna_at_10_with_the_moves_it_takes() -> None:
    w = World()
    w.weekly = {d: w.weekly[d].__class__(d, t("08:00"), t("20:00")) for d in range(1, 8)}
    w.workplace(1)
    w.workplace(2)
    boris, anna = 7, 8
    w.specialist(boris, "08:00", "20:00")
    w.specialist(anna, "08:00", "20:00")
    day = dt.date(2030, 3, 5)
    now = w.at(day - dt.timedelta(days=1), "09:00")
    booked = [
        w.book(boris, 1, w.at(day, "09:00")),
        w.book(anna, 1, w.at(day, "11:15")),
        w.book(boris, 2, w.at(day, "10:15")),
    ]
    plan = w.plan(day, anna)
    greedy = w.obstacles()
    assert plan.evaluate(w.at(day, "10:00"), greedy, now=now, rules=w.rules)[0] is (
        Reason.NO_WORKPLACE
    )
    places = WorkplaceDay(
        plan.window,
        {1: frozenset({1, 2})},
        tuple(
            PlacedAppointment(a.appointment_id, 1, a.workplace_id, a.start, a.blocked_until)
            for a in booked
        ),
    )
    obstacles = Obstacles.build(
        location_id=LOCATION,
        capacity=None,
        appointments=w.appointments,
        rearrange=Rearrangement(places, now=now),
    )
    reason, found = plan.evaluate(w.at(day, "10:00"), obstacles, now=now, rules=w.rules)
    assert reason is Reason.OK
    by_workplace = {c.workplace_id: c.moves for c in found}
    # On workplace 2: Boris 10:15 goes to 1 and Anna 11:15 to 2 (with her 10:00).
    assert by_workplace[2] == ((booked[1].appointment_id, 2), (booked[2].appointment_id, 1))
    assert w.at(day, "10:00") in {
        o.start for o in day_slots(plan, obstacles, now=now, rules=w.rules)
    }
    # A started appointment stays put: once Boris 10:15 is under way, it keeps workplace 2.
    later = Rearrangement(places, now=w.at(day, "10:20"))
    assert later.moves_for(w.at(day, "10:00"), w.at(day, "11:15"), 2) is None
    # So does a pinned one.
    pinned = WorkplaceDay(
        places.window,
        places.hosts,
        tuple(
            PlacedAppointment(p.appointment_id, 1, p.workplace_id, p.start, p.blocked_until, True)
            for p in places.appointments
        ),
    )
    assert (
        Rearrangement(pinned, now=now).moves_for(w.at(day, "10:00"), w.at(day, "11:15"), 2) is None
    )


def _counted_places(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the search's `_place` calls (the states it visits) into the list's one item."""
    calls = [0]
    place = _Search._place

    def counted(search: _Search, n: int, *args: list[int]) -> set[int] | None:
        calls[0] += 1
        return place(search, n, *args)

    monkeypatch.setattr(_Search, "_place", counted)
    return calls


def _full_house(new: bool = True) -> list[Job]:
    """Ten appointments of a busy afternoon (the conflict at the heart of a slow cold day of
    bench/slots.py): from 10:30 to 10:45 they take all ten workplaces, and nine of them run
    past 10:45, when a new one needs workplace 6. Only 15051 ends by then, and it cannot
    use 6: there is no assignment, though each moment of the new one's own time has room."""
    rows = [
        (15051, 165, 285, {11, 21, 26, 31, 41, 46}, 41),
        (15072, 250, 370, {11, 21, 26, 31, 41, 46}, 21),
        (15074, 260, 305, {6, 11, 16, 41}, 6),
        (15075, 260, 315, {1, 16, 31, 36, 46}, 16),
        (15077, 265, 310, {21, 31, 36}, 36),
        (15082, 270, 300, {1, 26, 36, 41, 46}, 26),
        (15079, 270, 310, {6, 11, 21, 26}, 11),
        (15078, 270, 325, {1, 16, 31, 36, 46}, 1),
        (15081, 270, 325, {1, 16, 31, 36, 46}, 46),
        (15080, 270, 360, {1, 6, 11, 16, 21, 31, 41}, 31),
    ]
    jobs = [Job(k, at(s), at(e), frozenset(allowed), cur) for k, s, e, allowed, cur in rows]
    if new:
        jobs.append(Job("new", at(285), at(380), frozenset({6})))
    return jobs


def test_a_full_house_is_refuted_in_a_few_hundred_states(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counted_places(monkeypatch)
    assert assign_workplaces(_full_house(new=False)) is not None  # the day itself stands
    calls[0] = 0
    assert assign_workplaces(_full_house()) is None
    # 8,469 states before the lists were narrowed and the starts checked; 4,933 with the
    # narrowing alone. At 10:30 the nine that overlap the new job cannot use 6, and ten
    # are in progress: the check of every start finds it once `_CHECK_AFTER` states failed.
    assert calls[0] <= assignment._CHECK_AFTER + 50


def test_a_new_job_overlapping_one_held_to_its_workplace_is_refused_before_searching(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counted_places(monkeypatch)
    jobs = [
        Job(1, at(0), at(60), frozenset({1}), 1),  # pinned to 1
        Job(2, at(0), at(120), frozenset({1, 2}), 2),
        Job("new", at(30), at(90), frozenset({2})),  # leaves job 2 only workplace 1
    ]
    assert assign_workplaces(jobs) is None
    assert calls[0] == 0


def busy_day() -> list[Job]:
    data = json.loads((Path(__file__).parent / "data" / "full_house_day.json").read_text())
    return [
        Job(
            row["key"],
            at(row["start"]),
            at(row["end"]),
            frozenset(row["allowed"]),
            row["current"],
        )
        for row in data["jobs"]
    ]


def test_a_busy_day_from_the_bench_finds_the_plain_searchs_assignment() -> None:
    jobs = busy_day()
    with patch.object(assignment, "_CHECK_AFTER", 10**9):
        plain = assign_workplaces(jobs)
    with patch.object(assignment, "_CHECK_AFTER", 0):
        checked = assign_workplaces(jobs)
    found = assign_workplaces(jobs)
    assert found is not None and valid(jobs, found) and found["new"] == 21
    assert found == plain == checked


def test_a_search_gives_up_after_its_states_and_reports_no_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = busy_day()  # room is found after 2,203 failed states
    calls = _counted_places(monkeypatch)
    before = assignment.searches_given_up()
    with patch.object(assignment, "SEARCH_STATES", 500):
        assert assign_workplaces(jobs) is None
    assert calls[0] <= 600
    assert assignment.searches_given_up() == before + 1  # what the metrics export
    assert assign_workplaces(jobs) is not None
    assert assign_workplaces(_full_house()) is None  # proven full: not a search that gave up
    assert assignment.searches_given_up() == before + 1


@settings(max_examples=300, deadline=None)
@given(days())
def test_checking_every_start_at_once_finds_what_the_plain_search_finds(
    jobs: list[Job],
) -> None:
    with patch.object(assignment, "_CHECK_AFTER", 10**9):
        plain = assign_workplaces(jobs)
    with patch.object(assignment, "_CHECK_AFTER", 0):
        checked = assign_workplaces(jobs)
    assert checked == plain
    assert (checked is not None) == brute_force(jobs)
