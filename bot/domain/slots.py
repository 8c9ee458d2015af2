"""The slot engine (docs/rules.md#availability): which start times are bookable, for whom, and why
not.

Pure: the catalog, calendar, occupancy and clock are passed in. One evaluation serves the day
grid, the calendar, the authoritative per-start check (`DayPlan.evaluate`) and `explain`, so
the offered slots and the booking check cannot drift apart.

A check is split in two layers so that a cache can hold the first:
- base: working hours, the slot grid, appointments (specialist, workplace, capacity);
- overlay: other clients' holds, the client's own appointments, minimum notice and horizon.
A start is bookable exactly when it passes both (capacity counts appointments and holds in the
overlay, so the base check is implied by it).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from bot.domain.assignment import HeldPlace, Job, ReachFit, Rearrangement, spent_holds
from bot.domain.catalog import BusyAppointment, Calendar, ServiceCatalog
from bot.domain.horizon import last_bookable_date
from bot.domain.intervals import Interval, any_overlap, peak_overlap
from bot.domain.pricing import resolve_terms
from bot.domain.schedule import specialist_hours
from bot.domain.types import HeldInterval
from bot.domain.tz import boundary_instant, day_bounds, local_date, start_instant, wall


@dataclass(frozen=True, slots=True)
class SlotCandidate:
    """One (specialist, workplace) pair free for exactly `start`."""

    specialist_id: int
    workplace_id: int
    start: datetime  # aware (UTC)
    end: datetime  # start + duration
    blocked_until: datetime  # end + break
    price: Decimal  # before the client's discount
    duration_min: int
    break_min: int
    # Other appointments to move first (appointment id, new workplace id): the workplace is
    # free only after re-assigning them (`bot.domain.assignment`). Empty on the display path.
    moves: tuple[tuple[int, int], ...] = ()
    # Every workplace this specialist could serve the start on (the pinned one only, when the
    # schedule pins one): what a hold of this candidate reserves one of. Empty: `workplace_id`.
    workplace_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class SlotOffer:
    """A start time shown to the client: the lowest price among the specialists offering it."""

    start: datetime
    price: Decimal
    specialist_ids: tuple[int, ...]


class Reason(StrEnum):
    """Why a start is (not) bookable."""

    OK = "ok"
    BUSY = "busy"
    CLOSED = "closed"
    NOTICE = "notice"
    HORIZON = "horizon"
    NO_WORKPLACE = "no_workplace"
    CAPACITY = "capacity"


# Refusals that mean "not a bookable time at all", as opposed to "taken" (offer alternatives).
NOT_BOOKABLE = frozenset({Reason.CLOSED, Reason.NOTICE, Reason.HORIZON})


class _Stage(IntEnum):
    """How far a (specialist, workplace) pair got through the checks; across pairs the furthest
    one explains a refusal best ("the specialist is busy" beats "closed" for the others)."""

    CLOSED = 1
    SPECIALIST_BUSY = 2
    NO_WORKPLACE = 3
    CAPACITY = 4
    CLIENT_BUSY = 5
    OK = 6


_STAGE_REASON = {
    _Stage.CLOSED: Reason.CLOSED,
    _Stage.SPECIALIST_BUSY: Reason.BUSY,
    _Stage.NO_WORKPLACE: Reason.NO_WORKPLACE,
    _Stage.CAPACITY: Reason.CAPACITY,
    _Stage.CLIENT_BUSY: Reason.BUSY,
    _Stage.OK: Reason.OK,
}


@dataclass(frozen=True, slots=True)
class SlotRules:
    """SLOT_STEP_MIN, MIN_NOTICE_MIN, BOOKING_HORIZON_DAYS."""

    step_min: int = 15
    min_notice_min: int = 60
    horizon_days: int = 30


@dataclass(frozen=True, slots=True)
class Pair:
    """A (specialist, workplace) option on a date with its resolved terms."""

    specialist_id: int
    workplace_id: int
    duration_min: int
    break_min: int
    price: Decimal
    run: timedelta  # duration
    block: timedelta  # duration + break
    options: frozenset[int] = frozenset()  # every workplace the specialist may use that date


@dataclass(frozen=True, slots=True)
class Piece:
    """A working interval of one specialist: wall-clock bounds and the instants they mean."""

    wall_start: datetime
    wall_end: datetime
    start: datetime
    end: datetime


@dataclass
class Obstacles:
    """Busy intervals that rule starts out. Built from appointments (base layer), from holds
    and the client's appointments (overlay), or from everything (authoritative check).

    The workplace and hold intervals must not change once a candidate was checked: the
    workplace search over them is set up at the first check and its answers are kept.
    """

    location_id: int
    capacity: int | None
    specialist: dict[int, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    workplace: dict[int, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    in_progress: list[Interval] = field(default_factory=list)
    client: list[Interval] = field(default_factory=list)
    # Other clients' holds at the location: each needs one workplace among its own allowed
    # ones, so a hold blocks a workplace only when no assignment leaves room for it.
    held: list[HeldPlace] = field(default_factory=list)
    # When set, a busy workplace is not the end: the day's movable appointments may make room
    # (and the held ones move with them).
    rearrange: Rearrangement | None = None

    @classmethod
    def build(
        cls,
        *,
        location_id: int,
        capacity: int | None,
        appointments: Iterable[BusyAppointment] = (),
        holds: Iterable[HeldInterval] = (),
        client_id: int | None = None,
        exclude_appointment_id: int | None = None,
        in_progress: Iterable[Interval] = (),
        rearrange: Rearrangement | None = None,
    ) -> Obstacles:
        """Holds of `client_id` are not obstacles to that client; their own appointments are
        (one client, one place at a time). A hold booked already (`spent_holds`: one of
        `appointments` carries its id) is that appointment, not a second obstacle.
        `exclude_appointment_id` is ignored entirely (the appointment being rescheduled)."""
        obs = cls(location_id=location_id, capacity=capacity or None, rearrange=rearrange)
        obs.in_progress.extend(in_progress)
        appointments = list(appointments)
        spent = spent_holds(a.booking_key for a in appointments)
        for appt in appointments:
            if appt.appointment_id == exclude_appointment_id:
                continue
            obs.specialist[appt.specialist_id].append((appt.start, appt.blocked_until))
            obs.workplace[appt.workplace_id].append((appt.start, appt.blocked_until))
            if appt.location_id == location_id:
                obs.in_progress.append((appt.start, appt.end))
            if client_id is not None and appt.client_id == client_id:
                obs.client.append((appt.start, appt.end))
        for hold in holds:
            if (client_id is not None and hold.client_id == client_id) or hold.hold_id in spent:
                continue
            # A specialist's hold at another location blocks them here too.
            obs.specialist[hold.specialist_id].append((hold.start, hold.blocked_until))
            if hold.location_id == location_id:
                obs.held.append(held_place(hold))
                obs.in_progress.append((hold.start, hold.end))
        return obs

    @property
    def clear(self) -> bool:
        """True when no candidate can meet any of these obstacles (`stage` is OK for every
        one): only the time rules (notice, horizon) can rule a start out."""
        return not (
            self.held
            or self.client
            or self.rearrange is not None
            or (self.capacity and self.in_progress)
            or any(self.specialist.values())
            or any(self.workplace.values())
        )

    def stage(self, cand: SlotCandidate) -> _Stage:
        if any_overlap(self.specialist.get(cand.specialist_id, ()), cand.start, cand.blocked_until):
            return _Stage.SPECIALIST_BUSY
        if not self._workplace_fits(cand):
            return _Stage.NO_WORKPLACE
        if self.capacity and peak_overlap(self.in_progress, cand.start, cand.end) >= self.capacity:
            return _Stage.CAPACITY
        if any_overlap(self.client, cand.start, cand.end):
            return _Stage.CLIENT_BUSY
        return _Stage.OK

    def _workplace_fits(self, cand: SlotCandidate) -> bool:
        """`moves_for(cand) is not None`, without working out the moves when it can."""
        start, end = cand.start, cand.blocked_until
        busy = any_overlap(self.workplace.get(cand.workplace_id, ()), start, end)
        if not busy and not any(h.start < end and h.blocked_until > start for h in self.held):
            return True
        if self.rearrange is not None:
            return self.rearrange.fits(start, end, cand.workplace_id)
        # Appointments stay where they are: only the holds may move.
        return not busy and self._hold_fit.fits(start, end, cand.workplace_id)

    def moves_for(self, cand: SlotCandidate) -> dict[int, int] | None:
        """The re-assignment that frees the candidate's workplace ({} when it is free and no
        hold needs it), or None when there is none. Without `rearrange`, appointments stay
        where they are and only holds move."""
        busy = any_overlap(
            self.workplace.get(cand.workplace_id, ()), cand.start, cand.blocked_until
        )
        held = [
            h for h in self.held if h.start < cand.blocked_until and h.blocked_until > cand.start
        ]
        if not busy and not held:
            return {}
        if self.rearrange is not None:
            return self.rearrange.moves_for(cand.start, cand.blocked_until, cand.workplace_id)
        if busy:
            return None
        # Only holds move here, and moves name appointments: an assignment that fits moves
        # none, so the yes/no (with its shortcut past the search) is the whole answer.
        fits = self._hold_fit.fits(cand.start, cand.blocked_until, cand.workplace_id)
        return {} if fits else None

    @cached_property
    def _hold_fit(self) -> ReachFit:
        """Without `rearrange`: the search for a new job among the appointments (each fixed to
        its workplace) and the other clients' holds (each on one of its allowed workplaces),
        made at the first candidate a hold is in the way of; a job is made only for those a
        question reaches."""
        fixed = [
            (w, n, s, e) for w, spans in self.workplace.items() for n, (s, e) in enumerate(spans)
        ]
        held = self.held

        def job(i: int) -> Job:
            if i < len(fixed):
                w, n, s, e = fixed[i]
                return Job(("appointment", w, n), s, e, frozenset({w}), w)
            h = held[i - len(fixed)]
            return Job(("hold", i - len(fixed)), h.start, h.blocked_until, h.allowed, h.current)

        spans = [(s, e) for _, _, s, e in fixed] + [(h.start, h.blocked_until) for h in held]
        return ReachFit(spans, job)


def held_place(hold: HeldInterval) -> HeldPlace:
    """A hold as the workplace re-assignment sees it."""
    return HeldPlace(hold.allowed, hold.workplace_id, hold.start, hold.blocked_until, hold.hold_id)


def location_load(
    appointments: Iterable[BusyAppointment], location_id: int, window: Interval
) -> tuple[Interval, ...]:
    """The location's appointments in progress within `window` (what capacity counts)."""
    lo, hi = window
    return tuple(
        (a.start, a.end)
        for a in appointments
        if a.location_id == location_id and a.start < hi and a.end > lo
    )


def overlay_obstacles(
    *,
    location_id: int,
    capacity: int | None,
    holds: Iterable[HeldInterval],
    client_id: int | None,
    client_busy: Iterable[Interval],
    in_progress: Iterable[Interval],
) -> Obstacles:
    """The obstacles applied on top of cached base candidates: other clients' holds, the
    client's own appointments, and the location's load (capacity counts appointments and holds
    together, so the load the base layer saw must be added back)."""
    obs = Obstacles.build(
        location_id=location_id,
        capacity=capacity,
        holds=holds,
        client_id=client_id,
        in_progress=in_progress,
    )
    obs.client.extend(client_busy)
    return obs


def time_reason(start: datetime, *, now: datetime, rules: SlotRules, tz: ZoneInfo) -> Reason:
    """Minimum notice and booking horizon. The horizon is counted in location-local dates:
    today through today + `horizon_days` inclusive are bookable (`bot.domain.horizon`)."""
    if local_date(start, tz) > last_bookable_date(local_date(now, tz), rules.horizon_days):
        return Reason.HORIZON
    if start < now + timedelta(minutes=rules.min_notice_min):
        return Reason.NOTICE
    return Reason.OK


class DayPlan:
    """Who works when on one location-local date for one service, with the slot grid.

    Built once per (catalog, calendar, date, specialist filter); cheap when nobody works.
    """

    def __init__(
        self,
        catalog: ServiceCatalog,
        calendar: Calendar,
        day: date,
        *,
        specialist_id: int | None = None,
        step_min: int = 15,
    ) -> None:
        self.catalog = catalog
        self.calendar = calendar  # what it was made from (a confirm compares its own rows)
        self.day = day
        self.tz = ZoneInfo(catalog.timezone)
        self.step = timedelta(minutes=step_min)
        self.window = day_bounds(day, self.tz)
        # Most dates have no DST change: then wall clock -> instant is one subtraction. (Equal
        # offsets at both ends of a date mean no change in between; no zone changes twice a day.)
        first = self.window[0].astimezone(self.tz).utcoffset()
        last = (self.window[1] - timedelta(microseconds=1)).astimezone(self.tz).utcoffset()
        self._fixed_offset = first if first == last else None
        self.pieces: dict[int, list[Piece]] = {}
        self.pairs: dict[int, list[Pair]] = {}
        links = {w.workplace_id: w for w in catalog.workplaces}
        for spec in catalog.specialists:
            if specialist_id is not None and spec.specialist_id != specialist_id:
                continue
            pieces = [
                Piece(a, b, self._boundary(a), self._boundary(b))
                for a, b in specialist_hours(catalog, calendar, spec.specialist_id, day)
            ]
            pieces = [p for p in pieces if p.start < p.end]
            if not pieces:
                continue
            shift = catalog.shifts[(spec.specialist_id, day.isoweekday())]
            if shift.workplace_id is not None:
                pinned = links.get(shift.workplace_id)
                options = [pinned] if pinned is not None else []
            else:
                options = sorted(catalog.workplaces, key=lambda w: w.workplace_id)
            self.pieces[spec.specialist_id] = pieces
            self.pairs[spec.specialist_id] = [
                Pair(
                    spec.specialist_id,
                    w.workplace_id,
                    t.duration_min,
                    t.break_min,
                    t.price,
                    timedelta(minutes=t.duration_min),
                    timedelta(minutes=t.duration_min + t.break_min),
                    frozenset(o.workplace_id for o in options),
                )
                for w in options
                for t in (resolve_terms(catalog.service, w, spec),)
            ]

    def _boundary(self, local: datetime) -> datetime:
        if self._fixed_offset is not None:
            return (local - self._fixed_offset).replace(tzinfo=UTC)
        return boundary_instant(local, self.tz)

    def reach(self, start: datetime, holds: Iterable[HeldInterval]) -> Interval:
        """The part of the date that a check of `start` for one (specialist, workplace) pair,
        with no appointment moved, depends on: [start, start + the plan's longest block),
        widened by every hold overlapping it, then by every hold overlapping that, and so
        on, within the date's bounds.

        Such a check looks at the pair's specialist, workplace, client and the location's
        capacity over the candidate's own interval, and at the holds that may have to move
        to other workplaces for it (`Obstacles._workplace_fits`): those are chained to the
        candidate through overlapping holds, and what they may move onto overlaps them. An
        appointment outside the reach is fixed (nothing is re-assigned) and meets neither
        the candidate nor a hold it chains to, so it cannot change the answer; reading only
        the reach spares a confirm the rest of the day's appointments. Only the holds meeting
        the reach take part in such a check: one beyond it may have been booked by an
        appointment beyond it, which is not read. (One difference from a whole-date check,
        by design: holds beyond the reach that could no longer all be placed anyway, chained
        to the candidate only through fixed appointments, do not refuse it.)"""
        longest = max(
            (pair.block for pairs in self.pairs.values() for pair in pairs),
            default=timedelta(0),
        )
        lo, hi = start, start + longest
        spans = sorted((h.start, h.blocked_until) for h in holds)
        grown = True
        while grown:
            grown = False
            for s, e in spans:
                if s < hi and lo < e and (s < lo or e > hi):
                    lo, hi, grown = min(lo, s), max(hi, e), True
        day_start, day_end = self.window
        return max(lo, day_start), min(hi, day_end)

    @property
    def is_empty(self) -> bool:
        """Nobody qualified works that date (closed, holiday, days off, breaks)."""
        return not self.pieces

    @property
    def specialist_ids(self) -> list[int]:
        return sorted(self.pieces)

    def grid(self) -> Iterator[tuple[datetime, int, Piece]]:
        """Every (start, specialist, piece) in start order: starts every step from the start of
        each working piece in wall-clock time; nonexistent local times are skipped. Lazy, so
        a calendar that stops at a date's first free time does not build the rest."""
        return heapq.merge(
            *(
                self._piece_starts(spec_id, piece)
                for spec_id, pieces in self.pieces.items()
                for piece in pieces
            ),
            key=lambda item: (item[0], item[1]),
        )

    def _piece_starts(self, spec_id: int, piece: Piece) -> Iterator[tuple[datetime, int, Piece]]:
        if self._fixed_offset is not None:
            # No DST change that date: wall-clock steps are real-time steps.
            instant = piece.start
            while instant < piece.end:
                yield instant, spec_id, piece
                instant += self.step
            return
        local = piece.wall_start
        while local < piece.wall_end:
            found = start_instant(local, self.tz)
            if found is not None and found < piece.end:
                yield found, spec_id, piece
            local += self.step

    def last_start(self) -> datetime | None:
        """The latest grid start at which some qualified specialist's service (with its break)
        still fits inside their working piece, or None when none does (nobody works, or every
        piece is shorter than the service). Occupancy is not considered."""
        latest: datetime | None = None
        for spec_id, pieces in self.pieces.items():
            pairs = self.pairs.get(spec_id)
            if not pairs:
                continue
            block = min(p.block for p in pairs)
            for piece in pieces:
                for start, _spec, _piece in self._piece_starts(spec_id, piece):
                    if start + block > piece.end:
                        break
                    if latest is None or start > latest:
                        latest = start
        return latest

    def piece_at(self, specialist_id: int, start: datetime) -> Piece | None:
        """The piece whose grid contains `start` exactly, or None (off-grid, not working, or
        the second occurrence of an ambiguous wall-clock time)."""
        local = wall(start, self.tz)
        if start_instant(local, self.tz) != start:
            return None
        for piece in self.pieces.get(specialist_id, ()):
            if (
                piece.wall_start <= local < piece.wall_end
                and piece.start <= start < piece.end
                and (local - piece.wall_start) % self.step == timedelta(0)
            ):
                return piece
        return None

    @staticmethod
    def candidate(pair: Pair, start: datetime, piece: Piece) -> SlotCandidate | None:
        """The pair's slot at `start`, or None when [start, end + break) leaves the piece."""
        blocked = start + pair.block
        if blocked > piece.end:
            return None
        end = start + pair.run
        return SlotCandidate(
            specialist_id=pair.specialist_id,
            workplace_id=pair.workplace_id,
            start=start,
            end=end,
            blocked_until=blocked,
            price=pair.price,
            duration_min=pair.duration_min,
            break_min=pair.break_min,
            workplace_ids=pair.options,
        )

    def base_candidates(self, obstacles: Obstacles) -> Iterator[SlotCandidate]:
        """Candidates passing the base layer, in start order (lazy: a calendar stops early)."""
        shortest = {
            spec_id: min(p.block for p in pairs) for spec_id, pairs in self.pairs.items() if pairs
        }
        for start, spec_id, piece in self.grid():
            if spec_id not in shortest:
                continue
            # Busy for the shortest pair means busy for all of them: skip the workplaces.
            busy = obstacles.specialist.get(spec_id)
            if busy and any_overlap(busy, start, start + shortest[spec_id]):
                continue
            for pair in self.pairs[spec_id]:
                cand = self.candidate(pair, start, piece)
                if cand is not None and obstacles.stage(cand) is _Stage.OK:
                    yield cand

    def evaluate(
        self,
        start: datetime,
        obstacles: Obstacles,
        *,
        now: datetime,
        rules: SlotRules,
        workplace_id: int | None = None,
    ) -> tuple[Reason, list[SlotCandidate]]:
        """The authoritative check of one start: every free pair, or the reason there is none.
        With `workplace_id`, only the pairs on that workplace are checked."""
        reason = time_reason(start, now=now, rules=rules, tz=self.tz)
        if reason is not Reason.OK:
            return reason, []
        best = _Stage.CLOSED
        found: list[SlotCandidate] = []
        for spec_id in self.specialist_ids:
            piece = self.piece_at(spec_id, start)
            if piece is None:
                continue
            if not self.pairs[spec_id]:
                best = max(best, _Stage.NO_WORKPLACE)
            for pair in self.pairs[spec_id]:
                if workplace_id is not None and pair.workplace_id != workplace_id:
                    continue
                cand = self.candidate(pair, start, piece)
                if cand is None:
                    continue
                stage = obstacles.stage(cand)
                best = max(best, stage)
                if stage is _Stage.OK:
                    moves = obstacles.moves_for(cand)
                    if moves:
                        cand = replace(cand, moves=tuple(sorted(moves.items())))
                    found.append(cand)
        if found:
            return Reason.OK, found
        return _STAGE_REASON[best], []

    def ranked(
        self,
        start: datetime,
        obstacles: Obstacles,
        *,
        now: datetime,
        rules: SlotRules,
        load: Mapping[int, int],
    ) -> RankedCheck:
        """`evaluate(start, ...)` then `rank_candidates`, one pair at a time (`RankedCheck`).
        `load`: `specialist_load` of the date's appointments."""
        return RankedCheck(self, start, obstacles, now=now, rules=rules, load=load)


class RankedCheck:
    """The free pairs of one start in rank order, each checked only when the previous one has
    been taken: iterating yields exactly `rank_candidates(evaluate(start, ...)[1], ...)`, one
    by one (the rank of a pair depends on its specialist and workplace only, never on the
    check). A hold tries the pairs in this order and nearly always keeps the first, so the
    pairs after it are mostly never checked.

    `reason` is `evaluate`'s reason: OK once a pair was yielded, otherwise known only when
    the iteration has run out (raises `RuntimeError` before then). `obstacles` must not change
    while the check is iterated.
    """

    def __init__(
        self,
        plan: DayPlan,
        start: datetime,
        obstacles: Obstacles,
        *,
        now: datetime,
        rules: SlotRules,
        load: Mapping[int, int],
    ) -> None:
        self._obstacles = obstacles
        self._best = _Stage.CLOSED
        self._found = False
        self._done = False
        self._time = time_reason(start, now=now, rules=rules, tz=plan.tz)
        todo: list[tuple[Pair, Piece]] = []
        if self._time is Reason.OK:
            for spec_id in plan.specialist_ids:
                piece = plan.piece_at(spec_id, start)
                if piece is None:
                    continue
                if not plan.pairs[spec_id]:
                    self._best = max(self._best, _Stage.NO_WORKPLACE)
                todo.extend((pair, piece) for pair in plan.pairs[spec_id])
        todo.sort(key=lambda item: rank_key(load, item[0].specialist_id, item[0].workplace_id))
        self._start = start
        self._todo = iter(todo)

    def __iter__(self) -> RankedCheck:
        return self

    def __next__(self) -> SlotCandidate:
        obstacles = self._obstacles
        for pair, piece in self._todo:
            cand = DayPlan.candidate(pair, self._start, piece)
            if cand is None:
                continue
            stage = obstacles.stage(cand)
            self._best = max(self._best, stage)
            if stage is _Stage.OK:
                moves = obstacles.moves_for(cand)
                if moves:
                    cand = replace(cand, moves=tuple(sorted(moves.items())))
                self._found = True
                return cand
        self._done = True
        raise StopIteration

    @property
    def reason(self) -> Reason:
        if self._time is not Reason.OK:
            return self._time
        if self._found:
            return Reason.OK
        if not self._done:
            raise RuntimeError("the reason is known once a pair was found or none is left")
        return _STAGE_REASON[self._best]


def overlay(
    candidates: Iterable[SlotCandidate],
    obstacles: Obstacles,
    *,
    now: datetime,
    rules: SlotRules,
    tz: ZoneInfo,
) -> Iterator[SlotCandidate]:
    """Apply the overlay layer (holds, client, notice, horizon) to base candidates."""
    is_timely = _timely(now=now, rules=rules, tz=tz)
    timely: dict[datetime, bool] = {}  # once per start
    check = not obstacles.clear  # else only time can rule a start out
    for cand in candidates:
        ok = timely.get(cand.start)
        if ok is None:
            ok = timely[cand.start] = is_timely(cand.start)
        if ok and (not check or obstacles.stage(cand) is _Stage.OK):
            yield cand


def _timely(*, now: datetime, rules: SlotRules, tz: ZoneInfo) -> Callable[[datetime], bool]:
    """Whether `time_reason` is OK for a start: on or before the last bookable date, and past
    the minimum notice. A start is on or before that date exactly when it comes before the
    first instant of the next one (`day_bounds`), so no start is converted to local time."""
    earliest, after_last = _time_bounds(now, rules.min_notice_min, rules.horizon_days, tz)

    def is_timely(start: datetime) -> bool:
        return earliest <= start < after_last

    return is_timely


@lru_cache(maxsize=256)
def _time_bounds(
    now: datetime, min_notice_min: int, horizon_days: int, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """[the earliest start the minimum notice allows, the first instant after the last
    bookable date): the same for every date a read overlays, so worked out once per read."""
    last = last_bookable_date(local_date(now, tz), horizon_days)
    return now + timedelta(minutes=min_notice_min), day_bounds(last, tz)[1]


def timely_offers(
    offers: Iterable[SlotOffer], *, now: datetime, rules: SlotRules, tz: ZoneInfo
) -> list[SlotOffer]:
    """The offers whose start passes the time rules (notice, horizon). For the `to_offers` of
    candidates and obstacles that are `clear`, the same as `to_offers(overlay(...))`: every
    candidate of an offer shares its start, and nothing but time rules one out."""
    is_timely = _timely(now=now, rules=rules, tz=tz)
    return [offer for offer in offers if is_timely(offer.start)]


def to_offers(candidates: Iterable[SlotCandidate]) -> list[SlotOffer]:
    """Group candidates by start: the lowest price and every specialist offering that time."""
    prices: dict[datetime, Decimal] = {}
    specialists: dict[datetime, set[int]] = {}
    for cand in candidates:
        start, price = cand.start, cand.price
        known = prices.get(start)
        if known is None:
            prices[start] = price
            specialists[start] = {cand.specialist_id}
            continue
        if price < known:  # the first of equal prices stays
            prices[start] = price
        specialists[start].add(cand.specialist_id)
    return [
        SlotOffer(
            start=start, price=prices[start], specialist_ids=tuple(sorted(specialists[start]))
        )
        for start in sorted(prices)
    ]


def day_slots(
    plan: DayPlan,
    obstacles: Obstacles,
    *,
    now: datetime,
    rules: SlotRules,
) -> list[SlotOffer]:
    """Every bookable start of the plan's date (obstacles = appointments + holds + client)."""
    return to_offers(
        overlay(plan.base_candidates(obstacles), obstacles, now=now, rules=rules, tz=plan.tz)
    )


def explain(
    plan: DayPlan,
    start: datetime,
    obstacles: Obstacles,
    *,
    now: datetime,
    rules: SlotRules,
) -> Reason:
    """Why `start` is not offered (or OK). Used by tests and by services to word a refusal."""
    return plan.evaluate(start, obstacles, now=now, rules=rules)[0]


def rank_candidates(
    candidates: Sequence[SlotCandidate],
    appointments: Iterable[BusyAppointment],
    *,
    day: date,
    tz: ZoneInfo,
    exclude_appointment_id: int | None = None,
) -> list[SlotCandidate]:
    """Order of preference for "any specialist" (docs/rules.md#any-specialist): the specialist with
    the fewest appointments that day, then the lowest specialist id; within a specialist the lowest
    workplace id (a pinned workplace is the only option anyway)."""
    load = specialist_load(
        appointments, day=day, tz=tz, exclude_appointment_id=exclude_appointment_id
    )
    return sorted(candidates, key=lambda c: rank_key(load, c.specialist_id, c.workplace_id))


def specialist_load(
    appointments: Iterable[BusyAppointment],
    *,
    day: date,
    tz: ZoneInfo,
    exclude_appointment_id: int | None = None,
) -> dict[int, int]:
    """Specialist id -> their appointments starting on the location-local `day` (absent: none),
    leaving out `exclude_appointment_id`: what `rank_candidates` ranks by first."""
    load: dict[int, int] = defaultdict(int)
    for appt in appointments:
        if appt.appointment_id != exclude_appointment_id and local_date(appt.start, tz) == day:
            load[appt.specialist_id] += 1
    return dict(load)


def rank_key(
    load: Mapping[int, int], specialist_id: int, workplace_id: int
) -> tuple[int, int, int]:
    """A pair's place in `rank_candidates`' order (lower first; distinct for distinct pairs)."""
    return load.get(specialist_id, 0), specialist_id, workplace_id
