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
- a (job, free-times) state that failed once is not searched again;
- a failure is blamed on the jobs holding the workplaces it lacked, and the search goes
  straight back to the latest of them (conflict-directed backjumping): the jobs in between
  cannot help, and on a busy day trying each of their placements took seconds;
- a workplace that a job held to it (one allowed workplace: the new job, a pinned or started
  appointment) occupies is taken off the lists of the jobs overlapping it before the search
  starts, which may leave another job one workplace in turn (`_narrowed`);
- a search that has failed `_CHECK_AFTER` states checks once that at every start of a job
  the jobs in progress can each have a workplace of their own from their narrowed lists (a
  matching): a day whose workplaces are all taken at once is then refused without trying
  tens of thousands of placements;
- a search gives up after `SEARCH_STATES` failed states and answers that nothing fits (the
  hold script, `bot.services.holds`, has the same kind of limit): on a pathological day a
  time is not offered rather than the bot stalling for seconds (docs/rules.md#slot-grid).
Within that limit, none of these cuts a subtree holding an assignment, so the first assignment
found is the one a plain depth-first search finds.
Before the search, a question about a new job (`JobFit`) looks for a cheaper yes: moving the
jobs in its way to free workplaces, a step or two deep, from the current assignment or from
one a search found for an earlier question (the slot grid asks about neighbouring starts,
which the same moves often free).
Fixed jobs (started, or pinned) are jobs with one allowed workplace.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from itertools import pairwise
from typing import NamedTuple, TypeVar, overload

_MICROSECOND = timedelta(microseconds=1)
NEW = ("new",)  # the key of the job a question places
_KNOWN = 8  # assignments found by a search that `_Clusters` keeps to start from
# Failed states after which a search checks every start for room (`_Search.room_at_starts`):
# most questions take tens of states, fewer than that check costs (docs/bench-slots.md).
_CHECK_AFTER = 256
# Failed states after which a search gives up: no assignment is reported.
SEARCH_STATES = 20_000
T = TypeVar("T")

# Searches of this process that gave up at `SEARCH_STATES` (`searches_given_up`).
_given_up = 0


def searches_given_up() -> int:
    """How many workplace searches in this process gave up at `SEARCH_STATES` and reported
    no room: each is a time shown or checked as taken that an exhaustive search might have
    fitted (docs/rules.md#slot-grid). The metrics export it (`bot.ops.metrics`)."""
    return _given_up


def _gave_up() -> _NoAssignment:
    global _given_up
    _given_up += 1
    return _NoAssignment()


class Job(NamedTuple):
    """One appointment (or the one being booked): it occupies a workplace for [start, end)
    (`end` is the blocked end, the break included) and may use any of `allowed`. `current` is
    its workplace now (None for a new one). `booking_key`: for a booked appointment, the id of
    the hold it was booked with (that hold, if still live, is this job and no other).
    A named tuple rather than a frozen dataclass: one is built per appointment of the day on
    every check, and a tuple is built about four times faster (docs/bench-booking.md)."""

    key: Hashable
    start: datetime
    end: datetime
    allowed: frozenset[int]
    current: int | None = None
    booking_key: str | None = None


class _NoAssignment(Exception):
    """The search ends without an assignment before trying every placement (`_Search.run`)."""


class _Search:
    def __init__(self, jobs: Sequence[Job], tried: Sequence[list[int]] | None = None) -> None:
        """`tried`, when given: `jobs` are in search order (`_search_key`) already, and these
        are their `_tried_order`s."""
        if tried is None:
            self.jobs = sorted(jobs, key=_search_key)
            tried = [_tried_order(job) for job in self.jobs]
        else:
            self.jobs = list(jobs)
        # Times as microseconds from the first start (cheaper to compare and hash); a free
        # workplace's time is -1, before every start.
        self.starts: list[int] = []
        self.ends: list[int] = []
        if self.jobs:
            base = self.jobs[0].start
            self.starts = [(job.start - base) // _MICROSECOND for job in self.jobs]
            self.ends = [(job.end - base) // _MICROSECOND for job in self.jobs]
        narrowed = _narrowed(self.starts, self.ends, tried)
        self.impossible = narrowed is None
        if narrowed is not None:
            tried = narrowed
        # A workplace's "class": the set of jobs that may use it. Equal classes are
        # interchangeable for the whole search.
        users: dict[int, list[int]] = {}
        for n, ws in enumerate(tried):
            for w in ws:
                users.setdefault(w, []).append(n)
        self.workplaces = sorted(users)
        self.index = {w: i for i, w in enumerate(self.workplaces)}
        self.klass = {w: tuple(users[w]) for w in self.workplaces}
        # Per job, its workplaces in the order they are tried (its current one first, then by
        # id), each with its slot in `free` and its class.
        index, klass = self.index, self.klass
        self.order = [[(w, index[w], klass[w]) for w in ws] for ws in tried]
        self.failed: set[tuple[int, tuple[int, ...]]] = set()
        self.chosen: list[int] = []
        self.checked = False  # `room_at_starts` asked of every start

    def run(self) -> dict[Hashable, int] | None:
        """A workplace for every job (key -> workplace), the first the depth-first search
        meets; None when there is none, or when the search gave up (`SEARCH_STATES`)."""
        if self.impossible:
            return None
        free = [-1] * len(self.workplaces)
        holder = [-1] * len(self.workplaces)
        try:
            if self._place(0, free, holder) is not None:
                return None
        except _NoAssignment:
            return None
        return {job.key: w for job, w in zip(self.jobs, self.chosen, strict=True)}

    @cached_property
    def _slots(self) -> list[list[int]]:
        """Per job, the slots in `free` of its (narrowed) workplaces."""
        return [[i for _, i, _ in options] for options in self.order]

    def room_at_starts(self, window: tuple[datetime, datetime] | None = None) -> bool:
        """Whether at every start of a job (within `window` when given) the jobs in progress
        can each have a workplace of their own from their narrowed lists (`_has_matching`).
        False: no assignment, and the search need not try them all to find that out; True
        says nothing. A narrowed list reaches past the job it was narrowed by, so the moment
        that shows it is often outside a new job's own time: the search checks every start
        once it has failed `_CHECK_AFTER` states."""
        starts, ends, slots = self.starts, self.ends, self._slots
        count = len(starts)
        m, hi = 0, None
        if window is not None and count:
            base = self.jobs[0].start
            lo, hi = ((t - base) // _MICROSECOND for t in window)
            m = bisect_left(starts, lo)
        while m < count and (hi is None or starts[m] < hi):
            moment = starts[m]
            while m + 1 < count and starts[m + 1] == moment:
                m += 1  # every job starting at this moment is in progress at it
            in_progress = [slots[k] for k in range(m + 1) if ends[k] > moment]
            if len(in_progress) > 1 and not _has_matching(in_progress):
                return False
            m += 1
        return True

    def _options(self, n: int, free: list[int]) -> list[tuple[int, int]]:
        """The (workplace, slot in `free`) pairs job `n` tries, in order."""
        start, current = self.starts[n], self.jobs[n].current
        seen: set[tuple[int, ...]] = set()
        out = []
        for w, i, signature in self.order[n]:
            if free[i] > start:
                continue  # busy when this job starts
            # Same class, both free by now: only the wait until free could tell them apart,
            # and jobs come in start order, so later jobs see them alike as well.
            if w != current and signature in seen:
                continue
            seen.add(signature)
            out.append((w, i))
        return out

    def _place(self, n: int, free: list[int], holder: list[int]) -> set[int] | None:
        """Place jobs n, n+1, ... given each workplace's `free` time and its `holder` (the
        job placed on it last, -1 for none): None when they all fit (`chosen` then holds
        their workplaces); else a conflict set, jobs before n whose placements alone make
        this fail whatever the jobs between them and n do.

        The conflict set is what makes a failure deep in the day cheap: the search jumps
        straight back to the latest job in it instead of trying every choice of the jobs in
        between, none of which can help (conflict-directed backjumping). The first
        assignment found is the one a plain depth-first search finds: only subtrees without
        one are skipped."""
        if n == len(self.jobs):
            return None
        # Free by this job's start means free for every later job too (start order).
        start, end = self.starts[n], self.ends[n]
        state = (n, tuple([f if f > start else -1 for f in free]))
        if state in self.failed:
            # The state fails whoever holds its busy workplaces: those jobs are to blame.
            return {holder[i] for i, f in enumerate(free) if f > start}
        failed = len(self.failed)
        if failed >= _CHECK_AFTER and not self.checked:
            self.checked = True
            if not self.room_at_starts():
                raise _NoAssignment
        if failed >= SEARCH_STATES:
            raise _gave_up()
        conflict: set[int] = set()
        for w, i in self._options(n, free):
            before, held = free[i], holder[i]
            free[i], holder[i] = end, n
            self.chosen.append(w)
            blamed = self._place(n + 1, free, holder)
            if blamed is None:
                return None
            self.chosen.pop()
            free[i], holder[i] = before, held
            if n not in blamed:
                # This job's choice plays no part: no other choice of it can help.
                self.failed.add(state)
                return blamed
            blamed.discard(n)
            conflict |= blamed
        self.failed.add(state)
        # A workplace of this job's taken at its start: its holder is to blame too (`free`
        # and `holder` are as they were on entry again).
        conflict.update(holder[i] for _, i, _ in self.order[n] if free[i] > start)
        return conflict


def _search_key(job: Job) -> tuple[datetime, datetime, str]:
    """The order the search takes jobs in: by start (then end, then key, for determinism)."""
    return (job.start, job.end, str(job.key))


def _tried_order(job: Job) -> list[int]:
    """The job's workplaces, its current one first, then by id."""
    return sorted(job.allowed, key=lambda w: (w != job.current, w))


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


class PlacedAppointment(NamedTuple):
    """An active appointment at the location as the re-assignment sees it: its workplace is
    busy for [start, blocked_until); `pinned` means it must stay (an admin's pin, or its
    specialist's schedule row pins a workplace that day). `booking_key`: the id of the hold it
    was booked with (None: booked without one).
    A named tuple rather than a frozen dataclass: one is built per row read, and a tuple is
    built about four times faster (docs/bench-booking.md)."""

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
        """The same location narrowed to `window` (one date of a range loaded at once):
        the appointments meeting it, in their order."""
        inside = tuple(self.appointments[n] for n in self._meeting(*window))
        return WorkplaceDay(window, self.hosts, inside)

    def _meeting(self, lo: datetime, hi: datetime) -> list[int]:
        """The positions of the appointments meeting [lo, hi), in order: by bisection when
        they are in start order (`_index`), else by a look at each."""
        appointments = self.appointments
        index = self._index
        if index is None:
            return [n for n, a in enumerate(appointments) if a.start < hi and a.blocked_until > lo]
        starts, reach = index
        # Before `first` every appointment has ended by `lo`; from `last` on none starts
        # before `hi`.
        first, last = bisect_right(reach, lo), bisect_left(starts, hi)
        return [n for n in range(first, last) if appointments[n].blocked_until > lo]

    @cached_property
    def _index(self) -> tuple[list[datetime], list[datetime]] | None:
        """For appointments in start order (as loaded): their starts, and the latest blocked
        end among each prefix (both ascending, for bisection). None when out of order."""
        starts = [a.start for a in self.appointments]
        if any(b < a for a, b in pairwise(starts)):
            return None
        reach: list[datetime] = []
        for a in self.appointments:
            reach.append(a.blocked_until if not reach else max(reach[-1], a.blocked_until))
        return starts, reach


def placed_jobs(
    day: WorkplaceDay, *, now: datetime, exclude_appointment_id: int | None = None
) -> list[Job]:
    """The day's appointments as jobs (key: the appointment id). Movable, so allowed on every
    workplace hosting its service: not started at `now`, not pinned, wholly inside the window
    (an appointment that runs over the window's edge meets others the window does not show),
    and its service has another host. Everything else may use only its own workplace. The
    appointment `exclude_appointment_id` (being rescheduled) is left out."""
    return [
        _job_of(day, appt, now)
        for appt in day.appointments
        if appt.appointment_id != exclude_appointment_id
    ]


def _job_of(day: WorkplaceDay, appt: PlacedAppointment, now: datetime) -> Job:
    """One appointment of `day` as `placed_jobs` makes it."""
    lo, hi = day.window
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
    return Job(
        appt.appointment_id,
        appt.start,
        appt.blocked_until,
        allowed,
        appt.workplace_id,
        appt.booking_key,
    )


class DayJobs(Sequence[Job]):
    """`placed_jobs(day, now=now)` made one job at a time, when asked for: a hold needs only
    the few its time reaches (`near`), of a date that may have hundreds."""

    def __init__(self, day: WorkplaceDay, *, now: datetime) -> None:
        self._day = day
        self._now = now

    def __len__(self) -> int:
        return len(self._day.appointments)

    @overload
    def __getitem__(self, index: int) -> Job: ...

    @overload
    def __getitem__(self, index: slice) -> list[Job]: ...

    def __getitem__(self, index: int | slice) -> Job | list[Job]:
        day, now = self._day, self._now
        if isinstance(index, slice):
            return [_job_of(day, appt, now) for appt in day.appointments[index]]
        return _job_of(day, day.appointments[index], now)

    def near(
        self, start: datetime, end: datetime, spans: Sequence[tuple[datetime, datetime]]
    ) -> tuple[tuple[datetime, datetime], list[tuple[int, Job]], list[str]]:
        """What a hold over [start, end) sends its script: the stretch that interval reaches
        through overlaps with these jobs and `spans` (`reach`), the jobs meeting it, each
        with its place among all of them (counted from 1), and the booking keys of the jobs
        left out. With the appointments in start order (as read) the stretch is found by
        bisection and only the jobs meeting it are made."""
        appointments = self._day.appointments
        index = self._day._index
        if index is None:
            return near_jobs(list(self), start, end, spans)
        starts, reach_of = index  # starts, and each prefix's latest blocked end
        lo, hi = start, end
        grown = True
        while grown:
            grown = False
            # Every appointment starting before `hi` and ending after it meets [lo, hi).
            last = bisect_left(starts, hi)
            if last and reach_of[last - 1] > hi:
                hi, grown = reach_of[last - 1], True
            # The first whose prefix reaches past `lo` is the earliest meeting it.
            first = bisect_right(reach_of, lo)
            if first < last and starts[first] < lo:
                lo, grown = starts[first], True
            for s, e in spans:
                if s < hi and lo < e and (s < lo or e > hi):
                    lo, hi, grown = min(lo, s), max(hi, e), True
        day, now = self._day, self._now
        near = [(n + 1, _job_of(day, appointments[n], now)) for n in day._meeting(lo, hi)]
        taken = {n for n, _ in near}
        unsent = [
            appt.booking_key
            for n, appt in enumerate(appointments, 1)
            if appt.booking_key and n not in taken
        ]
        return (lo, hi), near, unsent


def near_jobs(
    jobs: Sequence[Job],
    start: datetime,
    end: datetime,
    spans: Sequence[tuple[datetime, datetime]],
) -> tuple[tuple[datetime, datetime], list[tuple[int, Job]], list[str]]:
    """`DayJobs.near` for any jobs: the stretch [start, end) reaches through overlaps with
    `jobs` and `spans` (`reach`), the jobs meeting it with their places among `jobs` (from 1),
    and the booking keys of the others."""
    if isinstance(jobs, DayJobs):
        return jobs.near(start, end, spans)
    lo, hi = reach([*((j.start, j.end) for j in jobs), *spans], start, end)
    near: list[tuple[int, Job]] = []
    unsent: list[str] = []
    for n, job in enumerate(jobs, 1):
        if job.start < hi and lo < job.end:
            near.append((n, job))
        elif job.booking_key:
            unsent.append(job.booking_key)
    return (lo, hi), near, unsent


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


class JobFit:
    """Can a new job go on `workplace_id` for [start, blocked_until) among `jobs` (which may
    change workplaces within their `allowed` ones), and which moves does that take?

    `jobs` must not change once a question was asked: the runs of overlapping jobs are worked
    out at the first question, and the answers are cached per (start, blocked_until,
    workplace), so a day checked start by start searches each question once.
    """

    def __init__(self, jobs: Sequence[Job]) -> None:
        self._jobs = jobs
        self._cache: dict[tuple[datetime, datetime, int], dict[int, int] | None] = {}

    @cached_property
    def _clusters(self) -> _Clusters | None:
        return _Clusters.of(self._jobs)

    def fits(self, start: datetime, blocked_until: datetime, workplace_id: int) -> bool:
        """Whether `moves_for` finds an assignment (the same answer), without searching when
        moving each job in the way to a workplace free for it as things stand is enough."""
        key = (start, blocked_until, workplace_id)
        if key in self._cache:
            return self._cache[key] is not None
        clusters = self._clusters
        if clusters is not None and start < blocked_until:
            simple = clusters.simple_fit(start, blocked_until, workplace_id)
            if simple is not None:
                return simple
        return self.moves_for(start, blocked_until, workplace_id) is not None

    def moves_for(
        self, start: datetime, blocked_until: datetime, workplace_id: int
    ) -> dict[int, int] | None:
        """None when no assignment fits the new job on `workplace_id`; else the jobs with int
        keys (appointment ids) that must move (id -> new workplace id; empty when none)."""
        key = (start, blocked_until, workplace_id)
        if key not in self._cache:
            clusters = self._clusters
            if clusters is None or not start < blocked_until:
                found = fit_new(self._jobs, start, blocked_until, workplace_id)
            else:
                related, tried = clusters.meeting(start, blocked_until)
                assignment = _assign_related(related, start, blocked_until, workplace_id, tried)
                found = None
                if assignment is not None:
                    found = _moves(related, assignment)
                    clusters.learn(start, blocked_until, assignment)
            self._cache[key] = found
        return self._cache[key]


class ReachFit:
    """`JobFit`'s answers, with a job made only for the runs of overlapping intervals a question
    reaches: a question about [start, blocked_until) depends on those jobs alone (the others
    keep their workplace, `fit_new`), so a day with many jobs and few questions makes few.

    `spans[i]` is job i's [start, end); `job(i)` makes it. The spans are sorted into runs once;
    each reach (a range of runs) gets its own `JobFit`, kept for the next question. With a span
    of no length every question reaches every job, as `JobFit` would treat them.
    """

    def __init__(
        self, spans: Sequence[tuple[datetime, datetime]], job: Callable[[int], Job]
    ) -> None:
        self._job = job
        self._whole = any(not s < e for s, e in spans)
        self._starts, self._ends, self._runs = _overlap_runs(
            sorted(range(len(spans)), key=lambda i: spans[i][0]), spans.__getitem__
        )
        self._fits: dict[tuple[int, int], JobFit] = {}

    def _reach(self, start: datetime, blocked_until: datetime) -> JobFit:
        if self._whole or not start < blocked_until:
            key = (0, len(self._runs))
        else:  # runs are disjoint and ordered: those meeting the interval are consecutive
            key = (bisect_right(self._ends, start), bisect_left(self._starts, blocked_until))
        fit = self._fits.get(key)
        if fit is None:
            fit = JobFit([self._job(i) for run in self._runs[key[0] : key[1]] for i in run])
            self._fits[key] = fit
        return fit

    def fits(self, start: datetime, blocked_until: datetime, workplace_id: int) -> bool:
        """`JobFit.fits` over every job."""
        return self._reach(start, blocked_until).fits(start, blocked_until, workplace_id)

    def moves_for(
        self, start: datetime, blocked_until: datetime, workplace_id: int
    ) -> dict[int, int] | None:
        """`JobFit.moves_for` over every job."""
        return self._reach(start, blocked_until).moves_for(start, blocked_until, workplace_id)


class Rearrangement:
    """Can a new appointment go on `workplace_id` for [start, blocked_until) if the day's
    movable appointments change workplaces, and which moves does that take?

    Movable appointments as in `placed_jobs`; everything else stays where it is. Other
    clients' holds at the location reserve a workplace among their `allowed` ones, not a
    particular one (docs/rules.md#holds), so they move in the search too; a hold already
    booked (`spent_holds`) is its appointment. Answers are cached per (start, blocked_until,
    workplace) (`JobFit`).
    """

    def __init__(
        self,
        day: WorkplaceDay,
        *,
        now: datetime,
        holds: Iterable[HeldPlace] = (),
        exclude_appointment_id: int | None = None,
    ) -> None:
        # The jobs are made at the first question: most days built never ask one.
        self._day = day
        self._now = now
        self._holds = tuple(holds)
        self._exclude = exclude_appointment_id

    @cached_property
    def _jobs(self) -> list[Job]:
        jobs = placed_jobs(self._day, now=self._now, exclude_appointment_id=self._exclude)
        spent = spent_holds(a.booking_key for a in self._day.appointments)
        for n, hold in enumerate(h for h in self._holds if h.hold_id not in spent):
            jobs.append(
                Job(("hold", n), hold.start, hold.blocked_until, hold.allowed, hold.current)
            )
        return jobs

    @cached_property
    def _fit(self) -> JobFit:
        return JobFit(self._jobs)

    def fits(self, start: datetime, blocked_until: datetime, workplace_id: int) -> bool:
        """Whether `moves_for` finds an assignment (the same answer), without searching when
        moving each appointment in the way to a workplace free for it as things stand is
        enough: the slot grid asks this of every candidate and needs no moves."""
        return self._fit.fits(start, blocked_until, workplace_id)

    def moves_for(
        self, start: datetime, blocked_until: datetime, workplace_id: int
    ) -> dict[int, int] | None:
        """None when no assignment fits the new appointment on `workplace_id`; else the moves
        it takes (appointment id -> new workplace id; empty when nothing has to move)."""
        return self._fit.moves_for(start, blocked_until, workplace_id)


def fit_new(
    jobs: Sequence[Job], start: datetime, blocked_until: datetime, workplace_id: int
) -> dict[int, int] | None:
    """Place a new job on `workplace_id` for [start, blocked_until) among `jobs`: None when no
    assignment exists, else the appointments (int keys) that must move (id -> workplace)."""
    # Only jobs that can reach the new one's interval, directly or through a chain of
    # overlaps, matter; the rest keep their workplace.
    related = _overlap_component(jobs, start, blocked_until)
    found = _assign_related(related, start, blocked_until, workplace_id)
    return None if found is None else _moves(related, found)


def _moves(related: Sequence[Job], found: dict[Hashable, int]) -> dict[int, int]:
    """The appointments (int keys) among `related` that `found` moves: id -> workplace."""
    return {k: w for k, w in moved(related, found).items() if isinstance(k, int)}


def _assign_related(
    related: Sequence[Job],
    start: datetime,
    blocked_until: datetime,
    workplace_id: int,
    tried: Sequence[list[int]] | None = None,
) -> dict[Hashable, int] | None:
    """The search once the jobs connected to the new one are known: a workplace for every
    job of `related` and for the new one (key `NEW`), or None when there is no assignment.
    `tried`, when given: `related` are in search order, and these are their
    `_tried_order`s."""
    for job in related:
        # A job held to the new one's workplace and overlapping it: nothing can move.
        if job.allowed == {workplace_id} and job.start < blocked_until and start < job.end:
            return None
    new = Job(NEW, start, blocked_until, frozenset({workplace_id}))
    if tried is None:
        search = _Search([*related, new])
    else:
        at = bisect_left(related, _search_key(new), key=_search_key)
        search = _Search(
            [*related[:at], new, *related[at:]], [*tried[:at], [workplace_id], *tried[at:]]
        )
    # Room at each start during the new job's time, before trying them all.
    if search.impossible or not search.room_at_starts((start, blocked_until)):
        return None
    return search.run()


def reach(
    spans: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> tuple[datetime, datetime]:
    """The stretch of time that [start, end) reaches through a chain of overlapping `spans`
    (each [start, end), in any order): the union of it and every span linked to it, which is
    one interval. A job outside it cannot overlap any job linked to [start, end), so it keeps
    its workplace whatever a new job there does (`_overlap_component`)."""
    # In start order, a span starting before the run so far ends belongs to that run (it
    # overlaps the span that reaches furthest); runs are unions of linked spans.
    run_lo, run_hi, found, first = start, end, False, True
    for s, e, new in sorted([*((s, e, False) for s, e in spans), (start, end, True)]):
        if first or not s < run_hi:  # a new run begins
            if found:
                break  # the run holding [start, end) is over
            run_lo, run_hi, first = s, e, False
        else:
            run_hi = max(run_hi, e)
        found = found or new
    return run_lo, run_hi


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


def _has_matching(options: Sequence[Sequence[int]]) -> bool:
    """Whether each of `options` (one list of workplaces per job) can have a workplace of its
    own (augmenting paths; a handful of jobs and workplaces)."""
    holder: dict[int, int] = {}  # workplace -> the job using it

    def place(n: int, seen: set[int]) -> bool:
        for w in options[n]:
            if w in seen:
                continue
            seen.add(w)
            if w not in holder or place(holder[w], seen):
                holder[w] = n
                return True
        return False

    return all(place(n, set()) for n in range(len(options)))


def _narrowed(
    starts: Sequence[int], ends: Sequence[int], tried: Sequence[list[int]]
) -> list[list[int]] | None:
    """`tried` (each job's workplaces, in the order it tries them) without the workplaces no
    assignment can give a job: a job with one workplace left holds it for its whole interval,
    so no job overlapping it may use it, which may leave another job one workplace in turn.
    None when a job is left none: there is no assignment. Jobs are given by their `starts`
    and `ends` (same units); only workplaces that cannot appear in any assignment are taken
    away, so a search finds the same first assignment, without the dead ends they lead to
    (a job that must give up the new job's workplace used to find out only when the new job
    came to be placed, after every placement of the jobs in between)."""
    out = [list(ws) for ws in tried]
    pending = [n for n, ws in enumerate(out) if len(ws) == 1]
    done: set[int] = set()
    while pending:
        n = pending.pop()
        if n in done:
            continue
        done.add(n)
        if not out[n]:
            return None
        w, start, end = out[n][0], starts[n], ends[n]
        for m, ws in enumerate(out):
            if m != n and w in ws and starts[m] < end and start < ends[m]:
                ws.remove(w)
                if len(ws) <= 1:
                    pending.append(m)
    if any(not ws for ws in out):
        return None
    return out


def _overlap_runs(
    items: Iterable[T], span: Callable[[T], tuple[datetime, datetime]]
) -> tuple[list[datetime], list[datetime], list[list[T]]]:
    """`items`, given in start order, grouped into maximal runs of overlapping intervals
    (`span(item)` is its [start, end)): each run's start, end and items, runs in order."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    runs: list[list[T]] = []
    for item in items:
        start, end = span(item)
        if runs and start < ends[-1]:
            runs[-1].append(item)
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
            runs.append([item])
    return starts, ends, runs


class _Clusters:
    """Jobs grouped into maximal runs of overlapping intervals (start order): the jobs
    connected to a new interval are those of the runs it meets (`_overlap_component`)."""

    def __init__(
        self,
        starts: list[datetime],
        ends: list[datetime],
        runs: list[list[Job]],
        tried: list[list[list[int]]],
    ) -> None:
        self._starts = starts
        self._ends = ends
        self._runs = runs  # each in search order (`_search_key`), and so is their sequence
        self._tried = tried  # the runs' jobs' `_tried_order`s
        self._checked: list[bool | None] = [None] * len(runs)  # `_valid`, once known
        self._all = [job for run in runs for job in run]  # every job, in search order
        # Per workplace, the jobs held to it (only that one allowed), in start order.
        self._held: dict[int, list[Job]] = {}
        for job in self._all:
            if len(job.allowed) == 1:
                self._held.setdefault(next(iter(job.allowed)), []).append(job)
        # The assignments a question starts from: the current one (made at the first
        # question) and those a search found (`learn`), each with the runs it covers.
        self._current: _Standing | None = None
        self._known: list[tuple[int, int, _Standing]] = []

    @classmethod
    def of(cls, jobs: Sequence[Job]) -> _Clusters | None:
        """None when a job has no length (it meets no run the way a longer one would)."""
        if any(not j.start < j.end for j in jobs):
            return None
        starts, ends, runs = _overlap_runs(
            sorted(jobs, key=_search_key), lambda job: (job.start, job.end)
        )
        return cls(starts, ends, runs, [[_tried_order(job) for job in run] for run in runs])

    def _span(self, start: datetime, end: datetime) -> tuple[int, int]:
        """The runs meeting [start, end) (a non-empty interval): `runs[first:last]`. Runs are
        disjoint and ordered, so those are consecutive."""
        return bisect_right(self._ends, start), bisect_left(self._starts, end)

    def meeting(self, start: datetime, end: datetime) -> tuple[list[Job], list[list[int]]]:
        """The jobs of every run that meets [start, end) (a non-empty interval), in search
        order, and their `_tried_order`s."""
        first, last = self._span(start, end)
        jobs = [job for run in self._runs[first:last] for job in run]
        return jobs, [t for run in self._tried[first:last] for t in run]

    def learn(self, start: datetime, end: datetime, assignment: Mapping[Hashable, int]) -> None:
        """Keep `assignment`, which the search found for a new job over [start, end) (a
        workplace for every job of the runs meeting it, and for the new one under `NEW`): a
        way those runs can stand besides the current one, which later questions start from
        (`simple_fit`). The newest `_KNOWN` are kept."""
        first, last = self._span(start, end)
        where = [assignment.get(job.key, job.current) for job in self._all]
        self._known.insert(0, (first, last, _Standing(self._all, where)))
        del self._known[_KNOWN:]

    def simple_fit(self, start: datetime, end: datetime, workplace_id: int) -> bool | None:
        """A new job on `workplace_id` for [start, end) (non-empty): False when a job held to
        that workplace is in the way; True when, from the jobs' current workplaces or from an
        assignment a search found for an earlier question (`learn`), moving each job in the
        way to a workplace free for it, or moving that workplace's jobs in turn to one free
        for them, gives an assignment; None when only the search can tell.

        A day checked start by start asks about neighbouring times: the moves that made room
        at one often leave room at the next, which is then found without a search."""
        for job in self._held.get(workplace_id, ()):
            if job.start < end and start < job.end:
                return False
        first, last = self._span(start, end)
        if all(self._valid(k) for k in range(first, last)):
            if self._current is None:
                self._current = _Standing(self._all, [job.current for job in self._all])
            if self._current.fits(start, end, workplace_id):
                return True
        for known_first, known_last, standing in self._known:
            if known_first >= last or known_last <= first:
                continue  # no run in common: as the current workplaces, tried above
            # The runs it does not cover stand as they are: they must be an assignment.
            covered = all(
                known_first <= k < known_last or self._valid(k) for k in range(first, last)
            )
            if covered and standing.fits(start, end, workplace_id):
                return True
        return None

    def _valid(self, k: int) -> bool:
        """Whether run `k` as things stand is an assignment: every job on an allowed workplace
        and no two overlapping on one."""
        if self._checked[k] is None:
            last: dict[int, datetime] = {}
            ok = True
            for job in self._runs[k]:  # in start order
                w = job.current
                if w is None or w not in job.allowed or last.get(w, job.start) > job.start:
                    ok = False
                    break
                last[w] = max(last.get(w, job.end), job.end)
            self._checked[k] = ok
        return bool(self._checked[k])


class _Standing:
    """One way a day's jobs stand: `where[n]` is the workplace of `jobs[n]` (None: none),
    kept as `on`, each workplace's jobs (indices, in the jobs' order). Questions are asked of
    the runs where it is an assignment (each job on an allowed workplace, none overlapping
    on one)."""

    __slots__ = ("jobs", "on")

    def __init__(self, jobs: Sequence[Job], where: Sequence[int | None]) -> None:
        self.jobs = jobs
        self.on: dict[int, list[int]] = {}
        for n, w in enumerate(where):
            if w is not None:
                self.on.setdefault(w, []).append(n)

    def fits(self, start: datetime, end: datetime, workplace_id: int) -> bool:
        """Whether a new job fits on `workplace_id` for [start, end) when each job in its
        way moves to a workplace free for it, or to one whose jobs in the way all move
        somewhere free in turn (nothing else is tried). Jobs held to `workplace_id` in the
        way were ruled out by the caller. Looks only at the workplaces involved: the jobs
        on each are indexed (`on`), and the moves kept apart (`moved`)."""
        jobs, on = self.jobs, self.on
        moved: dict[int, int | None] = {}  # job -> its workplace now (None: off its own)

        def blocking(w: int, job_start: datetime, job_end: datetime, skip: int) -> list[int]:
            """The jobs on `w` (as moved so far) overlapping [job_start, job_end), besides
            `skip`."""
            found = [
                m
                for m in on.get(w, ())
                if m != skip
                and m not in moved
                and jobs[m].start < job_end
                and job_start < jobs[m].end
            ]
            found += [
                m
                for m, v in moved.items()
                if v == w and m != skip and jobs[m].start < job_end and job_start < jobs[m].end
            ]
            return found

        for n in blocking(workplace_id, start, end, -1):
            job = jobs[n]
            moved[n] = None  # off the new job's workplace whatever happens
            options = sorted(w for w in job.allowed if w != workplace_id)
            spot = next((w for w in options if not blocking(w, job.start, job.end, n)), None)
            if spot is not None:
                moved[n] = spot
                continue
            # One step further: a workplace whose jobs in the way all move somewhere free.
            for w in options:
                moves: dict[int, int] = {}
                for m in blocking(w, job.start, job.end, n):
                    other = jobs[m]
                    for v in sorted(other.allowed):
                        if v in (w, workplace_id) or v in moves.values():
                            continue
                        if not blocking(v, other.start, other.end, m):
                            moves[m] = v
                            break
                    else:
                        break
                else:
                    moved.update(moves)
                    moved[n] = w
                    break
            if moved[n] is None:
                return False
        # The jobs stood as an assignment where the question looks: only a job put on a
        # workplace (a moved one, or the new one) can now overlap another there.
        for gained in {workplace_id, *moved.values()}:
            if gained is None:
                continue
            staying = [jobs[m] for m in on.get(gained, ()) if m not in moved]
            arrived = [(jobs[m].start, jobs[m].end) for m, v in moved.items() if v == gained]
            if gained == workplace_id:
                arrived.append((start, end))
            for a_start, a_end in arrived:
                if any(j.start < a_end and a_start < j.end for j in staying):
                    return False
            if any(b[0] < a[1] for a, b in pairwise(sorted(arrived))):
                return False
        return True
