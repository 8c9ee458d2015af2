"""AvailabilityService over a catalog written through the ORM, on the real PostgreSQL and Redis:
day slots, calendar, the authoritative `candidates`, the cache and its invalidation."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.services.availability as availability_module
from bot.config import Settings, load_settings
from bot.domain.catalog import BreakRow, Calendar
from bot.domain.catalog import Holiday as HolidayRow
from bot.domain.slots import Reason
from bot.domain.types import HeldInterval, SlotQuery
from bot.domain.walltime import WallTime
from bot.ops import metrics
from bot.services.availability import AvailabilityService, _DayEntry, _same_date, forget_parsed
from bot.services.holds import HoldStore, hold_scope
from db.models import (
    Appointment,
    Break,
    Client,
    ClientWallet,
    Holiday,
    Location,
    LocationSchedule,
    Service,
    ServiceSpecialist,
    Specialist,
    SpecialistSchedule,
    Workplace,
    WorkplaceService,
)

MSK = ZoneInfo("Europe/Moscow")
TUESDAY = dt.date(2030, 3, 5)
NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=MSK)  # Monday morning


def at(day: dt.date, hhmm: str, tz: ZoneInfo = MSK) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=tz).astimezone(dt.UTC)


def hhmm(instants: Sequence[dt.datetime], tz: ZoneInfo = MSK) -> list[str]:
    return [i.astimezone(tz).strftime("%H:%M") for i in instants]


@dataclass
class FakeHolds:
    """A hold source the test controls (the Redis hold store is the booking area's)."""

    held: list[HeldInterval] = field(default_factory=list)

    async def holds_between(
        self, location_id: int, start: dt.datetime, end: dt.datetime
    ) -> Sequence[HeldInterval]:
        # Like the Redis store: every location's holds (a specialist works at several).
        return [h for h in self.held if h.start < end and h.blocked_until > start]


@dataclass
class Salon:
    location: Location
    service: Service
    chairs: list[Workplace]
    anna: Specialist  # 10:00-14:00 Mon-Fri
    boris: Specialist  # 12:00-18:00 Mon-Fri
    client: Client
    other_client: Client


async def make_client(session: AsyncSession, name: str) -> Client:
    client = Client(first_name=name)
    session.add(client)
    await session.flush()
    session.add(ClientWallet(client_id=client.id, balance=Decimal("0")))
    return client


async def make_salon(
    session: AsyncSession, *, capacity: int | None = None, name: str = "Center"
) -> Salon:
    location = Location(name=name, timezone="Europe/Moscow", capacity=capacity)
    service = Service(
        name=f"Haircut ({name})", duration_min=60, break_min=15, price=Decimal("1000")
    )
    anna = Specialist(name=f"Anna ({name})")
    boris = Specialist(name=f"Boris ({name})")
    session.add_all([location, service, anna, boris])
    await session.flush()
    chairs = [Workplace(location_id=location.id, name=f"Chair {i}") for i in (1, 2)]
    session.add_all(chairs)
    await session.flush()
    for dow in range(1, 6):
        session.add(
            LocationSchedule(
                location_id=location.id,
                day_of_week=dow,
                start_time=dt.time(10),
                end_time=dt.time(18),
            )
        )
        for specialist, opens, closes in ((anna, 10, 14), (boris, 12, 18)):
            session.add(
                SpecialistSchedule(
                    specialist_id=specialist.id,
                    location_id=location.id,
                    day_of_week=dow,
                    start_time=dt.time(opens),
                    end_time=dt.time(closes),
                )
            )
    for chair in chairs:
        session.add(WorkplaceService(workplace_id=chair.id, service_id=service.id))
    session.add(ServiceSpecialist(service_id=service.id, specialist_id=anna.id))
    session.add(
        ServiceSpecialist(
            service_id=service.id, specialist_id=boris.id, custom_price=Decimal("900")
        )
    )
    client = await make_client(session, "Ivan")
    other = await make_client(session, "Petr")
    await session.commit()
    return Salon(location, service, chairs, anna, boris, client, other)


async def anna_also_at_north(session: AsyncSession, salon: Salon) -> Salon:
    """A second salon, North, where Anna of `salon` also works (10:00-14:00 Mon-Fri) and does
    its haircut."""
    north = await make_salon(session, name="North")
    for dow in range(1, 6):
        session.add(
            SpecialistSchedule(
                specialist_id=salon.anna.id,
                location_id=north.location.id,
                day_of_week=dow,
                start_time=dt.time(10),
                end_time=dt.time(14),
            )
        )
    session.add(ServiceSpecialist(service_id=north.service.id, specialist_id=salon.anna.id))
    await session.commit()
    return north


async def book(
    session: AsyncSession,
    salon: Salon,
    *,
    specialist: Specialist,
    chair: Workplace,
    start: dt.datetime,
    client: Client | None = None,
    minutes: int = 60,
    break_min: int = 15,
) -> Appointment:
    """Insert an appointment directly, bypassing every service (and the cache invalidation)."""
    appt = Appointment(
        location_id=salon.location.id,
        service_id=salon.service.id,
        workplace_id=chair.id,
        specialist_id=specialist.id,
        client_id=(client or salon.other_client).id,
        start_time=start,
        end_time=start + dt.timedelta(minutes=minutes),
        blocked_until=start + dt.timedelta(minutes=minutes + break_min),
        price=Decimal("1000"),
    )
    session.add(appt)
    await session.commit()
    return appt


def anna_held_for_other_client(salon: Salon, chair: Workplace, start: dt.datetime) -> HeldInterval:
    """The other client's hold on Anna for one haircut (60 min, then a 15 min break)."""
    return HeldInterval(
        salon.other_client.id,
        salon.location.id,
        salon.anna.id,
        chair.id,
        start,
        start + dt.timedelta(minutes=60),
        start + dt.timedelta(minutes=75),
    )


@pytest.fixture
def settings(redis_prefix: str) -> Settings:
    return load_settings(bot_token="1:test", redis_prefix=redis_prefix)


@pytest.fixture
def holds() -> FakeHolds:
    return FakeHolds()


@pytest.fixture
def availability(
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    settings: Settings,
    holds: FakeHolds,
) -> AvailabilityService:
    return AvailabilityService(session_factory, redis, settings, holds)


@pytest.fixture
async def salon(session: AsyncSession) -> Salon:
    return await make_salon(session)


async def slots(
    availability: AvailabilityService,
    salon: Salon,
    *,
    specialist: Specialist | None = None,
    client: Client | None = None,
    day: dt.date = TUESDAY,
    now: dt.datetime = NOW,
) -> list[str]:
    offers = await availability.day_slots(
        location_id=salon.location.id,
        service_id=salon.service.id,
        specialist_id=specialist.id if specialist else None,
        day=day,
        now=now,
        client_id=client.id if client else None,
    )
    return hhmm([o.start for o in offers])


async def test_day_slots_any_is_the_union_with_the_lowest_price(
    availability: AvailabilityService, salon: Salon
) -> None:
    offers = await availability.day_slots(
        location_id=salon.location.id,
        service_id=salon.service.id,
        specialist_id=None,
        day=TUESDAY,
        now=NOW,
    )
    by_time = {o.start.astimezone(MSK).strftime("%H:%M"): o for o in offers}
    # Anna: 10:00..12:45 (75 min blocked must end by 14:00); Boris: 12:00..16:45.
    assert list(by_time) == [f"{h:02d}:{m:02d}" for h in range(10, 17) for m in (0, 15, 30, 45)]
    assert by_time["10:00"].specialist_ids == (salon.anna.id,)
    assert by_time["10:00"].price == Decimal("1000")
    assert by_time["12:30"].specialist_ids == (salon.anna.id, salon.boris.id)
    assert by_time["12:30"].price == Decimal("900")  # Boris' custom price is the lowest
    assert by_time["16:45"].specialist_ids == (salon.boris.id,)
    assert all(o.start.tzinfo is not None for o in offers)


async def test_candidates_prefers_the_less_busy_specialist(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    # Anna already has one appointment on Tuesday, Boris none.
    await book(
        session, salon, specialist=salon.anna, chair=salon.chairs[0], start=at(TUESDAY, "10:00")
    )
    start = at(TUESDAY, "12:30")
    async with session.begin():
        found = await availability.candidates(session, **slot_query(salon, start))
    assert [(c.specialist_id, c.workplace_id) for c in found] == [
        (salon.boris.id, salon.chairs[0].id),
        (salon.boris.id, salon.chairs[1].id),
        (salon.anna.id, salon.chairs[0].id),
        (salon.anna.id, salon.chairs[1].id),
    ]
    first = found[0]
    assert first.start == start
    assert first.end == start + dt.timedelta(minutes=60)
    assert first.blocked_until == start + dt.timedelta(minutes=75)
    assert (first.price, first.duration_min, first.break_min) == (Decimal("900"), 60, 15)


@contextmanager
def count_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_execute(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)


def slot_query(
    salon: Salon,
    start: dt.datetime,
    *,
    specialist: Specialist | None = None,
    client: Client | None = None,
    exclude: int | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `candidates` and `evaluate` for one time at the salon."""
    return {
        "location_id": salon.location.id,
        "service_id": salon.service.id,
        "specialist_id": specialist.id if specialist else None,
        "start": start,
        "now": NOW,
        "client_id": (client or salon.client).id,
        "exclude_appointment_id": exclude,
    }


async def candidates_at(
    availability: AvailabilityService,
    session: AsyncSession,
    salon: Salon,
    start: dt.datetime,
    *,
    specialist: Specialist | None = None,
    client: Client | None = None,
    exclude: int | None = None,
) -> list[tuple[int, int]]:
    query = slot_query(salon, start, specialist=specialist, client=client, exclude=exclude)
    async with session.begin():
        found = await availability.candidates(session, **query)
    return [(c.specialist_id, c.workplace_id) for c in found]


async def test_second_call_is_served_from_the_cache(
    availability: AvailabilityService,
    salon: Salon,
    engine: AsyncEngine,
    redis: Redis,
    redis_prefix: str,
) -> None:
    first = await slots(availability, salon)
    await availability.settle()  # the entry is written after the answer
    assert [k async for k in redis.scan_iter(match=f"{redis_prefix}:slots:day:*")]
    with count_queries(engine) as queries:
        again = await slots(availability, salon)
    assert again == first
    assert queries == []


class GatedWrites:
    """The slot cache's write script held until `release` is set: `waiting` counts the writes
    held (`until_waiting` waits for a number of them), `finished` those done."""

    def __init__(self, availability: AvailabilityService) -> None:
        self.release = asyncio.Event()
        self.waiting = 0
        self.finished = 0
        self._arrived = asyncio.Event()
        self._script = availability._write_script

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.waiting += 1
        self._arrived.set()
        await self.release.wait()
        result = await self._script(*args, **kwargs)
        self.finished += 1
        return result

    async def until_waiting(self, count: int) -> None:
        while self.waiting < count:
            self._arrived.clear()
            await self._arrived.wait()


@pytest.fixture
def gate(availability: AvailabilityService, monkeypatch: pytest.MonkeyPatch) -> GatedWrites:
    """The service's slot-cache writes held until the test releases them (`GatedWrites`)."""
    gated = GatedWrites(availability)
    monkeypatch.setattr(availability, "_write_script", gated)
    return gated


async def day_entries(redis: Redis, redis_prefix: str) -> list[bytes]:
    return [k async for k in redis.scan_iter(match=f"{redis_prefix}:slots:day:*")]


# A read that waited for its own cache write would wait for `GatedWrites.release` forever:
# such a test fails after this long instead of hanging.
NO_HANG_SECONDS = 10


async def test_a_cold_read_answers_before_its_cache_write(
    availability: AvailabilityService,
    gate: GatedWrites,
    salon: Salon,
    engine: AsyncEngine,
    redis: Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read returns without waiting for the cache write (docs/rules.md#redis); the next
    read of the same date through the same service waits for that write and is served from
    the cache, as if the write had been awaited."""
    async with asyncio.timeout(NO_HANG_SECONDS):
        first = await slots(availability, salon)
    assert len(first) == 28  # 10:00 .. 16:45 every 15 minutes
    assert await day_entries(redis, redis_prefix) == []  # the write is still held
    assert gate.finished == 0
    waiting = asyncio.Event()
    written = availability._written

    async def waits(*args: Any) -> None:
        waiting.set()
        await written(*args)

    monkeypatch.setattr(availability, "_written", waits)
    with count_queries(engine) as queries:
        second = asyncio.create_task(slots(availability, salon))
        await waiting.wait()  # the second read waits for the write, which is still held
        gate.release.set()
        assert await second == first
    assert queries == []  # read from the entry the first read wrote
    assert (gate.waiting, gate.finished) == (1, 1)
    assert len(await day_entries(redis, redis_prefix)) == 1


async def test_settle_waits_for_the_writes_in_flight(
    availability: AvailabilityService,
    gate: GatedWrites,
    salon: Salon,
    redis: Redis,
    redis_prefix: str,
) -> None:
    """`settle` (the bot's shutdown, before the Redis client closes) returns once every
    write in flight is done."""
    async with asyncio.timeout(NO_HANG_SECONDS):
        await slots(availability, salon, specialist=salon.anna)  # another query than the month's
        await availability.available_dates(
            location_id=salon.location.id, service_id=salon.service.id, specialist_id=None, now=NOW
        )
    settling = asyncio.create_task(availability.settle())
    await gate.until_waiting(2)
    gate.release.set()
    await settling
    assert gate.finished == 2  # both done by the time settle returned
    assert availability._writing == {}
    assert len(await day_entries(redis, redis_prefix)) == 1 + 31  # Tuesday, and the month


async def test_writes_past_the_limit_are_not_cached(
    availability: AvailabilityService,
    gate: GatedWrites,
    salon: Salon,
    engine: AsyncEngine,
    redis: Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `WRITES_IN_FLIGHT` writes pending (a slow Redis), a built date is served and not
    cached: nothing piles up in memory, and the answer is the same."""
    monkeypatch.setattr(availability_module, "WRITES_IN_FLIGHT", 1)
    skipped = metrics.SLOT_CACHE_WRITES_SKIPPED._value.get()
    async with asyncio.timeout(NO_HANG_SECONDS):
        tuesday = await slots(availability, salon)
        monday = await slots(availability, salon, day=TUESDAY - dt.timedelta(days=1))
    gate.release.set()
    await availability.settle()
    assert (gate.waiting, gate.finished) == (1, 1)  # Tuesday's; Monday's was not written
    assert metrics.SLOT_CACHE_WRITES_SKIPPED._value.get() == skipped + 1
    with count_queries(engine) as queries:
        assert await slots(availability, salon) == tuesday
    assert queries == []
    with count_queries(engine) as queries:
        assert await slots(availability, salon, day=TUESDAY - dt.timedelta(days=1)) == monday
    assert queries != []  # built again


async def test_a_date_built_here_is_read_back_without_parsing_its_text(
    availability: AvailabilityService, salon: Salon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process that built a date keeps it parsed: the next read of it (the next client,
    or this one's next step) parses nothing; a text built elsewhere is parsed once."""
    monkeypatch.setattr(availability_module, "_PARSED", OrderedDict())
    monkeypatch.setattr(availability_module, "_parsed_bytes", 0)
    parsed: list[bytes | str] = []
    loads = _DayEntry.loads

    def counted(raw: bytes | str) -> _DayEntry:
        parsed.append(raw)
        return loads(raw)

    monkeypatch.setattr(_DayEntry, "loads", staticmethod(counted))
    first = await slots(availability, salon)
    assert "10:00" in first and parsed == []
    assert await slots(availability, salon) == first
    assert parsed == []
    forget_parsed()  # as in a process that did not build it
    assert await slots(availability, salon) == first
    assert await slots(availability, salon) == first
    assert len(parsed) == 1


async def annas_break_unannounced(session: AsyncSession, salon: Salon) -> None:
    """Anna's break on Tuesday 10:00-11:00, committed without a catalog change: the calendar
    in memory does not know it, the date's rows do."""
    session.add(
        Break(
            specialist_id=salon.anna.id,
            date=TUESDAY,
            start_time=WallTime(10 * 3600),
            end_time=WallTime(11 * 3600),
        )
    )
    await session.commit()


async def test_a_check_on_the_calendar_in_memory_reuses_the_dates_plan(
    availability: AvailabilityService,
    salon: Salon,
    session: AsyncSession,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A date's plan (working hours and the grid) depends on the catalog and calendar only:
    the display path keeps it with the catalog in memory, and a check of one start on that
    calendar (a hold's) takes it from there. A check on the date's rows read afresh (a
    confirm's, under its locks) takes it too while the rows say what the calendar in memory
    says of the date, and plans anew once they do not."""
    made: list[dt.date] = []
    real = availability_module.DayPlan

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(availability_module, "DayPlan", counted)
    assert "10:00" in await slots(availability, salon)
    assert made == [TUESDAY]
    start = at(TUESDAY, "10:00")  # Anna's alone: Boris starts at 12:00
    async with session.begin():
        assert await availability.candidates(session, **slot_query(salon, start))
    assert made == [TUESDAY]
    async with session.begin():
        fresh = await availability.evaluate(
            session, **slot_query(salon, start), fresh_calendar=True
        )
        assert fresh[1]
    assert made == [TUESDAY]
    await annas_break_unannounced(session, salon)
    async with session.begin():
        fresh = await availability.evaluate(
            session, **slot_query(salon, start), fresh_calendar=True
        )
    assert fresh == (Reason.CLOSED, [])
    assert made == [TUESDAY, TUESDAY]
    # A snapshot that has not read the calendar (a new catalog version) is not made to read
    # it for this: the date's rows alone, planned anew.
    await availability.invalidate()
    with count_queries(engine) as queries:
        async with session.begin():
            fresh = await availability.evaluate(
                session, **slot_query(salon, start), fresh_calendar=True
            )
    assert fresh[1] == []
    assert made == [TUESDAY, TUESDAY, TUESDAY]
    assert sum(" holidays" in q for q in queries) == 1, queries


async def test_a_confirms_check_never_takes_a_plan_made_from_a_calendar_its_rows_contradict(
    availability: AvailabilityService,
    salon: Salon,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two reads of one snapshot may each load the calendar in their own session; a break
    written between them (its catalog change still to come) is in one and not the other, and
    the date's kept plan may be made from the one the snapshot did not keep. A confirm's check
    compares its rows with the calendar that plan was made from, so it never books into the
    break."""
    real = availability_module.repo.load_calendar_since
    first_read, go_on = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_first(s: AsyncSession, location_id: int, since: dt.date) -> Any:
        nonlocal calls
        calls += 1
        mine = calls
        calendar = await real(s, location_id, since)
        if mine == 1:
            first_read.set()
            await go_on.wait()
        return calendar

    monkeypatch.setattr(availability_module.repo, "load_calendar_since", slow_first)
    stalled = asyncio.create_task(slots(availability, salon))  # Tuesday, calendar read first
    await first_read.wait()
    await annas_break_unannounced(session, salon)
    # Another read of the same snapshot loads the calendar with the break and keeps it.
    await slots(availability, salon, day=TUESDAY + dt.timedelta(days=1))
    go_on.set()
    assert "10:00" in await stalled  # planned from its own calendar, without the break
    async with session.begin():
        fresh = await availability.evaluate(
            session, **slot_query(salon, at(TUESDAY, "10:00")), fresh_calendar=True
        )
    # Anna is on a break at 10:00 and Boris starts at 12:00.
    assert fresh == (Reason.CLOSED, [])


def test_two_calendars_agree_on_a_date_by_its_holiday_and_its_specialists_breaks() -> None:
    day, other = TUESDAY, TUESDAY + dt.timedelta(days=1)
    ten, eleven, noon = WallTime(10 * 3600), WallTime(11 * 3600), WallTime(12 * 3600)
    morning, midday = BreakRow(1, day, ten, eleven), BreakRow(1, day, eleven, noon)
    base = Calendar(
        holidays={day: HolidayRow(day, True, ten, noon)},
        breaks={(1, day): (morning, midday), (2, other): (BreakRow(2, other),)},
    )
    same = Calendar(
        holidays={day: HolidayRow(day, True, ten, noon)}, breaks={(1, day): (midday, morning)}
    )
    assert _same_date(same, base, day, [1, 2])  # in any order; another date does not count
    assert _same_date(base, same, day, [1])
    for differing in (
        Calendar(holidays={}, breaks=dict(same.breaks)),
        Calendar(holidays={day: HolidayRow(day, False)}, breaks=dict(same.breaks)),
        Calendar(holidays=dict(same.holidays), breaks={(1, day): (morning,)}),
        Calendar(
            holidays=dict(same.holidays), breaks={**same.breaks, (2, day): (BreakRow(2, day),)}
        ),
    ):
        assert not _same_date(differing, base, day, [1, 2])
    # A specialist the check is not about does not count.
    only_one = Calendar(holidays=dict(same.holidays), breaks={**same.breaks, (2, day): ()})
    assert _same_date(
        Calendar(
            holidays=dict(same.holidays), breaks={**same.breaks, (2, day): (BreakRow(2, day),)}
        ),
        base,
        day,
        [1],
    )
    assert _same_date(only_one, base, day, [1, 2])


async def test_stale_cache_never_lets_candidates_accept_a_taken_time(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    assert "10:00" in await slots(availability, salon)  # cached now
    # Another instance books Anna at 10:00 and (say) crashes before invalidating.
    await book(
        session, salon, specialist=salon.anna, chair=salon.chairs[0], start=at(TUESDAY, "10:00")
    )
    assert "10:00" in await slots(availability, salon)  # the stale cache may still show it...
    # ...but the authoritative check reads the database and refuses.
    assert await candidates_at(availability, session, salon, at(TUESDAY, "10:00")) == []
    assert await candidates_at(availability, session, salon, at(TUESDAY, "11:15")) == [
        (salon.anna.id, salon.chairs[0].id),
        (salon.anna.id, salon.chairs[1].id),
    ]
    await availability.invalidate(location_id=salon.location.id, day=TUESDAY)
    fresh = await slots(availability, salon)
    assert fresh[:1] == ["11:15"]  # 10:00-11:15 blocked incl. the break


async def test_a_change_on_a_date_keeps_the_locations_other_dates_cached(
    availability: AvailabilityService, salon: Salon, session: AsyncSession, engine: AsyncEngine
) -> None:
    wednesday, thursday = TUESDAY + dt.timedelta(days=1), TUESDAY + dt.timedelta(days=2)
    before = {day: await slots(availability, salon, day=day) for day in (TUESDAY, thursday)}
    assert "10:00" in await slots(availability, salon, day=wednesday)
    await book(
        session, salon, specialist=salon.anna, chair=salon.chairs[0], start=at(TUESDAY, "10:00")
    )
    await availability.invalidate(location_id=salon.location.id, day=TUESDAY)

    with count_queries(engine) as queries:
        assert await slots(availability, salon, day=thursday) == before[thursday]
    assert queries == []  # another date: still cached
    with count_queries(engine) as queries:
        assert await slots(availability, salon, day=wednesday)
    assert queries  # the next date: read again (a block may reach past midnight)
    fresh = await slots(availability, salon)
    assert "10:00" in before[TUESDAY] and "10:00" not in fresh


async def test_a_booking_at_another_location_drops_the_specialists_days_here(
    availability: AvailabilityService, salon: Salon, session: AsyncSession, engine: AsyncEngine
) -> None:
    """Anna works at Center and at North: booked at North, she is busy at Center too, so
    Center's cached date must be dropped with North's."""
    north = await anna_also_at_north(session, salon)
    await availability.invalidate()  # the catalog changed
    thursday = TUESDAY + dt.timedelta(days=2)
    assert "10:00" in await slots(availability, salon, specialist=salon.anna)
    other_day = await slots(availability, salon, specialist=salon.anna, day=thursday)
    start = at(TUESDAY, "10:00")
    await book(session, north, specialist=salon.anna, chair=north.chairs[0], start=start)

    elsewhere = await availability.elsewhere(salon.anna.id, north.location.id, [start])
    assert elsewhere == [(salon.location.id, TUESDAY)]
    assert await availability.elsewhere(salon.boris.id, salon.location.id, [start]) == []
    await availability.invalidate(location_id=north.location.id, day=TUESDAY)
    assert "10:00" in await slots(availability, salon, specialist=salon.anna)  # as before
    await availability.invalidate(location_id=north.location.id, day=TUESDAY, elsewhere=elsewhere)
    assert "10:00" not in await slots(availability, salon, specialist=salon.anna)
    with count_queries(engine) as queries:
        assert await slots(availability, salon, specialist=salon.anna, day=thursday) == other_day
    assert queries == []  # Center's other dates stay cached


async def test_a_dates_version_is_never_used_twice(
    availability: AvailabilityService, redis: Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:slots:ver:loc:7:{TUESDAY.isoformat()}"
    await availability.invalidate(location_id=7, day=TUESDAY)
    await availability.invalidate(location_id=7, day=TUESDAY)
    assert await redis.get(key) == b"2"
    # It outlives the entries written under the version before it.
    assert await redis.pttl(key) > 24 * 3600 * 1000
    await redis.delete(key)  # expired: reads as "0", which no entry written since uses
    await availability.invalidate(location_id=7, day=TUESDAY)
    assert await redis.get(key) == b"3"


async def test_a_catalog_change_during_an_update_is_not_cached_under_the_new_version(
    availability: AvailabilityService, salon: Salon, session: AsyncSession, redis: Redis
) -> None:
    """An update keeps the catalog it began with (`CatalogCache.pinned`); a day it builds after
    an admin's change must not be cached under the version that change produced."""
    catalog = availability.catalog
    with catalog.pinned():
        catalog.adopt(await redis.get(catalog.version_key))  # as the update gate does
        assert await slots(availability, salon)  # the snapshot taken: this update's catalog
        session.add(Holiday(location_id=salon.location.id, date=TUESDAY, is_working=False))
        await session.commit()
        await availability.invalidate()  # the change, committed and announced
        assert await slots(availability, salon)  # still the update's own catalog
    assert await slots(availability, salon) == []  # the next update: the holiday


async def test_catalog_invalidation_without_location(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    assert salon.boris.id in {
        s
        for o in await availability.day_slots(
            location_id=salon.location.id,
            service_id=salon.service.id,
            specialist_id=None,
            day=TUESDAY,
            now=NOW,
        )
        for s in o.specialist_ids
    }
    await session.execute(
        update(Specialist).where(Specialist.id == salon.boris.id).values(is_active=False)
    )
    await session.commit()
    await availability.invalidate()
    offers = await availability.day_slots(
        location_id=salon.location.id,
        service_id=salon.service.id,
        specialist_id=None,
        day=TUESDAY,
        now=NOW,
    )
    assert offers and all(o.specialist_ids == (salon.anna.id,) for o in offers)
    await session.execute(
        update(Service).where(Service.id == salon.service.id).values(is_active=False)
    )
    await session.commit()
    await availability.invalidate()
    assert await slots(availability, salon) == []
    assert await candidates_at(availability, session, salon, at(TUESDAY, "10:00")) == []


async def test_holds_apply_on_top_of_cached_slots(
    availability: AvailabilityService, salon: Salon, holds: FakeHolds
) -> None:
    assert "10:00" in await slots(availability, salon, client=salon.client)
    start = at(TUESDAY, "10:00")
    holds.held.append(anna_held_for_other_client(salon, salon.chairs[1], start))
    # No invalidation needed: holds are read on every call.
    assert "10:00" not in await slots(availability, salon, client=salon.client)
    assert "10:00" in await slots(availability, salon, client=salon.other_client)


async def test_dates_nothing_of_the_overlay_meets_answer_as_when_every_time_is_checked(
    availability: AvailabilityService,
    salon: Salon,
    session: AsyncSession,
    holds: FakeHolds,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The overlay leaves a date that no hold and none of the client's appointments meets to
    the time rules alone (`_untouched`). Random holds of either specialist on either chair,
    some late in the evening, and the client's own appointment: the calendar and each day's
    times are what checking every time against every hold gives."""
    rnd = random.Random(7)
    days = [TUESDAY + dt.timedelta(days=n) for n in range(8)]
    mine = await book(
        session,
        salon,
        specialist=salon.boris,
        chair=salon.chairs[1],
        start=at(days[3], "15:00"),
        client=salon.client,
    )
    assert mine.id
    await availability.invalidate(location_id=salon.location.id)

    async def answers() -> tuple[Any, ...]:
        choices = await availability.date_choices(
            location_id=salon.location.id,
            service_id=salon.service.id,
            specialist_id=None,
            now=NOW,
            client_id=salon.client.id,
        )
        times = [await slots(availability, salon, client=salon.client, day=d) for d in days]
        return choices.free, choices.full, choices.firsts, times

    changed = 0
    plain = await answers()
    for _ in range(6):
        holds.held = []
        for _ in range(rnd.randint(1, 4)):
            day, hour = rnd.choice(days), rnd.choice(["10:00", "12:15", "13:00", "16:45", "23:30"])
            specialist = rnd.choice([salon.anna, salon.boris])
            start = at(day, hour)
            holds.held.append(
                HeldInterval(
                    salon.other_client.id,
                    salon.location.id,
                    specialist.id,
                    rnd.choice(salon.chairs).id,
                    start,
                    start + dt.timedelta(minutes=60),
                    start + dt.timedelta(minutes=75),
                    frozenset(c.id for c in salon.chairs),
                )
            )
        quick = await answers()
        with monkeypatch.context() as patch:
            patch.setattr(availability_module, "_untouched", lambda *args: False)
            assert await answers() == quick
        changed += quick != plain
    assert changed  # the holds did change some answers


async def test_holds_are_obstacles_for_candidates(
    availability: AvailabilityService, salon: Salon, holds: FakeHolds, session: AsyncSession
) -> None:
    start = at(TUESDAY, "12:30")
    holds.held.append(anna_held_for_other_client(salon, salon.chairs[0], start))
    assert await candidates_at(availability, session, salon, start) == [
        (salon.boris.id, salon.chairs[1].id)
    ]
    assert (
        len(await candidates_at(availability, session, salon, start, client=salon.other_client))
        == 4
    )


async def test_clients_own_appointment_is_applied_per_client(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    await book(
        session,
        salon,
        specialist=salon.boris,
        chair=salon.chairs[1],
        start=at(TUESDAY, "12:00"),
        client=salon.client,
    )
    await availability.invalidate(location_id=salon.location.id)
    mine = await slots(availability, salon, specialist=salon.anna, client=salon.client)
    assert mine == ["10:00", "10:15", "10:30", "10:45", "11:00"]
    theirs = await slots(availability, salon, specialist=salon.anna, client=salon.other_client)
    assert theirs[-1] == "12:45"


async def test_a_clients_appointment_elsewhere_blocks_only_that_clients_times(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    """The date built for a client reads the client's own appointments in the same query as
    the date's; one at another location, with another specialist, keeps that client's times
    away from it and stays out of the cached date every other client is then shown."""
    elsewhere = await make_salon(session, name="Riverside")
    await book(
        session,
        elsewhere,
        specialist=elsewhere.anna,
        chair=elsewhere.chairs[0],
        start=at(TUESDAY, "12:00"),
        client=salon.client,
    )
    mine = await slots(availability, salon, specialist=salon.anna, client=salon.client)
    assert mine == ["10:00", "10:15", "10:30", "10:45", "11:00"]
    theirs = await slots(availability, salon, specialist=salon.anna, client=salon.other_client)
    assert theirs[-1] == "12:45" and "12:00" in theirs


async def test_capacity_is_checked_against_the_database(
    availability: AvailabilityService, session: AsyncSession
) -> None:
    salon = await make_salon(session, capacity=1)
    await book(
        session, salon, specialist=salon.boris, chair=salon.chairs[1], start=at(TUESDAY, "12:00")
    )
    anna = await slots(availability, salon, specialist=salon.anna)
    assert anna == ["10:00", "10:15", "10:30", "10:45", "11:00"]
    async with session.begin():
        reason, found = await availability.evaluate(
            session, **slot_query(salon, at(TUESDAY, "12:00"), specialist=salon.anna)
        )
    assert (reason, found) == (Reason.CAPACITY, [])


async def test_reschedule_ignores_the_appointment_being_moved(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    appt = await book(
        session,
        salon,
        specialist=salon.anna,
        chair=salon.chairs[0],
        start=at(TUESDAY, "10:00"),
        client=salon.client,
    )
    later = at(TUESDAY, "10:30")
    assert await candidates_at(availability, session, salon, later, specialist=salon.anna) == []
    assert await candidates_at(
        availability, session, salon, later, specialist=salon.anna, exclude=appt.id
    ) == [(salon.anna.id, salon.chairs[0].id), (salon.anna.id, salon.chairs[1].id)]


async def test_day_slots_and_dates_offer_the_moved_appointments_own_time(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    """Moving an appointment 15 minutes later overlaps its own current slot: with the
    appointment excluded those times are offered, and the shared cache is left as it was."""
    own = await book(
        session,
        salon,
        specialist=salon.anna,
        chair=salon.chairs[0],
        start=at(TUESDAY, "10:00"),
        client=salon.client,
    )
    # The rest of Anna's Tuesday (10:00-14:00) is taken by others.
    for start in ("11:30", "12:45"):
        await book(
            session, salon, specialist=salon.anna, chair=salon.chairs[1], start=at(TUESDAY, start)
        )
    args = {
        "location_id": salon.location.id,
        "service_id": salon.service.id,
        "specialist_id": salon.anna.id,
        "now": NOW,
        "client_id": salon.client.id,
    }
    # Warm the shared cache first: the excluding reads must not be served from it.
    assert await availability.day_slots(**args, day=TUESDAY) == []
    assert TUESDAY not in await availability.available_dates(**args)

    moved = await availability.day_slots(**args, day=TUESDAY, exclude_appointment_id=own.id)
    assert hhmm([o.start for o in moved]) == ["10:00", "10:15"]
    assert TUESDAY in await availability.available_dates(**args, exclude_appointment_id=own.id)

    # Nothing of that leaked into the shared view.
    assert await availability.day_slots(**args, day=TUESDAY) == []
    assert TUESDAY not in await availability.available_dates(**args)


async def test_candidates_refuses_off_grid_and_out_of_hours_starts(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    for start in (at(TUESDAY, "10:05"), at(TUESDAY, "17:00"), at(TUESDAY, "09:00")):
        assert await candidates_at(availability, session, salon, start) == [], start
    saturday = dt.date(2030, 3, 9)
    assert await candidates_at(availability, session, salon, at(saturday, "12:00")) == []
    async with session.begin():
        for start, why in (
            (at(saturday, "12:00"), Reason.CLOSED),
            (at(NOW.date(), "09:30"), Reason.NOTICE),
            (at(NOW.date() + dt.timedelta(days=31), "12:00"), Reason.HORIZON),
        ):
            reason, found = await availability.evaluate(session, **slot_query(salon, start))
            assert (reason, found) == (why, []), start


def weekdays(first: dt.date, count: int) -> list[dt.date]:
    days = [first + dt.timedelta(days=i) for i in range(count)]
    return [d for d in days if d.isoweekday() <= 5]


async def test_available_dates_over_the_horizon(
    availability: AvailabilityService, salon: Salon, session: AsyncSession, engine: AsyncEngine
) -> None:
    wednesday = dt.date(2030, 3, 6)
    thursday = dt.date(2030, 3, 7)
    session.add(Holiday(location_id=salon.location.id, date=wednesday, is_working=False))
    await session.commit()
    args = {"location_id": salon.location.id, "service_id": salon.service.id, "specialist_id": None}
    with count_queries(engine) as queries:
        dates = await availability.available_dates(**args, now=NOW)
    # Today through today + 30 inclusive.
    expected = [d for d in weekdays(NOW.date(), 31) if d != wednesday]
    assert dates == expected
    # The whole horizon in a constant number of queries (location, catalog, calendar,
    # appointments), never one per day.
    assert len(queries) <= 8
    with count_queries(engine) as queries:
        assert await availability.available_dates(**args, now=NOW) == expected
    assert queries == []
    # Both specialists off on Thursday: visible after the invalidation (catalog-wide, as every
    # catalog change does: breaks are catalog, kept in memory per catalog version).
    for spec in (salon.anna, salon.boris):
        session.add(Break(specialist_id=spec.id, date=thursday))
    await session.commit()
    await availability.invalidate()
    assert await availability.available_dates(**args, now=NOW) == [
        d for d in expected if d != thursday
    ]


async def test_available_dates_drop_a_day_the_client_cannot_use(
    availability: AvailabilityService, salon: Salon, session: AsyncSession, holds: FakeHolds
) -> None:
    args = {"location_id": salon.location.id, "service_id": salon.service.id}
    await availability.available_dates(**args, specialist_id=salon.anna.id, now=NOW)  # warm
    # Another client holds Anna's whole Tuesday: Tuesday disappears for everyone else.
    holds.held.append(
        HeldInterval(
            salon.other_client.id,
            salon.location.id,
            salon.anna.id,
            salon.chairs[0].id,
            at(TUESDAY, "10:00"),
            at(TUESDAY, "14:00"),
            at(TUESDAY, "14:00"),
        )
    )
    mine = await availability.available_dates(
        **args, specialist_id=salon.anna.id, now=NOW, client_id=salon.client.id
    )
    theirs = await availability.available_dates(
        **args, specialist_id=salon.anna.id, now=NOW, client_id=salon.other_client.id
    )
    assert TUESDAY not in mine and TUESDAY in theirs
    assert dt.date(2030, 3, 6) in mine


async def test_works_without_redis(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    holds: FakeHolds,
    salon: Salon,
) -> None:
    """The cache is an optimisation: with Redis unreachable, slots are computed from the DB."""
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        service = AvailabilityService(session_factory, dead, settings, holds)
        assert (await slots(service, salon))[:2] == ["10:00", "10:15"]
        dates = await service.available_dates(
            location_id=salon.location.id, service_id=salon.service.id, specialist_id=None, now=NOW
        )
        assert dates[:2] == [dt.date(2030, 3, 4), TUESDAY]
        await service.invalidate(location_id=salon.location.id)  # logged, not raised
    finally:
        await dead.aclose()


async def test_real_hold_store_feeds_the_engine(
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    settings: Settings,
    salon: Salon,
    session: AsyncSession,
) -> None:
    """With the Redis hold store as the hold source: a hold taken through it hides the time
    from other clients (cached or not) and from their `candidates`, not from its owner."""
    store = HoldStore(redis, prefix=settings.redis_prefix, ttl_seconds=600)
    availability = AvailabilityService(session_factory, redis, settings, store)
    assert "10:00" in await slots(availability, salon, client=salon.other_client)  # cached
    start = at(TUESDAY, "10:00")
    async with session.begin():
        (first, *_) = await availability.candidates(session, **slot_query(salon, start))
    await store.acquire(
        client_id=salon.client.id,
        query=SlotQuery(salon.location.id, salon.service.id),
        candidate=first,
    )
    assert "10:00" not in await slots(availability, salon, client=salon.other_client)
    assert "10:00" in await slots(availability, salon, client=salon.client)
    assert await candidates_at(availability, session, salon, start, client=salon.other_client) == []
    assert await candidates_at(availability, session, salon, start, client=salon.client) != []
    await store.release(salon.client.id)
    assert "10:00" in await slots(availability, salon, client=salon.other_client)


async def test_a_read_takes_the_holds_of_its_location_and_specialists_only(
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    settings: Settings,
    salon: Salon,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anna works at Center and at North; Boris of North works at North only. Their holds at
    North: Anna's hides her time at Center (she is busy wherever she is held), Boris's has no
    bearing on Center and is not even read once Center's specialists are known; and when the
    catalog changed after they were picked, every hold is read again."""
    north = await anna_also_at_north(session, salon)
    store = HoldStore(redis, prefix=settings.redis_prefix, ttl_seconds=600)
    availability = AvailabilityService(session_factory, redis, settings, store)
    read: list[set[int]] = []  # the specialists of the live holds each read took
    held_between = availability_module.held_between
    ever = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))

    def seen(members: Sequence[Any], start: dt.datetime, end: dt.datetime) -> Any:
        read.append({h.specialist_id for h in held_between(members, *ever)})
        return held_between(members, start, end)

    monkeypatch.setattr(availability_module, "held_between", seen)
    before = await slots(availability, salon, client=salon.other_client)
    assert "11:00" in before
    north_query = SlotQuery(north.location.id, north.service.id)
    for specialist in (salon.anna, north.boris):
        async with session.begin():
            [first, *_] = await availability.candidates(
                session,
                location_id=north.location.id,
                service_id=north.service.id,
                specialist_id=specialist.id,
                start=at(TUESDAY, "12:00"),
                now=NOW,
                client_id=salon.client.id,
            )
        await store.acquire(client_id=specialist.id * 1000, query=north_query, candidate=first)
    read.clear()
    after = await slots(availability, salon, client=salon.other_client)  # cached, overlaid
    assert read == [{salon.anna.id}]  # Center's and Anna's holds: not Boris's at North
    assert "11:00" not in after  # only Anna works at 11:00 here, and she is held until 13:15
    # Every live hold read (no scope): the same times.
    with monkeypatch.context() as unscoped:
        unscoped.setattr(availability, "_hold_scope", lambda query, cached: None)
        assert await slots(availability, salon, client=salon.other_client) == after
    assert read[-1] == {salon.anna.id, north.boris.id}
    # Anna alone: her holds wherever she is, and Center's.
    read.clear()
    only_anna = await slots(availability, salon, specialist=salon.anna, client=salon.other_client)
    assert read == [{salon.anna.id}]
    assert "11:00" not in only_anna and "10:00" in only_anna
    everything = store.holds_between
    again: list[int] = []

    async def read_again(*args: Any) -> Any:
        found = await everything(*args)
        again.append(len(found))
        return found

    monkeypatch.setattr(store, "holds_between", read_again)
    # A date built elsewhere on a catalog this process does not know yet (same version, a
    # change not announced): a specialist of its times is outside the scope, so every hold
    # is read again.
    boris_only = frozenset({salon.boris.id})
    with monkeypatch.context() as narrow:
        narrow.setattr(
            availability,
            "_hold_scope",
            lambda query, cached: availability_module._HoldScope(
                hold_scope(salon.location.id, boris_only), boris_only, None
            ),
        )
        assert await slots(availability, salon, client=salon.other_client) == after
    assert again == [2]
    # The catalog changed since the specialists were picked: every hold is read again.
    snapshot = availability.catalog.known()
    assert snapshot is not None
    monkeypatch.setattr(snapshot, "version", "stale")
    assert await slots(availability, salon, client=salon.other_client) == after
    assert again == [2, 2]


async def test_a_hold_in_two_of_the_sets_read_counts_once(
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    settings: Settings,
    salon: Salon,
    session: AsyncSession,
) -> None:
    """Anna's hold at Center is in Center's set and in Anna's, both of which a read takes: it
    takes one chair, and Boris keeps the other at that time."""
    store = HoldStore(redis, prefix=settings.redis_prefix, ttl_seconds=600)
    availability = AvailabilityService(session_factory, redis, settings, store)
    await slots(availability, salon)  # Center's specialists in memory: the read is scoped
    async with session.begin():
        [anna, *_] = await availability.candidates(
            session, **slot_query(salon, at(TUESDAY, "12:00"), specialist=salon.anna)
        )
    await store.acquire(
        client_id=salon.client.id,
        query=SlotQuery(salon.location.id, salon.service.id),
        candidate=anna,
    )
    times = await slots(availability, salon, client=salon.other_client)
    assert "12:00" in times  # Boris, on the chair Anna's hold leaves
    assert "11:00" not in times  # Anna's (she alone works at 11:00)


async def test_day_view_completes_what_the_calendar_cached(
    availability: AvailabilityService, salon: Salon, redis: Redis, redis_prefix: str
) -> None:
    """The calendar caches only each date's first free time; opening the date must still show
    every time, identical to a computation from scratch."""
    dates = await availability.available_dates(
        location_id=salon.location.id, service_id=salon.service.id, specialist_id=None, now=NOW
    )
    assert TUESDAY in dates
    await availability.settle()  # the entries are written after the answer
    entries = [k async for k in redis.scan_iter(match=f"{redis_prefix}:slots:day:*")]
    assert len(entries) == 31  # today through today + 30
    after_calendar = await slots(availability, salon)
    await availability.invalidate(location_id=salon.location.id)
    from_scratch = await slots(availability, salon)
    assert after_calendar == from_scratch
    assert len(from_scratch) == 28  # 10:00 .. 16:45 every 15 minutes


async def test_date_choices_list_full_working_dates(
    availability: AvailabilityService, salon: Salon, session: AsyncSession
) -> None:
    """A working date with no free time is `full` (the waitlist's way in); a date nobody
    works, or today once its working hours are past the minimum notice, is neither."""
    wednesday = dt.date(2030, 3, 6)
    for start in ("10:00", "11:15", "12:30"):  # Anna's whole Tuesday (10:00-14:00)
        await book(
            session, salon, specialist=salon.anna, chair=salon.chairs[0], start=at(TUESDAY, start)
        )
    session.add(Holiday(location_id=salon.location.id, date=wednesday, is_working=False))
    await session.commit()
    args = {
        "location_id": salon.location.id,
        "service_id": salon.service.id,
        "specialist_id": salon.anna.id,
        "client_id": salon.client.id,
    }
    for _ in range(2):  # computed, then from the cache
        choices = await availability.date_choices(**args, now=NOW)
        assert choices.full == [TUESDAY]
        assert TUESDAY not in choices.free and NOW.date() in choices.free
        assert wednesday not in choices.free and dt.date(2030, 3, 9) not in choices.free
    # Any specialist: Boris still has Tuesday afternoon, so it is free, not full.
    anyone = await availability.date_choices(**{**args, "specialist_id": None}, now=NOW)
    assert TUESDAY in anyone.free and anyone.full == []
    # Monday 13:30: Anna's last start went by with the notice; today is not offered as full.
    late = dt.datetime(2030, 3, 4, 13, 30, tzinfo=MSK)
    choices = await availability.date_choices(**args, now=late)
    assert NOW.date() not in choices.free and choices.full == [TUESDAY]


async def test_today_is_full_only_while_its_last_start_is_still_ahead(
    availability: AvailabilityService, salon: Salon, holds: FakeHolds
) -> None:
    """Today counts as full by its last possible start, not by when work ends: Anna works
    10:00-14:00 and a haircut blocks 75 minutes, so 12:45 is her last start. At 11:44 (notice
    60 minutes) 12:45 is still ahead, so a fully booked today is full; at 11:50 nothing can
    start any more, so today is neither free nor full, though she works until 14:00."""
    monday = NOW.date()
    args = {
        "location_id": salon.location.id,
        "service_id": salon.service.id,
        "specialist_id": salon.anna.id,
        "client_id": salon.client.id,
    }
    holds.held.append(
        HeldInterval(
            client_id=salon.other_client.id,
            location_id=salon.location.id,
            specialist_id=salon.anna.id,
            workplace_id=salon.chairs[0].id,
            start=at(monday, "12:45"),
            end=at(monday, "13:45"),
            blocked_until=at(monday, "14:00"),
        )
    )  # another client holds the last start
    still = await availability.date_choices(**args, now=dt.datetime(2030, 3, 4, 11, 44, tzinfo=MSK))
    assert monday not in still.free and monday in still.full
    await availability.invalidate(location_id=salon.location.id)
    past = await availability.date_choices(**args, now=dt.datetime(2030, 3, 4, 11, 50, tzinfo=MSK))
    assert monday not in past.free and monday not in past.full
    assert TUESDAY in past.free
