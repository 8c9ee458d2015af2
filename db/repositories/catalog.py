"""Read queries that feed the slot engine. Queries only: nothing here commits.

A day or a whole booking horizon is loaded in a handful of queries (catalog, calendar,
appointments), never one query per day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, literal, or_, select, true
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
from db.base import Base
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
    break_of,
    holiday_of,
    load_weekly_hours,
    readable,
    shift_of,
)

# No appointment blocks longer than this; it bounds the index range scan for overlapping
# appointments (and the slice of a date in a horizon's list).
LONGEST_BLOCK = timedelta(days=1)
_APPT = Base.metadata.tables["appointments"]


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


async def _calendar_of_date(
    session: AsyncSession, location_id: int, specialist_ids: list[int], day: date
) -> Calendar:
    """`load_calendar` of one date in one query: the date's holiday (at most one: unique per
    location and date) beside each of its breaks, both outer-joined to one row."""
    one = select(literal(1).label("one")).subquery()
    stmt = (
        select(HolidayModel, Break)
        .select_from(one)
        .outerjoin(
            HolidayModel,
            and_(HolidayModel.location_id == location_id, HolidayModel.date == day),
        )
        .outerjoin(
            Break,
            and_(Break.specialist_id.in_(specialist_ids), Break.date == day)
            if specialist_ids
            else false(),
        )
    )
    holidays: dict[date, Holiday] = {}
    breaks: dict[tuple[int, date], list[BreakRow]] = defaultdict(list)
    seen: set[int] = set()
    for h, b in (await session.execute(stmt)).tuples():
        if h is not None and h.date not in holidays:
            holiday = readable("holidays", h.id, holiday_of, h)
            if holiday is not None:
                holidays[h.date] = holiday
        if b is not None and b.id not in seen:
            seen.add(b.id)
            row = readable("breaks", b.id, break_of, b)
            if row is not None:
                breaks[(b.specialist_id, b.date)].append(row)
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


def busy_condition(
    *,
    start: datetime,
    end: datetime,
    location_id: int | None = None,
    workplace_ids: Iterable[int] | None = None,
    specialist_ids: Iterable[int] = (),
    client_id: int | None = None,
) -> ColumnElement[bool] | None:
    """`load_busy`'s filter (beyond the status) as one SQL condition; None when it names
    nobody (no location, specialist or client)."""
    who = []
    if location_id is not None:
        if workplace_ids is None:
            who.append(_APPT.c.location_id == location_id)
        else:
            who.append(
                and_(
                    _APPT.c.location_id == location_id,
                    _APPT.c.workplace_id.in_(list(workplace_ids)),
                )
            )
    ids = list(specialist_ids)
    if ids:
        who.append(_APPT.c.specialist_id.in_(ids))
    if client_id is not None:
        who.append(_APPT.c.client_id == client_id)
    if not who:
        return None
    return and_(
        _APPT.c.start_time < end,
        # The lower bound lets the (…, start_time) indexes do a range scan.
        _APPT.c.start_time > start - LONGEST_BLOCK,
        _APPT.c.blocked_until > start,
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


async def load_busy_where(
    session: AsyncSession, condition: ColumnElement[bool]
) -> list[BusyAppointment]:
    """The active appointments meeting `condition` (`busy_condition`'s), in start order."""
    rows = (
        await session.execute(
            select(*BUSY_COLUMNS)
            .where(_APPT.c.status != AppointmentStatus.CANCELLED, condition)
            .order_by(_APPT.c.start_time, _APPT.c.id)
        )
    ).all()
    return [BusyAppointment(*row) for row in rows]
