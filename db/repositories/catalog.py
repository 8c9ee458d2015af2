"""Read queries that feed the slot engine. Queries only: nothing here commits.

A day or a whole booking horizon is loaded in a handful of queries (catalog, calendar,
appointments), never one query per day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    false,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.catalog import (
    BreakRow,
    BusyAppointment,
    Calendar,
    Holiday,
    ServiceCatalog,
    Shift,
)
from bot.domain.pricing import ServiceTerms, SpecialistLink, WorkplaceLink
from bot.domain.statuses import AppointmentStatus
from bot.domain.walltime import WallTime
from db.base import Base
from db.driver import fetch
from db.models import (
    Break,
    Location,
    Service,
    ServiceSpecialist,
    Specialist,
    SpecialistSchedule,
    Workplace,
    WorkplaceService,
)
from db.models import Holiday as HolidayModel
from db.repositories.schedule_rows import (
    break_from,
    break_of,
    holiday_from,
    holiday_of,
    load_weekly_hours,
    readable,
    shift_of,
)

# No appointment blocks longer than this; it bounds the index range scan for overlapping
# appointments (and the slice of a date in a horizon's list).
LONGEST_BLOCK = timedelta(days=1)
_APPT = Base.metadata.tables["appointments"]
_HOLIDAYS = Base.metadata.tables["holidays"]
_BREAKS = Base.metadata.tables["breaks"]


@dataclass(frozen=True, slots=True)
class LocationMeta:
    location_id: int
    timezone: str
    capacity: int | None
    is_active: bool


async def location_meta(session: AsyncSession, location_id: int) -> LocationMeta | None:
    row = (
        await session.execute(
            select(Location.id, Location.timezone, Location.capacity, Location.is_active).where(
                Location.id == location_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return LocationMeta(row.id, row.timezone, row.capacity, row.is_active)


async def specialist_locations(session: AsyncSession) -> dict[int, list[tuple[int, str]]]:
    """Specialist id -> every location where they have a weekly schedule row (day off or
    not), with its time zone, in location id order: where an appointment of theirs can show
    as busy. One query for all specialists."""
    rows = await session.execute(
        select(SpecialistSchedule.specialist_id, Location.id, Location.timezone)
        .join(Location, Location.id == SpecialistSchedule.location_id)
        .distinct()
        .order_by(SpecialistSchedule.specialist_id, Location.id)
    )
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for specialist_id, location_id, timezone in rows:
        out[int(specialist_id)].append((int(location_id), str(timezone)))
    return dict(out)


async def load_service_catalog(
    session: AsyncSession, location_id: int, service_id: int
) -> ServiceCatalog | None:
    """The static catalog for booking `service_id` at `location_id`, or None when the location
    or the service is missing or inactive. Only active rows are returned. Four queries."""
    head = (
        await session.execute(
            select(
                Location.timezone,
                Location.capacity,
                Service.duration_min,
                Service.break_min,
                Service.price,
            )
            .select_from(Location)
            .join(Service, true())  # one row of each: a deliberate cross join
            .where(
                Location.id == location_id,
                Location.is_active.is_(True),
                Service.id == service_id,
                Service.is_active.is_(True),
            )
        )
    ).one_or_none()
    if head is None:
        return None
    weekly = (await load_weekly_hours(session, [location_id]))[location_id]
    workplaces = tuple(
        WorkplaceLink(r.workplace_id, r.price, r.duration_min, r.break_min)
        for r in await session.execute(
            select(
                WorkplaceService.workplace_id,
                WorkplaceService.price,
                WorkplaceService.duration_min,
                WorkplaceService.break_min,
            )
            .join(Workplace, Workplace.id == WorkplaceService.workplace_id)
            .where(
                Workplace.location_id == location_id,
                Workplace.is_active.is_(True),
                WorkplaceService.service_id == service_id,
                WorkplaceService.is_active.is_(True),
            )
            .order_by(WorkplaceService.workplace_id)
        )
    )
    # Qualified specialists with their shifts at this location (none: they never work here).
    links: dict[int, SpecialistLink] = {}
    shifts: dict[tuple[int, int], Shift] = {}
    rows = await session.execute(
        select(
            SpecialistSchedule.id,
            ServiceSpecialist.specialist_id,
            ServiceSpecialist.custom_price,
            ServiceSpecialist.custom_duration,
            SpecialistSchedule.day_of_week,
            SpecialistSchedule.start_time,
            SpecialistSchedule.end_time,
            SpecialistSchedule.is_day_off,
            SpecialistSchedule.workplace_id,
        )
        .join(Specialist, Specialist.id == ServiceSpecialist.specialist_id)
        .join(
            SpecialistSchedule,
            (SpecialistSchedule.specialist_id == ServiceSpecialist.specialist_id)
            & (SpecialistSchedule.location_id == location_id),
        )
        .where(
            ServiceSpecialist.service_id == service_id,
            ServiceSpecialist.is_active.is_(True),
            Specialist.is_active.is_(True),
        )
        .order_by(ServiceSpecialist.specialist_id, SpecialistSchedule.day_of_week)
    )
    for link in rows:
        links[link.specialist_id] = SpecialistLink(
            link.specialist_id, link.custom_price, link.custom_duration
        )
        shift = readable("specialist_schedules", link.id, shift_of, link)
        if shift is not None:  # else that weekday is not worked, rather than the catalog failing
            shifts[(link.specialist_id, link.day_of_week)] = shift
    return ServiceCatalog(
        location_id=location_id,
        timezone=head.timezone,
        capacity=head.capacity,
        service=ServiceTerms(service_id, head.duration_min, head.break_min, head.price),
        weekly_hours=weekly,
        workplaces=workplaces,
        specialists=tuple(links.values()),
        shifts=shifts,
    )


async def load_calendar(
    session: AsyncSession,
    location_id: int,
    specialist_ids: Iterable[int],
    first: date,
    last: date,
) -> Calendar:
    """Holidays of the location and breaks of the specialists for dates in [first, last]. One
    query for a single date (the booking's re-check under its locks), two for a range."""
    ids = list(specialist_ids)
    if first == last:
        return await _calendar_of_date(session, location_id, ids, first)
    holidays: dict[date, Holiday] = {}
    for h in (
        await session.execute(
            select(HolidayModel).where(
                HolidayModel.location_id == location_id,
                HolidayModel.date >= first,
                HolidayModel.date <= last,
            )
        )
    ).scalars():
        holiday = readable("holidays", h.id, holiday_of, h)
        if holiday is not None:
            holidays[h.date] = holiday
    breaks: dict[tuple[int, date], list[BreakRow]] = defaultdict(list)
    if ids:
        for b in (
            await session.execute(
                select(Break).where(
                    Break.specialist_id.in_(ids), Break.date >= first, Break.date <= last
                )
            )
        ).scalars():
            row = readable("breaks", b.id, break_of, b)
            if row is not None:
                breaks[(b.specialist_id, b.date)].append(row)
    return Calendar(holidays=holidays, breaks={k: tuple(v) for k, v in breaks.items()})


def _int_array(name: str) -> BindParameter[Any]:
    """A parameter bound as one integer array (`= ANY(...)`, not an expanding IN list: the
    statement's text does not depend on the list's length, and `db.driver.fetch` can run it)."""
    array: Any = ARRAY(Integer)
    return bindparam(name, type_=array)


def _calendar_of_date_statement(*, with_breaks: bool) -> Select[Any]:
    """`_calendar_of_date`'s query (Core, on the tables): the date's holiday beside each of its
    breaks, both outer-joined to one row; parameters `location`, `day` and (`with_breaks`)
    the array `specialists`. The times come as text (`WallClock`'s wire format), since
    `db.driver.fetch` runs it without SQLAlchemy's result processing."""
    one = select(literal(1).label("one")).subquery()
    return (
        select(
            _HOLIDAYS.c.id,
            _HOLIDAYS.c.date,
            _HOLIDAYS.c.is_working,
            _HOLIDAYS.c.start_time,
            _HOLIDAYS.c.end_time,
            _BREAKS.c.id,
            _BREAKS.c.specialist_id,
            _BREAKS.c.date,
            _BREAKS.c.start_time,
            _BREAKS.c.end_time,
        )
        .select_from(one)
        .outerjoin(
            _HOLIDAYS,
            and_(
                _HOLIDAYS.c.location_id == bindparam("location"),
                _HOLIDAYS.c.date == bindparam("day"),
            ),
        )
        .outerjoin(
            _BREAKS,
            and_(
                _BREAKS.c.specialist_id == any_(_int_array("specialists")),
                _BREAKS.c.date == bindparam("day"),
            )
            if with_breaks
            else false(),
        )
    )


# Every confirm runs one under its locks: built once.
_CALENDAR_OF_DATE = _calendar_of_date_statement(with_breaks=True)
_HOLIDAY_OF_DATE = _calendar_of_date_statement(with_breaks=False)


def _wall(text: str | None) -> WallTime | None:
    """A `WallClock` column as `fetch` returns it (its text) -> `WallTime`."""
    return None if text is None else WallTime.parse(text)


async def _calendar_of_date(
    session: AsyncSession, location_id: int, specialist_ids: list[int], day: date
) -> Calendar:
    """`load_calendar` of one date in one query: the date's holiday (at most one: unique per
    location and date) beside each of its breaks, both outer-joined to one row."""
    params: dict[str, Any] = {"location": location_id, "day": day}
    if specialist_ids:
        params["specialists"] = specialist_ids
    stmt = _CALENDAR_OF_DATE if specialist_ids else _HOLIDAY_OF_DATE
    holidays: dict[date, Holiday] = {}
    breaks: dict[tuple[int, date], list[BreakRow]] = defaultdict(list)
    seen: set[int] = set()
    for row in await fetch(session, stmt, params):
        holiday_id, break_id = row[0], row[5]
        if holiday_id is not None and row[1] not in holidays:
            hours = (row[1], row[2], _wall(row[3]), _wall(row[4]))
            holiday = readable("holidays", holiday_id, holiday_from, hours)
            if holiday is not None:
                holidays[row[1]] = holiday
        if break_id is not None and break_id not in seen:
            seen.add(break_id)
            hours = (row[6], row[7], _wall(row[8]), _wall(row[9]))
            brk = readable("breaks", break_id, break_from, hours)
            if brk is not None:
                breaks[(row[6], row[7])].append(brk)
    return Calendar(holidays=holidays, breaks={k: tuple(v) for k, v in breaks.items()})


async def load_calendar_since(session: AsyncSession, location_id: int, since: date) -> Calendar:
    """The location's holidays and every specialist's breaks on `since` or later (the whole
    future calendar, for the in-process catalog snapshot). Two queries."""
    holidays: dict[date, Holiday] = {}
    for h in (
        await session.execute(
            select(HolidayModel).where(
                HolidayModel.location_id == location_id, HolidayModel.date >= since
            )
        )
    ).scalars():
        holiday = readable("holidays", h.id, holiday_of, h)
        if holiday is not None:
            holidays[h.date] = holiday
    breaks: dict[tuple[int, date], list[BreakRow]] = defaultdict(list)
    for b in (await session.execute(select(Break).where(Break.date >= since))).scalars():
        row = readable("breaks", b.id, break_of, b)
        if row is not None:
            breaks[(b.specialist_id, b.date)].append(row)
    return Calendar(holidays=holidays, breaks={k: tuple(v) for k, v in breaks.items()})


@dataclass(frozen=True, slots=True)
class BusyFilter:
    """`load_busy`'s filter (beyond the status): which of its parts it names (`shape`: the
    location, its workplaces, specialists, the client) and their values (`params`, the
    statement's parameters), so that each shape's statement is built once."""

    shape: tuple[bool, bool, bool, bool]
    params: dict[str, Any] = field(compare=False)


def busy_condition(
    *,
    start: datetime,
    end: datetime,
    location_id: int | None = None,
    workplace_ids: Iterable[int] | None = None,
    specialist_ids: Iterable[int] = (),
    client_id: int | None = None,
) -> BusyFilter | None:
    """`load_busy`'s filter (beyond the status), for `load_busy_where` and
    `load_busy_and_workplace_day`; None when it names nobody (no location, specialist or
    client)."""
    ids = list(specialist_ids)
    if location_id is None and not ids and client_id is None:
        return None
    # The lower bound lets the (…, start_time) indexes do a range scan.
    params: dict[str, Any] = {"b_start": start, "b_end": end, "b_after": start - LONGEST_BLOCK}
    if location_id is not None:
        params["b_location"] = location_id
        if workplace_ids is not None:
            params["b_workplaces"] = list(workplace_ids)
    if ids:
        params["b_specialists"] = ids
    if client_id is not None:
        params["b_client"] = client_id
    shape = (
        location_id is not None,
        location_id is not None and workplace_ids is not None,
        bool(ids),
        client_id is not None,
    )
    return BusyFilter(shape, params)


@cache
def busy_where(shape: tuple[bool, bool, bool, bool]) -> ColumnElement[bool]:
    """The SQL condition of a `BusyFilter` of this shape, on its parameters (built once per
    shape)."""
    has_location, has_workplaces, has_specialists, has_client = shape
    who: list[ColumnElement[bool]] = []
    if has_location:
        here = _APPT.c.location_id == bindparam("b_location")
        if has_workplaces:
            here = and_(here, _APPT.c.workplace_id == any_(_int_array("b_workplaces")))
        who.append(here)
    if has_specialists:
        who.append(_APPT.c.specialist_id == any_(_int_array("b_specialists")))
    if has_client:
        who.append(_APPT.c.client_id == bindparam("b_client"))
    return and_(
        _APPT.c.start_time < bindparam("b_end"),
        _APPT.c.start_time > bindparam("b_after"),
        _APPT.c.blocked_until > bindparam("b_start"),
        or_(*who),
    )


# `load_busy`'s columns, in `BusyAppointment`'s order (Core, on the table: the slot engine's
# reads build no ORM statement and no ORM row).
BUSY_COLUMNS = (
    _APPT.c.id,
    _APPT.c.location_id,
    _APPT.c.specialist_id,
    _APPT.c.workplace_id,
    _APPT.c.client_id,
    _APPT.c.start_time,
    _APPT.c.end_time,
    _APPT.c.blocked_until,
    _APPT.c.booking_key,
)


async def load_busy(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    location_id: int | None = None,
    workplace_ids: Iterable[int] | None = None,
    specialist_ids: Iterable[int] = (),
    client_id: int | None = None,
) -> list[BusyAppointment]:
    """Active appointments whose blocked interval meets [start, end) and that are at the
    location (only in `workplace_ids`, when given), or of one of the specialists (wherever
    they are), or of the client.

    Without a capacity to check, only the workplaces hosting the service matter at the
    location; leaving the others out keeps a busy location's horizon small."""
    condition = busy_condition(
        start=start,
        end=end,
        location_id=location_id,
        workplace_ids=workplace_ids,
        specialist_ids=specialist_ids,
        client_id=client_id,
    )
    return [] if condition is None else await load_busy_where(session, condition)


@cache
def _busy_select(shape: tuple[bool, bool, bool, bool]) -> Select[Any]:
    """`load_busy_where`'s statement for a `BusyFilter` of this shape (built once per shape)."""
    return (
        select(*BUSY_COLUMNS)
        .where(_APPT.c.status != AppointmentStatus.CANCELLED, busy_where(shape))
        .order_by(_APPT.c.start_time, _APPT.c.id)
    )


async def load_busy_where(session: AsyncSession, busy: BusyFilter) -> list[BusyAppointment]:
    """The active appointments meeting `busy` (`busy_condition`'s), in start order."""
    rows = await fetch(session, _busy_select(busy.shape), busy.params)
    return [BusyAppointment(*row) for row in rows]
