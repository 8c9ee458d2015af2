"""What re-assigning workplaces needs to know about a location over a window: which workplaces
host each service, and the active appointments placed there. Queries only: nothing commits."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    extract,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.assignment import PlacedAppointment, WorkplaceDay
from bot.domain.catalog import BusyAppointment
from bot.domain.statuses import AppointmentStatus
from db.base import Base
from db.driver import fetch
from db.models import Appointment, Workplace, WorkplaceService
from db.repositories.catalog import BUSY_COLUMNS, LONGEST_BLOCK, BusyFilter, busy_where

# The slot engine's reads of the day, on the tables (Core: no ORM statement, no ORM rows).
_APPT = Base.metadata.tables["appointments"]
_LOC = Base.metadata.tables["locations"]
_SCHED = Base.metadata.tables["specialist_schedules"]


async def load_workplace_hosts(
    session: AsyncSession, location_id: int
) -> dict[int, frozenset[int]]:
    """The location's service id -> ids of the active workplaces hosting it (active links
    only): catalog data, which the slot engine keeps in the catalog snapshot. One query."""
    hosts: dict[int, set[int]] = defaultdict(set)
    for service_id, workplace_id in await session.execute(
        select(WorkplaceService.service_id, WorkplaceService.workplace_id)
        .join(Workplace, Workplace.id == WorkplaceService.workplace_id)
        .where(
            Workplace.location_id == location_id,
            Workplace.is_active.is_(True),
            WorkplaceService.is_active.is_(True),
        )
    ):
        hosts[service_id].add(workplace_id)
    return {s: frozenset(ws) for s, ws in hosts.items()}


def _pinned() -> ColumnElement[bool]:
    """Whether an appointment must stay on its workplace: an admin pinned it, or its
    specialist's schedule row for that local weekday pins a workplace (needs `Location`
    joined)."""
    local_weekday = extract("isodow", func.timezone(_LOC.c.timezone, _APPT.c.start_time))
    schedule_pin = exists().where(
        _SCHED.c.specialist_id == _APPT.c.specialist_id,
        _SCHED.c.location_id == _APPT.c.location_id,
        _SCHED.c.day_of_week == local_weekday,
        _SCHED.c.workplace_id.is_not(None),
    )
    return or_(_APPT.c.workplace_pinned, schedule_pin)


# The location's appointments meeting a window (beyond the status), on the parameters that
# `_at_location` gives.
_AT_LOCATION = and_(
    _APPT.c.location_id == bindparam("d_location"),
    _APPT.c.start_time < bindparam("d_end"),
    _APPT.c.start_time > bindparam("d_after"),
    _APPT.c.blocked_until > bindparam("d_start"),
)


def _at_location(location_id: int, window: tuple[datetime, datetime]) -> dict[str, Any]:
    """`_AT_LOCATION`'s parameters: the location's appointments meeting `window`."""
    start, end = window
    return {
        "d_location": location_id,
        "d_start": start,
        "d_end": end,
        "d_after": start - LONGEST_BLOCK,
    }


# `load_workplace_day`'s columns, in `PlacedAppointment`'s order.
_PLACED_COLUMNS = (
    _APPT.c.id,
    _APPT.c.service_id,
    _APPT.c.workplace_id,
    _APPT.c.start_time,
    _APPT.c.blocked_until,
    _pinned(),
    _APPT.c.booking_key,
)


# `load_workplace_day`'s statement, built once.
_WORKPLACE_DAY = (
    select(*_PLACED_COLUMNS)
    .select_from(_APPT.join(_LOC, _LOC.c.id == _APPT.c.location_id))
    .where(_APPT.c.status != AppointmentStatus.CANCELLED, _AT_LOCATION)
    .order_by(_APPT.c.start_time, _APPT.c.id)
)


async def load_workplace_day(
    session: AsyncSession,
    location_id: int,
    window: tuple[datetime, datetime],
    hosts: dict[int, frozenset[int]] | None = None,
) -> WorkplaceDay:
    """The location's service -> hosting workplaces map (`hosts` when the caller has it from
    the catalog in memory, else `load_workplace_hosts`) and its active appointments meeting
    `window`, each marked pinned when an admin pinned it or its specialist's schedule row for
    that local weekday pins a workplace. One query, two without `hosts`; the rows come straight
    from the driver (`db.driver.fetch`): a month's worth is a few hundred."""
    if hosts is None:
        hosts = await load_workplace_hosts(session, location_id)
    rows = await fetch(session, _WORKPLACE_DAY, _at_location(location_id, window))
    placed = tuple(PlacedAppointment(*row) for row in rows)
    return WorkplaceDay(window=window, hosts=hosts, appointments=placed)


@cache
def _busy_and_day_select(shape: tuple[bool, bool, bool, bool]) -> Select[Any]:
    """`load_busy_and_workplace_day`'s statement for a `BusyFilter` of this shape (built once
    per shape): each row is marked `in_busy` and `at_day`."""
    busy = busy_where(shape)
    in_busy, at_day = busy.label("in_busy"), _AT_LOCATION.label("at_day")
    return (
        select(*BUSY_COLUMNS, *_PLACED_COLUMNS[1:], in_busy, at_day)
        .select_from(_APPT.join(_LOC, _LOC.c.id == _APPT.c.location_id))
        .where(_APPT.c.status != AppointmentStatus.CANCELLED, or_(busy, _AT_LOCATION))
        .order_by(_APPT.c.start_time, _APPT.c.id)
    )


async def load_busy_and_workplace_day(
    session: AsyncSession,
    busy: BusyFilter,
    location_id: int,
    window: tuple[datetime, datetime],
    hosts: dict[int, frozenset[int]],
) -> tuple[list[BusyAppointment], WorkplaceDay]:
    """`load_busy` (its filter `busy`, from `busy_condition`) and `load_workplace_day` of the
    location over `window` (with `hosts`) in one query: each row says which of the two it
    belongs to (or both), so each list is exactly what its own query returns."""
    params = {**busy.params, **_at_location(location_id, window)}
    rows = await fetch(session, _busy_and_day_select(busy.shape), params)
    appointments: list[BusyAppointment] = []
    placed: list[PlacedAppointment] = []
    for row in rows:
        (aid, _loc, _spec, workplace, _client, start, _end, blocked, key) = row[:9]
        service_id, _w, _s, _b, pinned, _k, is_busy, is_placed = row[9:]
        if is_busy:
            appointments.append(BusyAppointment(*row[:9]))
        if is_placed:
            placed.append(
                PlacedAppointment(aid, service_id, workplace, start, blocked, bool(pinned), key)
            )
    return appointments, WorkplaceDay(window=window, hosts=hosts, appointments=tuple(placed))


async def location_workplace_ids(session: AsyncSession, location_id: int) -> list[int]:
    """Every workplace of the location (active or not), in id order."""
    rows = await session.execute(
        select(Workplace.id).where(Workplace.location_id == location_id).order_by(Workplace.id)
    )
    return [int(r[0]) for r in rows]


async def move_workplaces(session: AsyncSession, moves: dict[int, int]) -> dict[int, int]:
    """Give appointments new workplaces (appointment id -> workplace id). Moves that swap
    workplaces pass through overlapping states, so the workplace exclusion constraint is
    deferred for them and checked again (IMMEDIATE) before returning: an overlap left behind
    raises sqlstate 23P01 here, inside the caller's transaction. Returns the moved
    appointments' previous workplaces (appointment id -> workplace id)."""
    if not moves:
        return {}
    previous = {
        int(i): int(w)
        for i, w in await session.execute(
            select(Appointment.id, Appointment.workplace_id).where(Appointment.id.in_(list(moves)))
        )
    }
    await session.execute(_SET_DEFERRED)
    for appointment_id, workplace_id in sorted(moves.items()):
        await session.execute(
            update(Appointment)
            .where(and_(Appointment.id == appointment_id, Appointment.status != "cancelled"))
            .values(workplace_id=workplace_id)
        )
    await session.execute(_SET_IMMEDIATE)
    return {i: w for i, w in previous.items() if moves[i] != w}


_CONSTRAINT = "ex_appointments_workplace_busy"
_SET_DEFERRED = text(f"SET CONSTRAINTS {_CONSTRAINT} DEFERRED")
_SET_IMMEDIATE = text(f"SET CONSTRAINTS {_CONSTRAINT} IMMEDIATE")


async def pin_workplace(session: AsyncSession, appointment_id: int, workplace_id: int) -> bool:
    """Put a booked appointment on `workplace_id` and pin it there (re-assignment never moves a
    pinned appointment). Flushes at once, so the workplace exclusion constraint refuses an
    overlap here (sqlstate 23P01). False when the appointment is no longer booked."""
    result = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == "booked")
        .values(workplace_id=workplace_id, workplace_pinned=True)
    )
    return bool(getattr(result, "rowcount", 0))


async def workplace_names(session: AsyncSession, workplace_ids: list[int]) -> dict[int, str]:
    """Workplace id -> name, for the given ids."""
    if not workplace_ids:
        return {}
    rows = await session.execute(
        select(Workplace.id, Workplace.name).where(Workplace.id.in_(workplace_ids))
    )
    return {int(i): str(n) for i, n in rows}
