"""Which workplace each appointment of a day uses (docs/rules.md#slot-grid: a workplace must be
free for the whole interval, counting any re-assignment).

A booking chooses a workplace, but the choice is not final: until an appointment starts, and
unless its workplace is pinned (by the specialist's schedule row, or by an admin), it may move
to any other workplace hosting its service. So a new appointment fits a location's day when
SOME assignment of workplaces exists for it together with every movable appointment; a greedy
choice made at an earlier booking never makes a day that fits look full.

This is interval scheduling on machines with eligibility (each job has a fixed interval and a set
of workplaces it may use). That is NP-hard in general, but a day has few workplaces and tens of
appointments, and the search here is exact and small:
- jobs are taken in start order, so a workplace is free for a job when its last job has ended;
- each job tries its current workplace first (the answer moves as few appointments as it can
  find cheaply) and then the others in id order;
- workplaces that no job tells apart (the same jobs may use them) and that are free at the same
  time are the same choice, so only one of them is tried;
- a (job, free-times) state that failed once is not searched again.
Fixed jobs (started, or pinned) are jobs with one allowed workplace.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Job:
    """One appointment (or the one being booked): it occupies a workplace for [start, end)
    (`end` is the blocked end, the break included) and may use any of `allowed`. `current` is
    its workplace now (None for a new one). `booking_key`: for a booked appointment, the id of
    the hold it was booked with (that hold, if still live, is this job and no other)."""

    key: Hashable
    start: datetime
    end: datetime
    allowed: frozenset[int]
    current: int | None = None
    booking_key: str | None = None


class _Search:
    def __init__(self, jobs: Sequence[Job]) -> None:
        self.jobs = sorted(jobs, key=lambda j: (j.start, j.end, str(j.key)))
        self.workplaces = sorted({w for j in self.jobs for w in j.allowed})
        self.index = {w: i for i, w in enumerate(self.workplaces)}
        # A workplace's "class": the set of jobs that may use it. Equal classes are
        # interchangeable for the whole search.
        users: dict[int, list[int]] = {w: [] for w in self.workplaces}
        for n, job in enumerate(self.jobs):
            for w in job.allowed:
                users[w].append(n)
        self.klass = {w: tuple(users[w]) for w in self.workplaces}
        self.failed: set[tuple[int, tuple[datetime | None, ...]]] = set()
        self.chosen: list[int] = []

    def run(self) -> dict[Hashable, int] | None:
        free: list[datetime | None] = [None] * len(self.workplaces)
        if not self._place(0, free):
            return None
        return {job.key: w for job, w in zip(self.jobs, self.chosen, strict=True)}

    def _options(self, job: Job, free: list[datetime | None]) -> list[int]:
        ordered = sorted(job.allowed, key=lambda w: (w != job.current, w))
        seen: set[tuple[int, ...]] = set()
        out = []
        for w in ordered:
            until = free[self.index[w]]
            if until is not None and until > job.start:
                continue  # busy when this job starts
            # Same class, both free by now: only the wait until free could tell them apart,
            # and jobs come in start order, so later jobs see them alike as well.
            signature = self.klass[w]
            if w != job.current and signature in seen:
                continue
            seen.add(signature)
            out.append(w)
        return out

    def _place(self, n: int, free: list[datetime | None]) -> bool:
        if n == len(self.jobs):
            return True
        job = self.jobs[n]
        # Free by this job's start means free for every later job too (start order).
        state = (n, tuple(None if f is not None and f <= job.start else f for f in free))
        if state in self.failed:
            return False
        for w in self._options(job, free):
            i = self.index[w]
            before = free[i]
            free[i] = job.end
            self.chosen.append(w)
            if self._place(n + 1, free):
                return True
            self.chosen.pop()
            free[i] = before
        self.failed.add(state)
        return False


def assign_workplaces(jobs: Iterable[Job]) -> dict[Hashable, int] | None:
    """A workplace for every job such that no two jobs on one workplace overlap (half-open
    intervals: one may start when the other ends), each job on one of its `allowed`
    workplaces; or None when no such assignment exists. Jobs keep their `current` workplace
    where the search allows. Keys must be unique."""
    return _Search(list(jobs)).run()


def moved(jobs: Iterable[Job], assignment: dict[Hashable, int]) -> dict[Hashable, int]:
    """The jobs whose workplace changes under `assignment` (new ones excluded): key -> new
    workplace."""
    return {
        j.key: assignment[j.key]
        for j in jobs
        if j.current is not None and assignment[j.key] != j.current
    }


@dataclass(frozen=True, slots=True)
class PlacedAppointment:
    """An active appointment at the location as the re-assignment sees it: its workplace is
    busy for [start, blocked_until); `pinned` means it must stay (an admin's pin, or its
    specialist's schedule row pins a workplace that day). `booking_key`: the id of the hold it
    was booked with (None: booked without one)."""

    appointment_id: int
    service_id: int
    workplace_id: int
    start: datetime
    blocked_until: datetime
    pinned: bool = False
    booking_key: str | None = None


@dataclass(frozen=True)
class WorkplaceDay:
    """Everything the re-assignment needs for one location over a window (a location-local
    date): which workplaces host each service, and the appointments placed on them."""

    window: tuple[datetime, datetime]
    hosts: Mapping[int, frozenset[int]]  # service_id -> active workplaces hosting it
    appointments: tuple[PlacedAppointment, ...]

    def within(self, window: tuple[datetime, datetime]) -> WorkplaceDay:
        """The same location narrowed to `window` (one date of a range loaded at once)."""
        lo, hi = window
        inside = tuple(a for a in self.appointments if a.start < hi and a.blocked_until > lo)
        return WorkplaceDay(window, self.hosts, inside)


def placed_jobs(
    day: WorkplaceDay, *, now: datetime, exclude_appointment_id: int | None = None
) -> list[Job]:
    """The day's appointments as jobs (key: the appointment id). Movable, so allowed on every
    workplace hosting its service: not started at `now`, not pinned, wholly inside the window
    (an appointment that runs over the window's edge meets others the window does not show),
    and its service has another host. Everything else may use only its own workplace. The
    appointment `exclude_appointment_id` (being rescheduled) is left out."""
    lo, hi = day.window
    jobs: list[Job] = []
    for appt in day.appointments:
        if appt.appointment_id == exclude_appointment_id:
            continue
        hosts = day.hosts.get(appt.service_id, frozenset())
        movable = (
            not appt.pinned
            and appt.start > now
            and lo <= appt.start
            and appt.blocked_until <= hi
            and appt.workplace_id in hosts
            and len(hosts) > 1
        )
        allowed = hosts if movable else frozenset({appt.workplace_id})
        jobs.append(
            Job(
                appt.appointment_id,
                appt.start,
                appt.blocked_until,
                allowed,
                appt.workplace_id,
                appt.booking_key,
            )
        )
    return jobs


def spent_holds(booking_keys: Iterable[str | None]) -> frozenset[str]:
    """The hold ids among appointments' `booking_keys`: holds already booked. A confirm gives
    its hold back only after its commit, so for a moment (or, if its process died, until the
    update comes again or the hold expires) a hold and its appointment are both seen; they
    are one booking and take one place (docs/rules.md#holds)."""
    return frozenset(k for k in booking_keys if k)


@dataclass(frozen=True, slots=True)
class HeldPlace:
    """Another client's hold as the re-assignment sees it: it needs one of `allowed` (the
    workplaces able to serve it; one when its specialist is pinned to a workplace) for
    [start, blocked_until), and sits on `current` for now. `hold_id`: see `spent_holds`."""

    allowed: frozenset[int]
    current: int
    start: datetime
    blocked_until: datetime
    hold_id: str = ""


class Rearrangement:
    """Can a new appointment go on `workplace_id` for [start, blocked_until) if the day's
    movable appointments change workplaces, and which moves does that take?

    Movable appointments as in `placed_jobs`; everything else stays where it is. Other
    clients' holds at the location reserve a workplace among their `allowed` ones, not a
    particular one (docs/rules.md#holds), so they move in the search too; a hold already
    booked (`spent_holds`) is its appointment. Answers are cached per (start, blocked_until,
    workplace).
    """

    def __init__(
        self,
        day: WorkplaceDay,
        *,
        now: datetime,
        holds: Iterable[HeldPlace] = (),
        exclude_appointment_id: int | None = None,
    ) -> None:
        self._jobs: list[Job] = placed_jobs(
            day, now=now, exclude_appointment_id=exclude_appointment_id
        )
        spent = spent_holds(a.booking_key for a in day.appointments)
        for n, hold in enumerate(h for h in holds if h.hold_id not in spent):
            self._jobs.append(
                Job(("hold", n), hold.start, hold.blocked_until, hold.allowed, hold.current)
            )
        self._cache: dict[tuple[datetime, datetime, int], dict[int, int] | None] = {}

    def moves_for(
        self, start: datetime, blocked_until: datetime, workplace_id: int
    ) -> dict[int, int] | None:
        """None when no assignment fits the new appointment on `workplace_id`; else the moves
        it takes (appointment id -> new workplace id; empty when nothing has to move)."""
        key = (start, blocked_until, workplace_id)
        if key not in self._cache:
            self._cache[key] = fit_new(self._jobs, start, blocked_until, workplace_id)
        return self._cache[key]


def fit_new(
    jobs: Sequence[Job], start: datetime, blocked_until: datetime, workplace_id: int
) -> dict[int, int] | None:
    """Place a new job on `workplace_id` for [start, blocked_until) among `jobs`: None when no
    assignment exists, else the appointments (int keys) that must move (id -> workplace)."""
    # Only jobs that can reach the new one's interval, directly or through a chain of
    # overlaps, matter; the rest keep their workplace.
    related = _overlap_component(jobs, start, blocked_until)
    new = Job(("new",), start, blocked_until, frozenset({workplace_id}))
    found = assign_workplaces([*related, new])
    if found is None:
        return None
    return {k: w for k, w in moved(related, found).items() if isinstance(k, int)}


def _overlap_component(jobs: Sequence[Job], start: datetime, end: datetime) -> list[Job]:
    """The jobs connected to [start, end) through overlapping intervals."""
    lo, hi = start, end
    ordered = sorted(jobs, key=lambda j: j.start)
    picked: list[Job] = []
    changed = True
    taken: set[int] = set()
    while changed:
        changed = False
        for n, job in enumerate(ordered):
            if n not in taken and job.start < hi and lo < job.end:
                taken.add(n)
                picked.append(job)
                lo, hi = min(lo, job.start), max(hi, job.end)
                changed = True
    return picked
