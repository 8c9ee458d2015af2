"""Availability: free slots for the booking conversation, and the authoritative per-start check
used by the booking service (docs/rules.md#availability, docs/rules.md#redis).

Two paths, on purpose:
- `day_slots` / `available_dates` are for showing choices. They may use the Redis cache.
- `candidates` is for booking. It reads PostgreSQL in the caller's transaction and never the
  cache, so a stale cache can at worst show a time that booking then refuses, never the reverse.

Cache design. An entry per (location, service, specialist-or-any, date) holds the *base* layer:
candidates that fit working hours and are free of appointments (specialist, workplace,
capacity). What depends on the asker or changes fast is applied on every read: other clients'
holds (from the hold source), the client's own appointments, minimum notice and the horizon.
Keys embed three version counters: the catalog's (global), the location's, and the location's
for that date. `invalidate` bumps one with INCR, so every instance sees a change at once: a
booking or a cancel bumps its date's (and the next date's, which a block past midnight may
reach), so the location's other dates stay cached; a change without a date bumps the
location's. A short TTL is only a safety net.
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property, partial
from itertools import chain
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.assignment import DayJobs, Job, Rearrangement, WorkplaceDay
from bot.domain.catalog import BusyAppointment, Calendar, ServiceCatalog
from bot.domain.horizon import bookable_dates
from bot.domain.intervals import Interval
from bot.domain.slots import (
    DayPlan,
    Obstacles,
    Reason,
    SlotCandidate,
    SlotOffer,
    SlotRules,
    held_place,
    location_load,
    overlay,
    overlay_obstacles,
    rank_candidates,
    specialist_load,
    time_reason,
    timely_offers,
    to_offers,
)
from bot.domain.types import HeldInterval, SlotQuery
from bot.domain.tz import day_bounds, local_date
from bot.ops import metrics
from bot.services.catalog_cache import CatalogCache, CatalogSnapshot
from bot.services.events import CATALOG_CHANGED, SLOTS_INVALIDATED, Event, EventBus, event_message
from bot.services.holds import LIVE_LUA, RELEASE_LUA, HoldStore, held_between, hold_scope
from bot.services.transaction import read_session
from db.repositories import catalog as repo
from db.repositories.workplace_day import (
    load_busy_and_workplace_day,
    load_workplace_day,
    load_workplace_hosts,
)

__all__ = ["AvailabilityService", "HoldSource", "Reason", "SlotCandidate", "SlotOffer"]

log = logging.getLogger(__name__)

_CACHE_ERRORS = (RedisError, OSError)
# How long a cached slot list may live: the safety net behind the version counters.
SLOT_CACHE_TTL_SECONDS = 120
# Slot-cache writes in flight at most, per service (`_write_later`): past it a built entry is
# served and not cached (counted in `bot_slot_cache_writes_skipped_total`), so a slow Redis
# cannot pile up tasks, entries in memory or Redis connections (each write holds one).
WRITES_IN_FLIGHT = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The cached calendar starts this long before today (UTC): local dates lag behind by a day at most.
CALENDAR_PAST = timedelta(days=2)
# How far from another client's hold a date's candidates may meet it: a candidate blocks less
# than `LONGEST_BLOCK` and a location-local date lasts at most 25 hours.
_NEAR_HOLDS = repo.LONGEST_BLOCK + timedelta(days=2)
# Where a transaction's session keeps the catalog snapshot it uses (see `_snapshot_in`).
_SESSION_SNAPSHOT = "availability.catalog_snapshot"


class HoldSource(Protocol):
    """Live holds meeting [start, end): the location's, and other locations' too (a specialist
    held elsewhere is busy here; only the location's own holds count for its capacity)."""

    async def holds_between(
        self, location_id: int, start: datetime, end: datetime
    ) -> Sequence[HeldInterval]: ...


@dataclass(frozen=True)
class DateChoices:
    """The date picker's dates (location-local, ascending): `free` have a bookable start,
    `full` are working dates with none left (offered for the waitlist); `firsts` holds the
    earliest bookable start of each free date, in the order of `free` (the nearest times)."""

    free: list[date]
    full: list[date]
    firsts: list[datetime] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Check:
    """What the check of one start read (`AvailabilityService._prepare`)."""

    snapshot: CatalogSnapshot
    location_id: int
    client_id: int
    exclude: int | None  # the appointment being rescheduled, treated as gone
    plan: DayPlan
    obstacles: Obstacles
    appointments: list[BusyAppointment]
    holds: Sequence[HeldInterval]
    workplace_day: WorkplaceDay | None


@dataclass(frozen=True)
class _DayEntry:
    """The cached base layer of one date. `timezone` None: nothing bookable (inactive or missing
    location/service). `complete` False: only a prefix (in start order) of the day's base
    candidates, enough for the calendar to know the date has a free time. An entry built here
    (not parsed from the cache) also carries its candidates' `workplace_ids`, which its text
    leaves out; the display path does not read them."""

    timezone: str | None
    capacity: int | None
    window: Interval
    complete: bool
    candidates: tuple[SlotCandidate, ...]
    in_progress: tuple[Interval, ...]  # the location's appointments, for the capacity check
    # The latest start any qualified specialist's service fits before their work ends that
    # date (None: nobody can start anything that date).
    last_start: datetime | None = None

    @cached_property
    def specialist_ids(self) -> frozenset[int]:
        """The specialists of the candidates, worked out once (`_HoldScope.covers`)."""
        return frozenset(c.specialist_id for c in self.candidates)

    @cached_property
    def offers(self) -> list[SlotOffer]:
        """`to_offers` of all the candidates, worked out once: an entry is immutable and
        shared by every reader of its text (`_parsed_entry`). Callers must not modify it."""
        return to_offers(self.candidates)

    def dumps(self) -> bytes:
        """The entry as the slot cache keeps it (compact JSON, UTF-8)."""
        return orjson.dumps(
            {
                "tz": self.timezone,
                "cap": self.capacity,
                "w": [_us(self.window[0]), _us(self.window[1])],
                "done": self.complete,
                "c": [
                    [
                        _us(c.start),
                        c.duration_min,
                        c.break_min,
                        c.specialist_id,
                        c.workplace_id,
                        str(c.price),
                    ]
                    for c in self.candidates
                ],
                "l": [[_us(s), _us(e)] for s, e in self.in_progress],
                "ls": None if self.last_start is None else _us(self.last_start),
            }
        )

    @classmethod
    def loads(cls, raw: bytes | str) -> _DayEntry:
        data = orjson.loads(raw)
        cands = []
        # Candidates share starts, lengths and prices: each is converted once.
        starts: dict[int, datetime] = {}
        spans: dict[int, timedelta] = {}
        prices: dict[str, Decimal] = {}
        for start_us, dur, brk, spec, wp, price in data["c"]:
            start = starts.get(start_us)
            if start is None:
                start = starts[start_us] = _from_us(start_us)
            run = spans.get(dur)
            if run is None:
                run = spans[dur] = timedelta(minutes=dur)
            rest = spans.get(brk)
            if rest is None:
                rest = spans[brk] = timedelta(minutes=brk)
            amount = prices.get(price)
            if amount is None:
                amount = prices[price] = Decimal(price)
            end = start + run
            cands.append(SlotCandidate(spec, wp, start, end, end + rest, amount, dur, brk))
        return cls(
            timezone=data["tz"],
            capacity=data["cap"],
            window=(_from_us(data["w"][0]), _from_us(data["w"][1])),
            complete=bool(data["done"]),
            candidates=tuple(cands),
            in_progress=tuple((_from_us(s), _from_us(e)) for s, e in data["l"]),
            last_start=None if data.get("ls") is None else _from_us(data["ls"]),
        )


# Entries parsed lately, by their cached text: an entry is immutable, so the same text read
# again (every reader of a date until its next change) is not parsed again. Bounded by the
# texts' total length: a parsed entry takes about five times its text, so about 12 MB at most.
# The date picker alone reads a month of dates per (location, service, specialist): a bound of
# a few hundred entries was used up by a handful of pickers, and nearly every read parsed.
_PARSED: OrderedDict[bytes | str, _DayEntry] = OrderedDict()
_PARSED_BYTES = 2 * 1024 * 1024
_parsed_bytes = 0


def _parsed_entry(raw: bytes | str) -> _DayEntry:
    """`_DayEntry.loads(raw)`, from `_PARSED` when the same text was parsed lately."""
    entry = _PARSED.get(raw)
    if entry is None:
        entry = _DayEntry.loads(raw)
        _remember_entry(raw, entry)
    else:
        _PARSED.move_to_end(raw)
    return entry


def forget_parsed() -> None:
    """Drop every entry parsed lately (`_PARSED`): the next read parses its text again, as a
    process that did not build or read it would (benchmarks, tests)."""
    global _parsed_bytes
    _PARSED.clear()
    _parsed_bytes = 0


def _remember_entry(raw: bytes | str, entry: _DayEntry) -> None:
    """Keep `entry` in `_PARSED` as the parse of `raw`. A date built here is written as text
    and read back by the next reader: kept under the bytes Redis answers with, that read
    parses nothing (`_write_entries`). A built entry equals its parse but for its candidates'
    `workplace_ids`, which the text leaves out and the display path does not read."""
    global _parsed_bytes
    if raw in _PARSED:
        _PARSED.move_to_end(raw)
        return
    _PARSED[raw] = entry
    _parsed_bytes += len(raw)
    while _parsed_bytes > _PARSED_BYTES and len(_PARSED) > 1:
        oldest, _ = _PARSED.popitem(last=False)
        _parsed_bytes -= len(oldest)


# Where the cache versions go in an entry's key, filled in by `_READ_LUA`.
_TAG = "{v}"

# KEYS: 1 the catalog's version, 2 the location's. ARGV: 1-2 `live_members`' (the holds'
# prefix and clock), 3 read the cache ('1'/'0'), 4 the holds' scope (`hold_scope`; '' = every
# live hold), then per date its version's key and its entry's key with `_TAG` where the
# versions go. Returns {live holds} or {live holds, the location's tag "catalog.location", the
# entries (nil: missing), each date's tag "catalog.location.date"}.
_READ_LUA = (
    LIVE_LUA
    + """
local live = live_in(ARGV[1], ARGV[2], ARGV[4])
if ARGV[3] ~= '1' then return {live} end
local v = redis.call('MGET', KEYS[1], KEYS[2])
local tag = (v[1] or '0') .. '.' .. (v[2] or '0')
local day_keys, templates = {}, {}
for i = 5, #ARGV, 2 do
  day_keys[#day_keys + 1] = ARGV[i]
  templates[#templates + 1] = ARGV[i + 1]
end
local keys, tags, values = {}, {}, {}
if #day_keys > 0 then
  local days = redis.call('MGET', unpack(day_keys))
  for i = 1, #templates do
    tags[i] = tag .. '.' .. (days[i] or '0')
    keys[i] = (string.gsub(templates[i], '{v}', tags[i]))
  end
  values = redis.call('MGET', unpack(keys))
end
return {live, tag, values, tags}
"""
)

# ARGV: 1 TTL (seconds), then key, value pairs: set them all, each expiring after the TTL.
_WRITE_LUA = """
for i = 2, #ARGV, 2 do
  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[1])
end
return (#ARGV - 1) / 2
"""


# After a commit, in one call: KEYS: 1 the version to bump (alone), or the date versions'
# counter (one for all locations), then the dates' versions to set to its next value.
# ARGV: 1 the events' channel, 2 how long a date's version lives (ms), 3-5 `release_hold`'s
# (prefix, client, hold id; no client: nothing to release), 6... the messages. The bump comes
# first, then the events, then the hold is given back (until the bump, the hold keeps its
# time from being offered by a cached day that predates the commit). A date's version
# expires; the counter never does, so a version is never used twice, and an expired one reads
# '0', which only entries written while it was missing use (gone by then: the version
# outlives its entries).
_INVALIDATE_LUA = (
    RELEASE_LUA
    + """
local n = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], n, 'PX', ARGV[2]) end
for i = 6, #ARGV do redis.call('PUBLISH', ARGV[1], ARGV[i]) end
if ARGV[4] ~= '' then return release_hold(ARGV[3], ARGV[4], ARGV[5]) end
return 0
"""
)

# How long a date's version outlives its last bump, past its entries' TTL: longer than any
# entry written under the version before it (by a read that began before the bump) lives.
_DAY_VERSION_EXTRA_SECONDS = 24 * 3600


def _us(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def catalog_version_key(redis_prefix: str) -> str:
    """The Redis counter every slot-cache key embeds; bumping it drops the whole cache."""
    return f"{redis_prefix}:slots:ver:catalog"


async def invalidate_catalog(redis: Redis, redis_prefix: str) -> None:
    """Drop every cached slot on every instance after a catalog change made outside a running
    bot (the catalog import). Raises `RedisError`/`OSError` if Redis could not be told: running
    bots then show cached slots until their TTL (`SLOT_CACHE_TTL_SECONDS`) runs out."""
    await redis.incr(catalog_version_key(redis_prefix))
    await EventBus(redis, redis_prefix).publish(CATALOG_CHANGED)


class AvailabilityService:
    """Free slots and the authoritative slot check (see the module docstring)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        redis: Redis,
        settings: Settings,
        holds: HoldSource,
        *,
        events: EventBus | None = None,
        cache_ttl_seconds: int = SLOT_CACHE_TTL_SECONDS,
        catalog: CatalogCache | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.catalog = catalog or CatalogCache(session_factory, redis, settings.redis_prefix)
        self._redis = redis
        self._holds = holds
        self.rules = SlotRules(
            step_min=settings.slot_step_min,
            min_notice_min=settings.min_notice_min,
            horizon_days=settings.booking_horizon_days,
        )
        self._redis_prefix = settings.redis_prefix
        self._prefix = f"{settings.redis_prefix}:slots"
        self._events = events or EventBus(redis, settings.redis_prefix)
        self._ttl = cache_ttl_seconds
        self._read_script = redis.register_script(_READ_LUA)
        self._write_script = redis.register_script(_WRITE_LUA)
        self._invalidate_script = redis.register_script(_INVALIDATE_LUA)
        # The slot-cache writes in flight (`_write_later`), by the (query, date) they write.
        self._writing: dict[tuple[SlotQuery, date], set[asyncio.Task[None]]] = {}
        self._in_flight = 0

    # --- the authoritative path (booking) ---------------------------------------------------

    async def candidates(
        self,
        session: AsyncSession,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        start: datetime,
        now: datetime,
        client_id: int,
        exclude_appointment_id: int | None = None,
    ) -> list[SlotCandidate]:
        """Every (specialist, workplace) pair free for exactly `start` (an aware instant), best
        first (docs/rules.md#any-specialist); empty means not bookable. Reads the database in
        the caller's session, never the cache. Rules: docs/rules.md#availability."""
        _, found = await self.evaluate(
            session,
            location_id=location_id,
            service_id=service_id,
            specialist_id=specialist_id,
            start=start,
            now=now,
            client_id=client_id,
            exclude_appointment_id=exclude_appointment_id,
        )
        return found

    async def hold_candidates(
        self,
        session: AsyncSession,
        *,
        query: SlotQuery,
        start: datetime,
        now: datetime,
        client_id: int,
    ) -> tuple[Iterator[SlotCandidate], list[HeldInterval], Sequence[Job]]:
        """`candidates` for a hold, as an iterator in the same order that checks each pair
        only when the previous one is refused (the first is checked before this returns, so
        an empty iterator means no pair is free); with the other clients' live holds at the
        location that the check read before the database (a hold's script counts those
        booked since: `HoldStore.acquire`'s `seen`), and the location's appointments on the
        location-local date of `start` as workplace jobs (`bot.domain.assignment.DayJobs`:
        `placed_jobs`, each made when asked for, with the workplaces it may still move to),
        read in the same query as the check's, for the hold to be checked against atomically
        in Redis (docs/rules.md#holds)."""
        found, holds, day = await self._check_lazily(
            session, query, start=start, now=now, client_id=client_id
        )
        seen = [h for h in holds if h.location_id == query.location_id]
        placed: Sequence[Job] = [] if day is None else DayJobs(day, now=now)
        return found, [h for h in seen if h.client_id != client_id], placed

    async def evaluate(
        self,
        session: AsyncSession,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        start: datetime,
        now: datetime,
        client_id: int,
        exclude_appointment_id: int | None = None,
        fresh_calendar: bool = False,
        only_workplace: int | None = None,
        check_workplace: int | None = None,
    ) -> tuple[Reason, list[SlotCandidate]]:
        """Like `candidates`, plus why there are none: BUSY, NO_WORKPLACE and CAPACITY mean
        "taken" (offer alternatives); CLOSED, NOTICE and HORIZON mean "not a bookable time".
        `fresh_calendar`: the date's holidays and breaks are read in `session` rather than
        from the catalog in memory (the booking's re-check under its locks, which a catalog
        change also takes). With `only_workplace`, only candidates on that workplace count
        (re-assigning the day's movable appointments when it is busy). With
        `check_workplace`, only the candidates on that workplace are checked at all (a quick
        look at one held pair): what they are is what a full look finds for them, but an
        empty answer and its reason say nothing about the other workplaces, and no
        re-assignment is tried."""
        query = SlotQuery(location_id, service_id, specialist_id)
        return await self._evaluate(
            session,
            query,
            start=start,
            now=now,
            client_id=client_id,
            exclude=exclude_appointment_id,
            fresh_calendar=fresh_calendar,
            only_workplace=only_workplace,
            check_workplace=check_workplace,
        )

    async def _evaluate(
        self,
        session: AsyncSession,
        query: SlotQuery,
        *,
        start: datetime,
        now: datetime,
        client_id: int,
        exclude: int | None = None,
        fresh_calendar: bool = False,
        only_workplace: int | None = None,
        check_workplace: int | None = None,
    ) -> tuple[Reason, list[SlotCandidate]]:
        """`evaluate` (`exclude`: its `exclude_appointment_id`)."""
        check = await self._prepare(
            session,
            query,
            start=start,
            now=now,
            client_id=client_id,
            exclude=exclude,
            fresh_calendar=fresh_calendar,
            # One pair, nothing re-assigned, nothing to rank: the appointments of the part of
            # the day the answer depends on are enough (`DayPlan.reach`).
            reach_only=check_workplace is not None and query.specialist_id is not None,
        )
        if isinstance(check, Reason):
            return check, []
        plan, obstacles = check.plan, check.obstacles
        reason, found = _on(
            only_workplace,
            *plan.evaluate(
                start, obstacles, now=now, rules=self.rules, workplace_id=check_workplace
            ),
        )
        if not found and reason is Reason.NO_WORKPLACE and check_workplace is None:
            # Every workplace is taken as things stand: could moving appointments make room?
            # Asked only now, so the usual check costs no extra query.
            obstacles.rearrange = await self._rearrangement(session, check, now=now)
            reason, found = _on(
                only_workplace, *plan.evaluate(start, obstacles, now=now, rules=self.rules)
            )
        ranked = rank_candidates(
            found,
            check.appointments,
            day=plan.day,
            tz=plan.tz,
            exclude_appointment_id=check.exclude,
        )
        return reason, ranked

    async def _check_lazily(
        self,
        session: AsyncSession,
        query: SlotQuery,
        *,
        start: datetime,
        now: datetime,
        client_id: int,
    ) -> tuple[Iterator[SlotCandidate], Sequence[HeldInterval], WorkplaceDay | None]:
        """What `_evaluate` finds for `start`, in the same order, but as an iterator that
        checks each pair only when asked for the next one (`RankedCheck`); the first is
        checked here, so an empty iterator means none is free. With the live holds read and
        the location's workplace day over the local date of `start`, read in the same query
        as the appointments (None when it read none)."""
        check = await self._prepare(
            session,
            query,
            start=start,
            now=now,
            client_id=client_id,
            with_day=True,
            # One specialist: the pairs rank by workplace alone, each is a check of one pair,
            # and a re-assignment uses the workplace day, read whole.
            reach_only=query.specialist_id is not None,
        )
        if isinstance(check, Reason):
            return iter(()), (), None
        plan, obstacles = check.plan, check.obstacles
        load = specialist_load(check.appointments, day=plan.day, tz=plan.tz)
        ranked = plan.ranked(start, obstacles, now=now, rules=self.rules, load=load)
        first = next(ranked, None)
        if first is None and ranked.reason is Reason.NO_WORKPLACE:
            # As `_evaluate`: re-assignment is tried only when no pair is free as things stand
            # (every pair of the first look was checked to know that).
            obstacles.rearrange = await self._rearrangement(session, check, now=now)
            ranked = plan.ranked(start, obstacles, now=now, rules=self.rules, load=load)
            first = next(ranked, None)
        if first is None:
            return iter(()), check.holds, check.workplace_day
        return chain((first,), ranked), check.holds, check.workplace_day

    async def _prepare(
        self,
        session: AsyncSession,
        query: SlotQuery,
        *,
        start: datetime,
        now: datetime,
        client_id: int,
        exclude: int | None = None,
        fresh_calendar: bool = False,
        with_day: bool = False,
        reach_only: bool = False,
    ) -> _Check | Reason:
        """Everything the check of `start` reads (catalog, calendar, live holds, then the
        appointments), or the reason it is not a bookable time before any of it matters
        (CLOSED, NOTICE, HORIZON). `with_day`: also the location's workplace day over the
        local date of `start`, read in the same query as the appointments. `reach_only`:
        the appointments of `DayPlan.reach` only, not of the whole date (for checks of one
        pair at a time, ranked by workplace alone: one specialist; the workplace day is
        still the whole date's)."""
        location_id, service_id = query.location_id, query.service_id
        specialist_id, exclude_appointment_id = query.specialist_id, exclude
        if start.tzinfo is None or now.tzinfo is None:
            raise ValueError("start and now must be timezone-aware instants")
        snapshot = await self._snapshot_in(session)
        catalog = await _service_catalog(snapshot, location_id, service_id, session)
        if catalog is None:
            return Reason.CLOSED
        tz = ZoneInfo(catalog.timezone)
        too_soon_or_late = time_reason(start, now=now, rules=self.rules, tz=tz)
        if too_soon_or_late is not Reason.OK:
            return too_soon_or_late
        day = local_date(start, tz)
        spec_ids = [
            s.specialist_id
            for s in catalog.specialists
            if specialist_id is None or s.specialist_id == specialist_id
        ]
        if fresh_calendar:
            calendar = await repo.load_calendar(session, location_id, spec_ids, day, day)
            # The plan the display path keeps for the date serves when it was made from this
            # catalog and from a calendar that says of the date what its rows say now (nothing
            # is read or planned for this: a snapshot without it plans anew).
            kept: DayPlan | None = snapshot.memoized(_plan_key(query, self.rules.step_min, day))
            if (
                kept is not None
                and kept.catalog is catalog
                and _same_date(calendar, kept.calendar, day, spec_ids)
            ):
                plan = kept
            else:
                plan = self._new_plan(catalog, calendar, query, day)
        else:
            # On the calendar in memory, the plan the display path keeps serves.
            plan = (await self._plans(snapshot, session, catalog, query, spec_ids, [day]))[day]
        if plan.is_empty:
            return Reason.CLOSED
        window_start, window_end = plan.window
        # The live holds first, the appointments after: a confirm gives its hold back only
        # after its commit, so a booking is seen as its hold, its appointment or both (counted
        # once: `spent_holds`), never as neither.
        holds = await self._holds.holds_between(location_id, window_start, window_end)
        near: Sequence[HeldInterval] = holds
        if reach_only:
            window_start, window_end = plan.reach(start, holds)
            # Only the holds meeting the reach take part: one beyond it may have been booked
            # by an appointment beyond it too, which is not read (`spent_holds` could not
            # tell), and it cannot change the answer (`DayPlan.reach`).
            near = [h for h in holds if h.start < window_end and window_start < h.blocked_until]
        condition = repo.busy_condition(
            start=window_start,
            end=window_end,
            location_id=location_id,
            workplace_ids=_relevant_workplaces(catalog),
            specialist_ids=plan.specialist_ids,
            client_id=client_id,
        )
        workplace_day: WorkplaceDay | None = None
        appointments: list[BusyAppointment] = []
        if condition is not None and with_day:
            appointments, workplace_day = await load_busy_and_workplace_day(
                session,
                condition,
                location_id,
                day_bounds(day, tz),
                await _workplace_hosts(snapshot, session, location_id),
            )
        elif condition is not None:
            appointments = await repo.load_busy_where(session, condition)
        obstacles = Obstacles.build(
            location_id=location_id,
            capacity=catalog.capacity,
            appointments=appointments,
            holds=near,
            client_id=client_id,
            exclude_appointment_id=exclude_appointment_id,
        )
        return _Check(
            snapshot,
            location_id,
            client_id,
            exclude,
            plan,
            obstacles,
            appointments,
            holds,
            workplace_day,
        )

    async def _rearrangement(
        self, session: AsyncSession, check: _Check, *, now: datetime
    ) -> Rearrangement:
        """The day's movable appointments for `check`, with the other clients' holds at the
        location moving with them (read now unless the check read the workplace day)."""
        plan = check.plan
        return Rearrangement(
            (
                check.workplace_day.within(plan.window)
                if check.workplace_day is not None
                else await _workplace_day(check.snapshot, session, check.location_id, plan.window)
            ),
            now=now,
            holds=[
                held_place(h)
                for h in check.holds
                if h.location_id == check.location_id and h.client_id != check.client_id
            ],
            exclude_appointment_id=check.exclude,
        )

    async def capacity(
        self, session: AsyncSession, *, location_id: int, service_id: int
    ) -> int | None:
        """The location's cap on appointments in progress at once (None: no cap), from the
        catalog snapshot this transaction already uses."""
        snapshot = await self._snapshot_in(session)
        catalog = await _service_catalog(snapshot, location_id, service_id, session)
        if catalog is not None:
            return catalog.capacity or None
        meta = await _location_meta(snapshot, location_id, session)
        return (meta.capacity or None) if meta is not None else None

    async def _snapshot_in(self, session: AsyncSession) -> CatalogSnapshot:
        """The catalog snapshot of this transaction, taken at its first use: a confirm asks
        the engine again under its locks, and the locks guard appointments, not the catalog
        (which comes from memory, `CatalogCache`, read once per catalog version)."""
        snapshot = session.info.get(_SESSION_SNAPSHOT)
        if snapshot is None:
            snapshot = session.info[_SESSION_SNAPSHOT] = await self.catalog.snapshot()
        assert isinstance(snapshot, CatalogSnapshot)
        return snapshot

    # --- the display path (may use the cache) -----------------------------------------------

    async def day_slots(
        self,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        day: date,
        now: datetime,
        client_id: int | None = None,
        exclude_appointment_id: int | None = None,
    ) -> list[SlotOffer]:
        """Bookable starts on a location-local date, sorted, each with the lowest price among
        the specialists offering it (docs/rules.md#slot-grid). Holds of other clients, the
        client's own appointments, notice and horizon are applied on every call, cached or not.

        `exclude_appointment_id` (the appointment being rescheduled) is treated as gone, so
        times overlapping its current slot are offered; such a read bypasses the cache."""
        query = SlotQuery(location_id, service_id, specialist_id)
        versions = self._versions(exclude_appointment_id)
        cached, live, scope = await self._read_entries(versions, query, [day])
        entry = cached.get(day)
        # A date built here reads the client's own appointments in the same query.
        client_busy: list[BusyAppointment] | None = None
        async with _OnDemand(self._session_factory) as sessions:
            if entry is None or not entry.complete:
                client_rows = None
                if client_id is not None:
                    client_busy = []
                    client_rows = (client_id, client_busy)
                built = await self._build_entries(
                    await sessions(),
                    query,
                    [day],
                    now=now,
                    exclude_appointment_id=exclude_appointment_id,
                    client_rows=client_rows,
                    snapshot=self._catalog_seen(versions, location_id),
                )
                entry = built[day]
                self._write_later(versions, query, built)
            if entry.timezone is None or not entry.candidates:
                return []
            obstacles = await self._overlay_obstacles(
                location_id,
                entry.capacity,
                entry.window,
                client_id,
                now,
                exclude_appointment_id,
                sessions=sessions,
                live=live if scope is None or scope.covers([entry]) else None,
                client_busy=client_busy,
            )
        tz = ZoneInfo(entry.timezone)
        obs = obstacles(entry)
        if obs.clear:
            # Nothing but time rules a start out: the date's offers, grouped once per entry.
            return timely_offers(entry.offers, now=now, rules=self.rules, tz=tz)
        return to_offers(overlay(entry.candidates, obs, now=now, rules=self.rules, tz=tz))

    async def available_dates(
        self,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        now: datetime,
        client_id: int | None = None,
        exclude_appointment_id: int | None = None,
    ) -> list[date]:
        """Location-local dates with at least one bookable start, from today through
        today + BOOKING_HORIZON_DAYS inclusive (`date_choices(...).free`)."""
        choices = await self.date_choices(
            location_id=location_id,
            service_id=service_id,
            specialist_id=specialist_id,
            now=now,
            client_id=client_id,
            exclude_appointment_id=exclude_appointment_id,
        )
        return choices.free

    async def date_choices(
        self,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        now: datetime,
        client_id: int | None = None,
        exclude_appointment_id: int | None = None,
    ) -> DateChoices:
        """The date picker's dates, from today through today + BOOKING_HORIZON_DAYS inclusive
        (location-local): `free` dates have at least one bookable start; `full` dates are
        working dates (a qualified specialist works them, still beyond the minimum notice)
        with no free time left, the dates a client can join the waitlist for.

        Cached dates are checked from their entries; the rest are computed from data loaded
        for the whole horizon at once, stopping at each date's first free time (which gives
        `firsts` too), all in one session at most.
        `exclude_appointment_id` as in `day_slots`."""
        query = SlotQuery(location_id, service_id, specialist_id)
        versions = self._versions(exclude_appointment_id)
        meta = await _location_meta(await self.catalog.snapshot(), location_id)
        if meta is None or not meta.is_active:
            return DateChoices([], [])
        tz = ZoneInfo(meta.timezone)
        today = local_date(now, tz)
        days = bookable_dates(today, self.rules.horizon_days)
        entries, live, scope = await self._read_entries(versions, query, days)
        # Dates built below use the catalog the read saw: the scope's own, or no scope.
        if scope is not None and not scope.covers(
            entries.values(), self._catalog_seen(versions, location_id)
        ):
            live = None
        range_window = (day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1])
        async with _OnDemand(self._session_factory) as sessions:
            return await self._date_choices(
                query,
                versions,
                days,
                entries,
                await self._overlay_obstacles(
                    location_id,
                    meta.capacity,
                    range_window,
                    client_id,
                    now,
                    exclude_appointment_id,
                    sessions=sessions,
                    live=live,
                ),
                sessions,
                tz=tz,
                now=now,
                exclude_appointment_id=exclude_appointment_id,
            )

    async def _date_choices(
        self,
        query: SlotQuery,
        versions: _Versions,
        days: list[date],
        entries: dict[date, _DayEntry],
        obstacles: Callable[[_DayEntry], Obstacles],
        sessions: _OnDemand,
        *,
        tz: ZoneInfo,
        now: datetime,
        exclude_appointment_id: int | None,
    ) -> DateChoices:
        """`date_choices` once the cached entries and the overlay are read: builds the
        missing dates (in `sessions`, the one the overlay may have opened)."""

        def first_free(
            entry: _DayEntry, extra: Iterable[SlotCandidate] = ()
        ) -> SlotCandidate | None:
            # The candidates are in start order: the first survivor is the date's first start.
            if entry.timezone is None:
                return None
            pool = chain(entry.candidates, extra)  # read only up to the first survivor
            return next(overlay(pool, obstacles(entry), now=now, rules=self.rules, tz=tz), None)

        firsts: dict[date, datetime] = {}
        missing: list[date] = []
        for day in days:
            entry = entries.get(day)
            if entry is not None and (cand := first_free(entry)) is not None:
                firsts[day] = cand.start
            elif entry is None or not entry.complete:
                missing.append(day)
        if missing:
            # Stop each date at its first candidate that survives the overlay.
            def found_free(entry: _DayEntry, cand: SlotCandidate) -> bool:
                return first_free(entry, (cand,)) is not None

            built = await self._build_entries(
                await sessions(),
                query,
                missing,
                now=now,
                until=found_free,
                exclude_appointment_id=exclude_appointment_id,
                snapshot=self._catalog_seen(versions, query.location_id),
            )
            self._write_later(versions, query, built)
            entries.update(built)
            for day, entry in built.items():
                if (cand := first_free(entry)) is not None:
                    firsts[day] = cand.start
        # A date is full only while a start is still possible on it: today stops being a
        # working date once its last possible start is inside the minimum notice
        # (docs/rules.md#waitlist).
        earliest_start = now + timedelta(minutes=self.rules.min_notice_min)
        free = sorted(firsts)
        full = [
            day
            for day in days
            if day not in firsts
            and (entry := entries.get(day)) is not None
            and entry.complete
            and entry.last_start is not None
            and entry.last_start >= earliest_start
        ]
        return DateChoices(free, full, [firsts[day] for day in free])

    async def elsewhere(
        self, specialist_id: int, location_id: int, starts: Sequence[datetime]
    ) -> list[tuple[int, date]]:
        """The (location, location-local date) of each of `starts` (UTC instants) at every
        location other than `location_id` where the specialist has a weekly schedule: an
        appointment of theirs makes them busy there too, so those dates' cached days change
        with it (pass them to `invalidate`). From the catalog in memory: one query per catalog
        version, for all specialists."""
        snapshot = await self.catalog.snapshot()

        async def load(session: AsyncSession) -> dict[int, list[tuple[int, str]]]:
            return await repo.specialist_locations(session)

        places = (await snapshot.get("specialist_locations", load)).get(specialist_id, [])
        return sorted(
            {
                (place, local_date(start, ZoneInfo(timezone)))
                for place, timezone in places
                if place != location_id
                for start in starts
            }
        )

    async def invalidate(
        self,
        *,
        location_id: int | None = None,
        day: date | None = None,
        events: Sequence[Event] = (),
        release: Sequence[str | int] = (),
        elsewhere: Sequence[tuple[int, date]] = (),
    ) -> None:
        """Make the next `day_slots`/`available_dates` see a committed change at once, on every
        instance: bumps the version of the location's `day` and of the next date (an
        appointment's block may reach past midnight), and likewise of each (location, date) in
        `elsewhere` (`elsewhere()`: the specialist's other locations); without a `day`, the
        location's version; without a location, the catalog's. Then publishes
        `slots.invalidated` and `events` (kind, data) in order, then gives back the hold
        `release` names (`HoldStore.release_args`), all in one script call. Call it after the
        commit only: a reader must never cache a day that predates the commit under the new
        version. Best effort: a Redis failure is logged (the short TTL and the authoritative
        `candidates` keep things correct; a hold not given back expires)."""
        if location_id is None:
            keys = [self._catalog_version_key]
        elif day is None:
            keys = [self._location_version_key(location_id)]
        else:
            keys = [self._date_counter_key]
            for place, date_there in sorted({(location_id, day), *elsewhere}):
                keys += [
                    self._day_version_key(place, date_there),
                    self._day_version_key(place, date_there + timedelta(days=1)),
                ]
        day_version_ms = (self._ttl + _DAY_VERSION_EXTRA_SECONDS) * 1000
        messages = [
            event_message(kind, **data)
            for kind, data in (
                (SLOTS_INVALIDATED, {"location_id": location_id, "day": day}),
                *events,
            )
        ]
        holder = list(release) if release else ["", "", ""]
        try:
            await self._invalidate_script(
                keys=keys, args=[self._events.channel, day_version_ms, *holder, *messages]
            )
        except _CACHE_ERRORS as exc:
            log.warning("slot cache not invalidated (%s): %s", keys[-1], exc)

    # --- internals --------------------------------------------------------------------------

    @property
    def _catalog_version_key(self) -> str:
        return catalog_version_key(self._redis_prefix)

    def _location_version_key(self, location_id: int) -> str:
        return f"{self._prefix}:ver:loc:{location_id}"

    @property
    def _date_counter_key(self) -> str:
        # Where every date version takes its values from (see _INVALIDATE_LUA).
        return f"{self._prefix}:ver:dates"

    def _day_version_key(self, location_id: int, day: date) -> str:
        return f"{self._prefix}:ver:loc:{location_id}:{day.isoformat()}"

    def _entry_key(self, versions: str, query: SlotQuery, day: date) -> str:
        who = "any" if query.specialist_id is None else str(query.specialist_id)
        where = f"{query.location_id}:{query.service_id}:{who}"
        return f"{self._prefix}:day:{versions}:{where}:{day.isoformat()}"

    async def _versions_of(
        self, location_id: int, days: Sequence[date]
    ) -> tuple[str, dict[date, str]] | None:
        """The location's tag ("catalog.location") and each of `days`' tag
        ("catalog.location.date") in one MGET; None when Redis does not answer."""
        try:
            raw = await self._redis.mget(
                [
                    self._catalog_version_key,
                    self._location_version_key(location_id),
                    *(self._day_version_key(location_id, d) for d in days),
                ]
            )
        except _CACHE_ERRORS as exc:
            log.warning("slot cache unavailable: %s", exc)
            return None
        tag = f"{_text(raw[0]) or '0'}.{_text(raw[1]) or '0'}"
        return tag, {d: f"{tag}.{_text(v) or '0'}" for d, v in zip(days, raw[2:], strict=True)}

    def _versions(self, exclude_appointment_id: int | None = None) -> _Versions:
        # Entries built without one appointment are not the shared view: no cache for them.
        return _Versions(self, cache=exclude_appointment_id is None)

    async def _read_entries(
        self,
        versions: _Versions,
        query: SlotQuery,
        days: Sequence[date],
    ) -> tuple[dict[date, _DayEntry], Sequence[Any] | None, _HoldScope | None]:
        """The cached entries of `days` ({} when the cache is off or unavailable), the live
        holds' members (`held_between`) and the scope they were read in (None: every live
        hold): with the Redis `HoldStore`, the cache versions, the entries and the holds in
        one script call (`_READ_LUA`); else the entries only, and None for the holds
        (`_overlay_obstacles` asks the hold source). A caller checks the scope against the
        entries it uses (`_HoldScope.covers`). Raises `RedisError` when the holds could not
        be read."""
        if self._writing and versions.enabled:
            await self._written(query, days)
        if not isinstance(self._holds, HoldStore):
            return await self._cached_entries(versions, query, days), None, None
        location_id = query.location_id
        keys: list[str] = []
        if versions.enabled:
            for d in days:
                keys += [self._day_version_key(location_id, d), self._entry_key(_TAG, query, d)]
        scope = self._hold_scope(query, cached=versions.enabled)
        reply = await self._read_script(
            keys=[self._catalog_version_key, self._location_version_key(location_id)],
            args=[
                *self._holds.live_args(),
                "1" if versions.enabled else "0",
                scope.text if scope is not None else "",
                *keys,
            ],
        )
        live = reply[0]
        if not versions.enabled:
            return {}, live, scope
        tag = _text(reply[1]) or "0.0"
        snapshot = scope.snapshot if scope is not None else None
        if snapshot is not None and tag.split(".", 1)[0] != snapshot.version:
            # The catalog changed since the specialists were picked: the holds are read again,
            # all of them, when the overlay needs them (`_overlay_obstacles`).
            live, scope = None, None
        day_tags = [_text(t) or "" for t in reply[3]]
        versions.known(location_id, tag, dict(zip(days, day_tags, strict=True)))
        return self._parse_entries(days, reply[2]), live, scope

    def _hold_scope(self, query: SlotQuery, *, cached: bool) -> _HoldScope | None:
        """Which live holds a read of `query` needs (docs/rules.md#holds): the location's, and
        its specialists' wherever they are; None: every live hold. A named specialist needs
        no catalog. "Any" takes the service's specialists from the catalog in memory when
        they are read already and the read checks the catalog's version (`cached`). A
        business-wide set of holds grows with every location; a question needs few."""
        location_id = query.location_id
        if query.specialist_id is not None:
            named = frozenset({query.specialist_id})
            return _HoldScope(hold_scope(location_id, named), named, None)
        snapshot = self.catalog.known()
        if not cached or snapshot is None or snapshot.version is None:
            return None
        found, catalog = snapshot.peek(("service_catalog", location_id, query.service_id))
        if not found:
            return None
        specialists = frozenset(
            () if catalog is None else (s.specialist_id for s in catalog.specialists)
        )
        return _HoldScope(hold_scope(location_id, specialists), specialists, snapshot)

    async def _cached_entries(
        self,
        versions: _Versions,
        query: SlotQuery,
        days: Sequence[date],
    ) -> dict[date, _DayEntry]:
        tags = await versions.of_days(query.location_id, days)
        if tags is None:
            return {}
        keys = [self._entry_key(tags[d], query, d) for d in days]
        try:
            raw = await self._redis.mget(keys)
        except _CACHE_ERRORS as exc:
            log.warning("slot cache unavailable: %s", exc)
            return {}
        return self._parse_entries(days, raw)

    @staticmethod
    def _parse_entries(days: Sequence[date], raw: Sequence[Any]) -> dict[date, _DayEntry]:
        out = {}
        for day, value in zip(days, raw, strict=True):
            if value is not None:
                try:
                    out[day] = _parsed_entry(value)
                except (ValueError, KeyError, TypeError):
                    log.warning("ignoring a malformed slot cache entry for %s", day)
        return out

    def _write_later(
        self,
        versions: _Versions,
        query: SlotQuery,
        entries: dict[date, _DayEntry],
    ) -> None:
        """Write `entries` to the slot cache in a task of its own (`_write_entries`): the
        read returns without waiting for the encoding and the round trip; the write runs at
        the event loop's next pause (often while the reply is sent). A later read of one of
        these (query, date)s through this service waits for the write first (`_written`), so
        it finds the entry as if the write had been awaited; other processes (and the
        worker's own service) never could count on it. Nothing is started when this read may
        not write (`_Versions.writable`), and nothing while `WRITES_IN_FLIGHT` writes are
        pending (the entries served, not cached, and counted). `settle` waits for them all."""
        if not entries or not versions.writable(query.location_id):
            return
        if self._in_flight >= WRITES_IN_FLIGHT:
            metrics.SLOT_CACHE_WRITES_SKIPPED.inc()
            return
        keys = [(query, day) for day in entries]
        task = asyncio.get_running_loop().create_task(
            self._write_entries(versions, query, entries), name="slot-cache-write"
        )
        self._in_flight += 1
        for key in keys:
            self._writing.setdefault(key, set()).add(task)
        task.add_done_callback(partial(self._write_done, keys))

    def _write_done(self, keys: list[tuple[SlotQuery, date]], task: asyncio.Task[None]) -> None:
        self._in_flight -= 1
        for key in keys:
            tasks = self._writing.get(key)
            if tasks is not None:
                tasks.discard(task)
                if not tasks:
                    del self._writing[key]
        # `_write_entries` logs the cache's own errors: anything else is a fault to show.
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("slot cache write failed", exc_info=error)

    async def _written(self, query: SlotQuery, days: Sequence[date]) -> None:
        """Wait for this service's writes in flight of `query` on any of `days`."""
        pending = {t for day in days for t in self._writing.get((query, day), ())}
        if pending:
            await asyncio.wait(pending)

    async def settle(self) -> None:
        """Wait for every slot-cache write in flight (`_write_later`): before the process
        closes its Redis client, and where a caller must see the cache written. Each write
        is one script call within the Redis deadline, and never raises."""
        while self._writing:
            await asyncio.wait({t for tasks in self._writing.values() for t in tasks})

    async def _write_entries(
        self,
        versions: _Versions,
        query: SlotQuery,
        entries: dict[date, _DayEntry],
    ) -> None:
        tags = await versions.of_days(query.location_id, list(entries)) if entries else None
        if tags is None:
            return
        args: list[str | bytes | int] = [self._ttl]
        written: list[tuple[bytes, _DayEntry]] = []
        for day, entry in entries.items():
            text = entry.dumps()
            args += [self._entry_key(tags[day], query, day), text]
            written.append((text, entry))
        try:
            await self._write_script(args=args)  # one command, however many dates
        except _CACHE_ERRORS as exc:
            log.warning("slot cache not written: %s", exc)
            return
        # Redis answers in bytes (no `decode_responses`): the next read of these texts finds
        # them parsed already.
        for text, entry in written:
            _remember_entry(text, entry)

    async def _build_entries(
        self,
        session: AsyncSession,
        query: SlotQuery,
        days: Sequence[date],
        *,
        now: datetime,
        until: Callable[[_DayEntry, SlotCandidate], bool] | None = None,
        exclude_appointment_id: int | None = None,
        client_rows: tuple[int, list[BusyAppointment]] | None = None,
        snapshot: CatalogSnapshot | None = None,
    ) -> dict[date, _DayEntry]:
        """Compute base entries for `days` from data loaded once for the whole range. With
        `until`, a date stops at the first candidate for which it returns True (a prefix).
        The appointment `exclude_appointment_id` is left out as if cancelled. `client_rows`
        (a client id, an empty list): the list gets that client's own appointments over the
        working dates' window, read in the same query (they are no part of the entries).
        `snapshot`: the catalog this read uses already (None: the current one)."""
        location_id, specialist_id = query.location_id, query.specialist_id
        if snapshot is None:
            snapshot = await self.catalog.snapshot()
        catalog = await _service_catalog(snapshot, location_id, query.service_id, session)
        if catalog is None:
            nothing = (_EPOCH, _EPOCH)
            return {d: _DayEntry(None, None, nothing, True, (), ()) for d in days}
        spec_ids = [
            s.specialist_id
            for s in catalog.specialists
            if specialist_id is None or s.specialist_id == specialist_id
        ]
        plans = await self._plans(snapshot, session, catalog, query, spec_ids, days)
        working = [p for p in plans.values() if not p.is_empty]
        appointments: list[BusyAppointment] = []
        places = None
        if working:
            workplace_ids = _relevant_workplaces(catalog)
            window = (min(p.window[0] for p in working), max(p.window[1] for p in working))
            condition = repo.busy_condition(
                start=window[0],
                end=window[1],
                location_id=location_id,
                workplace_ids=workplace_ids,
                specialist_ids=spec_ids,
                client_id=client_rows[0] if client_rows is not None else None,
            )
            assert condition is not None  # it names the location
            # The appointments and the location's workplace day in one query (which
            # workplaces host what is catalog data, read below only if needed).
            appointments, places = await load_busy_and_workplace_day(
                session, condition, location_id, window, {}
            )
            if client_rows is not None:
                client_id, mine = client_rows
                mine.extend(a for a in appointments if a.client_id == client_id)
                # Only what load_busy gives without the client makes the shared base layer.
                hosts = None if workplace_ids is None else set(workplace_ids)
                appointments = [
                    a
                    for a in appointments
                    if a.specialist_id in spec_ids
                    or (a.location_id == location_id and (hosts is None or a.workplace_id in hosts))
                ]
            appointments = [a for a in appointments if a.appointment_id != exclude_appointment_id]
        if not appointments:
            places = None  # nothing to re-assign
        elif places is not None:
            hosted = await _workplace_hosts(snapshot, session, location_id)
            places = WorkplaceDay(places.window, hosted, places.appointments)
        # Sorted by start (the query orders them): each date takes its slice by bisection.
        starts = [a.start for a in appointments]
        out: dict[date, _DayEntry] = {}
        for day, plan in plans.items():
            w_start, w_end = plan.window
            lo = bisect_left(starts, w_start - repo.LONGEST_BLOCK)
            hi = bisect_left(starts, w_end)
            todays = [a for a in appointments[lo:hi] if a.blocked_until > w_start]
            in_progress = (
                location_load(todays, location_id, plan.window) if catalog.capacity else ()
            )
            entry = _DayEntry(
                catalog.timezone, catalog.capacity or None, plan.window, True, (), in_progress
            )
            if plan.is_empty:
                out[day] = entry
                continue
            rearrange = None
            if places is not None:
                rearrange = Rearrangement(
                    places.within(plan.window),
                    now=now,
                    exclude_appointment_id=exclude_appointment_id,
                )
            base = Obstacles.build(
                location_id=location_id,
                capacity=catalog.capacity,
                appointments=todays,
                rearrange=rearrange,
            )
            found: list[SlotCandidate] = []
            complete = True
            for cand in plan.base_candidates(base):
                found.append(cand)
                if until is not None and until(entry, cand):
                    complete = False
                    break
            out[day] = _DayEntry(
                entry.timezone,
                entry.capacity,
                entry.window,
                complete,
                tuple(found),
                in_progress,
                plan.last_start(),
            )
        return out

    def _catalog_seen(self, versions: _Versions, location_id: int) -> CatalogSnapshot | None:
        """The catalog snapshot of the catalog version this read saw with the cache versions
        (no GET of its own), or None when it saw none. Entries built on it are written under
        those versions, so a catalog older than their key is never cached under it: when the
        update's pinned snapshot (`CatalogCache.pinned`) is older than the version read (the
        catalog changed since the update began), nothing this read builds is written."""
        tag = versions.seen(location_id)
        if tag is None:
            return None
        read = tag.split(".", 1)[0]
        snapshot = self.catalog.snapshot_of(read)
        if snapshot.version != read:
            versions.no_writes(location_id)
        return snapshot

    async def _plans(
        self,
        snapshot: CatalogSnapshot,
        session: AsyncSession,
        catalog: ServiceCatalog,
        query: SlotQuery,
        specialist_ids: list[int],
        days: Sequence[date],
    ) -> dict[date, DayPlan]:
        """The `DayPlan` of each of `days`. Plans built on the catalog in memory are kept with
        it (a plan depends on the catalog and calendar only), so a date is planned once per
        catalog version, not on every read."""
        calendar, kept = await _calendar_of(
            snapshot, session, query.location_id, specialist_ids, min(days), max(days)
        )
        plan = partial(self._new_plan, catalog, calendar, query)
        if not kept:
            return {d: plan(d) for d in days}
        step = self.rules.step_min
        return {d: snapshot.memo(_plan_key(query, step, d), partial(plan, d)) for d in days}

    def _new_plan(
        self, catalog: ServiceCatalog, calendar: Calendar, query: SlotQuery, day: date
    ) -> DayPlan:
        """The `DayPlan` of `day` for `query`'s specialist filter, made from these."""
        return DayPlan(
            catalog, calendar, day, specialist_id=query.specialist_id, step_min=self.rules.step_min
        )

    async def _overlay_obstacles(
        self,
        location_id: int,
        capacity: int | None,
        window: Interval,
        client_id: int | None,
        now: datetime,
        exclude_appointment_id: int | None = None,
        *,
        sessions: _OnDemand,
        live: Sequence[Any] | None = None,
        client_busy: list[BusyAppointment] | None = None,
    ) -> Callable[[_DayEntry], Obstacles]:
        """Load what is applied on every read (holds, the client's appointments) once for the
        window; returns a factory that adds a date's in-progress appointments for capacity.

        Other clients' holds at the location reserve a workplace among their compatible ones
        (docs/rules.md#holds): whether one leaves room for a cached candidate depends on where
        the day's appointments are and may move, so those are read too, only when such holds
        exist. `live`: the live holds' members already read (`_read_entries`);
        `client_busy`: the client's appointments over `window`, already read."""
        holds = (
            held_between(live, window[0], window[1])
            if live is not None
            else await self._holds.holds_between(location_id, window[0], window[1])
        )
        mine: list[Interval] = []
        held_here = [h for h in holds if h.location_id == location_id and h.client_id != client_id]
        places = None
        if client_id is not None:
            rows = client_busy
            if rows is None:
                rows = await repo.load_busy(
                    await sessions(), start=window[0], end=window[1], client_id=client_id
                )
            mine = [(a.start, a.end) for a in rows if a.appointment_id != exclude_appointment_id]
        if held_here:
            # Only a date with a candidate meeting such a hold asks where the appointments
            # are: read the appointments near the holds, not the whole window.
            near = (
                max(window[0], min(h.start for h in held_here) - _NEAR_HOLDS),
                min(window[1], max(h.blocked_until for h in held_here) + _NEAR_HOLDS),
            )
            snapshot = await self.catalog.snapshot()
            places = await _workplace_day(snapshot, await sessions(), location_id, near)

        built: dict[Interval, Obstacles] = {}

        def build(entry: _DayEntry) -> Obstacles:
            # One per date (its window): the calendar asks again for every candidate it tries.
            if entry.window in built:
                return built[entry.window]
            if _untouched(entry.window, holds, mine, capacity and entry.in_progress):
                # Nothing of the overlay meets the date: no obstacles but time (`clear`).
                built[entry.window] = Obstacles(location_id=location_id, capacity=capacity)
            else:
                obs = overlay_obstacles(
                    location_id=location_id,
                    capacity=capacity,
                    holds=holds,
                    client_id=client_id,
                    client_busy=mine,
                    in_progress=entry.in_progress,
                )
                if places is not None and obs.held:
                    obs.rearrange = Rearrangement(
                        places.within(entry.window),
                        now=now,
                        holds=obs.held,
                        exclude_appointment_id=exclude_appointment_id,
                    )
                built[entry.window] = obs
            return built[entry.window]

        return build


@dataclass(frozen=True, slots=True)
class _HoldScope:
    """The live holds a read took (`hold_scope`'s `text`): the location's and those of
    `specialists`. `snapshot`: the catalog the specialists came from (None: a named one)."""

    text: str
    specialists: frozenset[int]
    snapshot: CatalogSnapshot | None

    def covers(self, entries: Iterable[_DayEntry], built_on: CatalogSnapshot | None = None) -> bool:
        """Whether these holds are every hold that can bear on `entries` (and on the dates
        still to be built on the catalog `built_on`, when given): each entry's specialists
        are among `specialists`, and what is built uses the catalog they came from. Not so
        when an entry was built elsewhere on a catalog that differs under the same version
        (a change not yet announced): then every hold is read."""
        if built_on is not None and self.snapshot is not None and built_on is not self.snapshot:
            return False
        return all(entry.specialist_ids <= self.specialists for entry in entries)


class _OnDemand:
    """One session for a display read, opened at its first use (a read the cache answers
    opens none) and closed on leaving the `async with`: a step checks out one connection at
    most, however many queries it needs.

    Its statements run outside a transaction (`read_session`)."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self._session: AsyncSession | None = None

    async def __call__(self) -> AsyncSession:
        if self._session is None:
            self._session = read_session(self._factory)
        return self._session

    async def __aenter__(self) -> _OnDemand:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


class _Versions:
    """The cache versions of one read, each fetched once: a location's tag ("catalog.location")
    and its dates' ("catalog.location.date"). None: cache unavailable or not used."""

    def __init__(self, service: AvailabilityService, *, cache: bool = True) -> None:
        self._service = service
        self._cache = cache
        self._tags: dict[int, str] = {}
        self._days: dict[tuple[int, date], str] = {}
        self._unavailable = False
        self._read_only: set[int] = set()

    @property
    def enabled(self) -> bool:
        return self._cache

    def known(self, location_id: int, tag: str, days: dict[date, str]) -> None:
        """The versions of `location_id` and of `days`, read along with something else."""
        self._tags[location_id] = tag
        self._days.update(((location_id, d), t) for d, t in days.items())

    def seen(self, location_id: int) -> str | None:
        """The versions of `location_id` if already read ("catalog.location"), else None."""
        return self._tags.get(location_id) if self._cache else None

    def writable(self, location_id: int) -> bool:
        """Whether this read may still write entries of `location_id` (`of_days` may then
        give their tags)."""
        return self._cache and not self._unavailable and location_id not in self._read_only

    def no_writes(self, location_id: int) -> None:
        """Nothing more is written for `location_id` by this read (`of_days` answers None)."""
        self._read_only.add(location_id)

    async def of_days(self, location_id: int, days: Sequence[date]) -> dict[date, str] | None:
        """Each of `days`' tag, reading those not read yet (one MGET); None when the cache
        is not used, Redis did not answer or nothing may be written (`no_writes`)."""
        if not self.writable(location_id):
            return None
        missing = [d for d in days if (location_id, d) not in self._days]
        if missing:
            read = await self._service._versions_of(location_id, missing)
            if read is None:
                self._unavailable = True
                return None
            tag, day_tags = read
            if self._tags.setdefault(location_id, tag) != tag:
                return None  # the location's version moved since this read began: no writes
            self.known(location_id, tag, day_tags)
        return {d: self._days[(location_id, d)] for d in days}


async def _service_catalog(
    snapshot: CatalogSnapshot,
    location_id: int,
    service_id: int,
    session: AsyncSession | None = None,
) -> ServiceCatalog | None:
    """The static catalog of booking the service at the location (`load_service_catalog`),
    read in `session` if it is not in memory yet."""

    async def load(session: AsyncSession) -> ServiceCatalog | None:
        return await repo.load_service_catalog(session, location_id, service_id)

    return await snapshot.get(("service_catalog", location_id, service_id), load, session)


async def _location_meta(
    snapshot: CatalogSnapshot, location_id: int, session: AsyncSession | None = None
) -> repo.LocationMeta | None:
    async def load(session: AsyncSession) -> repo.LocationMeta | None:
        return await repo.location_meta(session, location_id)

    return await snapshot.get(("location_meta", location_id), load, session)


def _same_date(fresh: Calendar, kept: Calendar, day: date, specialist_ids: Iterable[int]) -> bool:
    """Whether two calendars say the same of `day` for these specialists: its holiday and each
    one's breaks (in any order), all a `DayPlan` of the date reads (`bot.domain.schedule`)."""
    if fresh.holidays.get(day) != kept.holidays.get(day):
        return False
    return all(
        set(fresh.breaks.get((s, day), ())) == set(kept.breaks.get((s, day), ()))
        for s in specialist_ids
    )


def _plan_key(query: SlotQuery, step_min: int, day: date) -> tuple[Any, ...]:
    """The key of a date's `DayPlan` among the snapshot's memos."""
    return ("day_plan", query.location_id, query.service_id, query.specialist_id, step_min, day)


async def _calendar_of(
    snapshot: CatalogSnapshot,
    session: AsyncSession,
    location_id: int,
    specialist_ids: Iterable[int],
    first: date,
    last: date,
) -> tuple[Calendar, bool]:
    """Holidays and breaks for [first, last], and whether they are the ones kept in the
    snapshot: the location's whole calendar from a few days ago on (the plans only look dates
    up, so more dates change nothing); earlier dates are read from the database in
    `session`."""

    async def load(session: AsyncSession) -> tuple[date, Calendar]:
        since = datetime.now(UTC).date() - CALENDAR_PAST
        return since, await repo.load_calendar_since(session, location_id, since)

    since, calendar = await snapshot.get(("calendar", location_id), load, session)
    if first >= since:
        return calendar, True
    return await repo.load_calendar(session, location_id, specialist_ids, first, last), False


async def _workplace_day(
    snapshot: CatalogSnapshot, session: AsyncSession, location_id: int, window: Interval
) -> WorkplaceDay:
    """`load_workplace_day` with the location's service -> workplaces map from the catalog in
    memory: one query, the appointments'."""

    hosts = await _workplace_hosts(snapshot, session, location_id)
    return await load_workplace_day(session, location_id, window, hosts)


async def _workplace_hosts(
    snapshot: CatalogSnapshot, session: AsyncSession, location_id: int
) -> dict[int, frozenset[int]]:
    """The location's service -> hosting workplaces map, from the catalog in memory."""

    async def load(session: AsyncSession) -> dict[int, frozenset[int]]:
        return await load_workplace_hosts(session, location_id)

    return await snapshot.get(("workplace_hosts", location_id), load, session)


def _untouched(
    window: Interval,
    holds: Sequence[HeldInterval],
    client_busy: Sequence[Interval],
    counted: object,
) -> bool:
    """Whether the overlay leaves every candidate of the date `window` to the time rules
    alone: no hold the read took (the location's, and its specialists' anywhere: a
    specialist held elsewhere is busy here; `_HoldScope`) and none
    of the client's appointments meets [window start, window end + `LONGEST_BLOCK`), where
    every candidate of the date lies (it starts on the date and blocks less than that), and
    no capacity count is in play (`counted`: truthy when the cap and in-progress appointments
    are). Then no hold can take part in a workplace search for a candidate either: the first
    step of any chain of overlaps from it must meet that span."""
    if counted:
        return False
    lo, hi = window[0], window[1] + repo.LONGEST_BLOCK
    return not any(h.start < hi and h.blocked_until > lo for h in holds) and not any(
        start < hi and end > lo for start, end in client_busy
    )


def _on(
    workplace_id: int | None, reason: Reason, found: list[SlotCandidate]
) -> tuple[Reason, list[SlotCandidate]]:
    """Keep only the candidates on `workplace_id` (all when None); none left of a bookable
    start means that workplace is taken (NO_WORKPLACE)."""
    if workplace_id is None:
        return reason, found
    kept = [c for c in found if c.workplace_id == workplace_id]
    if not kept and reason is Reason.OK:
        return Reason.NO_WORKPLACE, []
    return reason, kept


def _relevant_workplaces(catalog: ServiceCatalog) -> list[int] | None:
    """Which of the location's workplaces matter: all of them when capacity is capped (every
    appointment counts), else only those hosting the service."""
    if catalog.capacity:
        return None
    return [w.workplace_id for w in catalog.workplaces]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
