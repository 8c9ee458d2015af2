"""Single catalog and schedule edits (the admin's changes). Queries only: nothing commits.

Each function returns the row's values before the change (None when there was no row), so the
caller can write the audit row's "before" side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.names import localized_name
from bot.domain.walltime import WallTime
from db.models import (
    Break,
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
from db.repositories.names import name_is

EntityKind = Literal["location", "workplace", "service", "specialist"]
# A service link: a workplace hosting a service, a specialist doing one.
LinkKind = Literal["workplace_service", "service_specialist"]
EditKind = EntityKind | LinkKind
# A row whose second field is the label it is sorted by.
_Labelled = TypeVar("_Labelled", bound=tuple[Any, ...])
_MODELS: dict[str, Any] = {
    "location": Location,
    "workplace": Workplace,
    "service": Service,
    "specialist": Specialist,
    "workplace_service": WorkplaceService,
    "service_specialist": ServiceSpecialist,
}
# Each kind's audit-visible columns (what `row_values` reads).
COLUMNS: dict[str, tuple[str, ...]] = {
    "location": ("name", "name_i18n", "address", "timezone", "capacity", "is_active"),
    "workplace": ("location_id", "name", "name_i18n", "type", "is_active"),
    "service": (
        "name",
        "name_i18n",
        "description",
        "duration_min",
        "break_min",
        "price",
        "is_active",
    ),
    "specialist": ("name", "name_i18n", "specialization", "tg_id", "is_active"),
    "workplace_service": (
        "workplace_id",
        "service_id",
        "price",
        "duration_min",
        "break_min",
        "is_active",
    ),
    "service_specialist": (
        "service_id",
        "specialist_id",
        "custom_price",
        "custom_duration",
        "is_active",
    ),
}


async def exists(session: AsyncSession, kind: EditKind, entity_id: int) -> bool:
    model = _MODELS[kind]
    return (await session.scalar(select(model.id).where(model.id == entity_id))) is not None


async def with_state(
    session: AsyncSession, kind: EntityKind, language: str | None = None
) -> list[tuple[int, str, bool]]:
    """Every row of the kind, active or not, as (id, name in `language` where translated,
    is_active), by that name."""
    model = _MODELS[kind]
    rows = await session.execute(select(model.id, model.name, model.name_i18n, model.is_active))
    return _by_label((int(r[0]), localized_name(r[1], r[2], language), bool(r[3])) for r in rows)


def _by_label(rows: Iterable[_Labelled]) -> list[_Labelled]:
    """Sorted by the label shown (case-insensitive), then id."""
    return sorted(rows, key=lambda r: (r[1].casefold(), r[0]))


async def set_active(
    session: AsyncSession, kind: EditKind, entity_id: int, active: bool
) -> bool | None:
    """Set `is_active`; returns the previous value, or None when there is no such row."""
    model = _MODELS[kind]
    before = await session.scalar(
        select(model.is_active).where(model.id == entity_id).with_for_update()
    )
    if before is None:
        return None
    await session.execute(update(model).where(model.id == entity_id).values(is_active=active))
    return bool(before)


def _hours(start: WallTime | None, end: WallTime | None) -> dict[str, Any] | None:
    if start is None or end is None:
        return None
    return {"start": str(start), "end": str(end)}  # 24:00 stays 24:00


async def put_holiday(
    session: AsyncSession,
    location_id: int,
    day: dt.date,
    *,
    is_working: bool,
    start: WallTime | None,
    end: WallTime | None,
    description: str | None,
) -> dict[str, Any] | None:
    """Create or replace the location's holiday on `day`."""
    row = await session.scalar(
        select(Holiday).where(Holiday.location_id == location_id, Holiday.date == day)
    )
    before = None
    if row is None:
        row = Holiday(location_id=location_id, date=day)
        session.add(row)
    else:
        before = {"is_working": row.is_working, "hours": _hours(row.start_time, row.end_time)}
    row.is_working, row.start_time, row.end_time = is_working, start, end
    row.description = description
    await session.flush()
    return before


async def add_break(
    session: AsyncSession,
    specialist_id: int,
    day: dt.date,
    *,
    start: WallTime | None,
    end: WallTime | None,
    reason: str | None,
) -> None:
    """Add a break (both times None: the specialist is off the whole date)."""
    session.add(
        Break(specialist_id=specialist_id, date=day, start_time=start, end_time=end, reason=reason)
    )
    await session.flush()


async def put_location_hours(
    session: AsyncSession,
    location_id: int,
    day_of_week: int,
    start: WallTime | None,
    end: WallTime | None,
) -> dict[str, Any] | None:
    """Set a weekday's hours (None: a day off)."""
    row = await session.scalar(
        select(LocationSchedule).where(
            LocationSchedule.location_id == location_id,
            LocationSchedule.day_of_week == day_of_week,
        )
    )
    before = None
    if row is None:
        row = LocationSchedule(location_id=location_id, day_of_week=day_of_week)
        session.add(row)
    else:
        before = {"hours": None if row.is_day_off else _hours(row.start_time, row.end_time)}
    row.start_time, row.end_time, row.is_day_off = start, end, start is None
    await session.flush()
    return before


async def put_specialist_hours(
    session: AsyncSession,
    specialist_id: int,
    location_id: int,
    day_of_week: int,
    start: WallTime | None,
    end: WallTime | None,
    workplace_id: int | None = None,
) -> dict[str, Any] | None:
    """Set the specialist's hours at the location on a weekday (None: no shift that day)."""
    where = (
        SpecialistSchedule.specialist_id == specialist_id,
        SpecialistSchedule.location_id == location_id,
        SpecialistSchedule.day_of_week == day_of_week,
    )
    row = await session.scalar(select(SpecialistSchedule).where(*where))
    before = None
    if row is not None:
        before = {"hours": None if row.is_day_off else _hours(row.start_time, row.end_time)}
    if start is None:
        await session.execute(delete(SpecialistSchedule).where(*where))
        return before
    if row is None:
        row = SpecialistSchedule(
            specialist_id=specialist_id, location_id=location_id, day_of_week=day_of_week
        )
        session.add(row)
    row.start_time, row.end_time, row.is_day_off = start, end, False
    row.workplace_id = workplace_id
    await session.flush()
    return before


async def set_capacity(
    session: AsyncSession, location_id: int, capacity: int | None
) -> dict[str, Any] | None:
    """Set the location's capacity (None or 0: no cap)."""
    row = await session.get(Location, location_id, with_for_update=True)
    if row is None:
        return None
    before = {"capacity": row.capacity}
    row.capacity = capacity
    await session.flush()
    return before


async def row_values(
    session: AsyncSession, kind: EditKind, entity_id: int
) -> dict[str, Any] | None:
    """The row's `COLUMNS[kind]` as a dict, or None when there is no such row."""
    row = await session.get(_MODELS[kind], entity_id)
    if row is None:
        return None
    return {column: getattr(row, column) for column in COLUMNS[kind]}


async def update_fields(
    session: AsyncSession, kind: EditKind, entity_id: int, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Set the columns in `values` (locked row); returns their values before, None when there
    is no such row."""
    row = await session.get(_MODELS[kind], entity_id, with_for_update=True)
    if row is None:
        return None
    before = {column: getattr(row, column) for column in values}
    for column, value in values.items():
        setattr(row, column, value)
    await session.flush()
    return before


async def workplace_pins(session: AsyncSession, workplace_id: int) -> int:
    """How many specialists' weekly schedule rows pin this workplace."""
    count = await session.scalar(
        select(func.count())
        .select_from(SpecialistSchedule)
        .where(SpecialistSchedule.workplace_id == workplace_id)
    )
    return int(count or 0)


async def insert(session: AsyncSession, kind: EditKind, values: dict[str, Any]) -> int:
    """A new row of the kind with `values`; returns its id."""
    row = _MODELS[kind](**values)
    session.add(row)
    await session.flush()
    return int(row.id)


async def name_taken(
    session: AsyncSession,
    kind: EntityKind,
    name: str,
    *,
    exclude_id: int | None = None,
    location_id: int | None = None,
) -> bool:
    """True when another row of the kind has this name (case-insensitively; workplaces within
    `location_id` only).

    First takes a transaction-scoped advisory lock on the kind and the lower-cased name, so of
    two transactions naming entries alike at once the second waits for the first to end and
    then sees its row (READ COMMITTED: each statement sees what committed before it). The
    unique constraints are case-sensitive and cannot tell "Massage" from "massage"."""
    scope = f"{location_id}:" if kind == "workplace" else ""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
        {"k": f"catalog-name:{kind}:{scope}{name.lower()}"},
    )
    model = _MODELS[kind]
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if kind == "workplace":
        query = query.where(Workplace.location_id == location_id)
    return (await session.scalar(query.limit(1))) is not None


async def link_of(
    session: AsyncSession, kind: LinkKind, parent_id: int, service_id: int
) -> int | None:
    """The id of the link between the workplace (or specialist) and the service, if any."""
    if kind == "workplace_service":
        query = select(WorkplaceService.id).where(
            WorkplaceService.workplace_id == parent_id, WorkplaceService.service_id == service_id
        )
    else:
        query = select(ServiceSpecialist.id).where(
            ServiceSpecialist.specialist_id == parent_id,
            ServiceSpecialist.service_id == service_id,
        )
    found = await session.scalar(query)
    return None if found is None else int(found)


async def delete_holiday(
    session: AsyncSession, location_id: int, holiday_id: int
) -> dict[str, Any] | None:
    """Delete the location's holiday; returns what it was (None when it has no such row)."""
    row = await session.get(Holiday, holiday_id, with_for_update=True)
    if row is None or row.location_id != location_id:
        return None
    before = {
        "location_id": row.location_id,
        "date": row.date.isoformat(),
        "is_working": row.is_working,
        "hours": _hours(row.start_time, row.end_time),
    }
    await session.delete(row)
    await session.flush()
    return before


async def delete_break(
    session: AsyncSession, specialist_id: int, break_id: int
) -> dict[str, Any] | None:
    """Delete the specialist's break; returns what it was (None when they have no such row)."""
    row = await session.get(Break, break_id, with_for_update=True)
    if row is None or row.specialist_id != specialist_id:
        return None
    before = {
        "specialist_id": row.specialist_id,
        "date": row.date.isoformat(),
        "hours": _hours(row.start_time, row.end_time),
    }
    await session.delete(row)
    await session.flush()
    return before


# --- what the admin's catalog screens show ------------------------------------------------------


async def entity_rows(
    session: AsyncSession, kind: EntityKind, language: str | None = None
) -> list[tuple[int, str, bool]]:
    """Every row of the kind as (id, label, is_active), by label, names in `language` where
    translated; a workplace's label starts with its location's name."""
    if kind != "workplace":
        return await with_state(session, kind, language)
    rows = await session.execute(
        select(
            Workplace.id,
            Location.name,
            Location.name_i18n,
            Workplace.name,
            Workplace.name_i18n,
            Workplace.is_active,
        ).join(Location, Location.id == Workplace.location_id)
    )
    return _by_label(
        (
            int(r[0]),
            f"{localized_name(r[1], r[2], language)} · {localized_name(r[3], r[4], language)}",
            bool(r[5]),
        )
        for r in rows
    )


Hours = tuple[WallTime, WallTime]


async def location_week(session: AsyncSession, location_id: int) -> dict[int, Hours | None]:
    """The location's weekly hours by ISO weekday (None: a day off; absent: no row)."""
    rows = await session.scalars(
        select(LocationSchedule).where(LocationSchedule.location_id == location_id)
    )
    week: dict[int, Hours | None] = {}
    for row in rows:
        hours = None
        if not row.is_day_off and row.start_time is not None and row.end_time is not None:
            hours = (row.start_time, row.end_time)
        week[row.day_of_week] = hours
    return week


async def specialist_week(
    session: AsyncSession, specialist_id: int, location_id: int, language: str | None = None
) -> dict[int, tuple[WallTime, WallTime, str | None]]:
    """The specialist's shifts at the location by ISO weekday, with the pinned workplace
    (named in `language` where translated)."""
    rows = await session.execute(
        select(
            SpecialistSchedule.day_of_week,
            SpecialistSchedule.start_time,
            SpecialistSchedule.end_time,
            Workplace.name,
            Workplace.name_i18n,
        )
        .outerjoin(Workplace, Workplace.id == SpecialistSchedule.workplace_id)
        .where(
            SpecialistSchedule.specialist_id == specialist_id,
            SpecialistSchedule.location_id == location_id,
            SpecialistSchedule.is_day_off.is_(False),
        )
    )
    return {
        int(r[0]): (r[1], r[2], None if r[3] is None else localized_name(r[3], r[4], language))
        for r in rows
        if r[1] is not None and r[2] is not None
    }


async def holidays_from(
    session: AsyncSession, location_id: int, day: dt.date
) -> list[tuple[int, dt.date, bool, WallTime | None, WallTime | None]]:
    """The location's holidays on `day` or later as (id, date, is_working, start, end)."""
    rows = await session.execute(
        select(Holiday.id, Holiday.date, Holiday.is_working, Holiday.start_time, Holiday.end_time)
        .where(Holiday.location_id == location_id, Holiday.date >= day)
        .order_by(Holiday.date)
    )
    return [(int(r[0]), r[1], bool(r[2]), r[3], r[4]) for r in rows]


async def breaks_from(
    session: AsyncSession, specialist_id: int, day: dt.date
) -> list[tuple[int, dt.date, WallTime | None, WallTime | None]]:
    """The specialist's breaks on `day` or later as (id, date, start, end)."""
    rows = await session.execute(
        select(Break.id, Break.date, Break.start_time, Break.end_time)
        .where(Break.specialist_id == specialist_id, Break.date >= day)
        .order_by(Break.date, Break.start_time.asc().nulls_first(), Break.id)
    )
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows]


async def service_links(
    session: AsyncSession, kind: LinkKind, parent_id: int, language: str | None = None
) -> list[tuple[int, str, int | None, bool]]:
    """Every service as (service_id, name in `language` where translated, link id or None,
    link active) for the workplace (or specialist) `parent_id`, by that name."""
    model: Any = WorkplaceService if kind == "workplace_service" else ServiceSpecialist
    parent = (
        WorkplaceService.workplace_id == parent_id
        if kind == "workplace_service"
        else ServiceSpecialist.specialist_id == parent_id
    )
    rows = await session.execute(
        select(Service.id, Service.name, Service.name_i18n, model.id, model.is_active).outerjoin(
            model, (model.service_id == Service.id) & parent
        )
    )
    return _by_label(
        (
            int(r[0]),
            localized_name(r[1], r[2], language),
            None if r[3] is None else int(r[3]),
            bool(r[4]),
        )
        for r in rows
    )


async def workplace_named(session: AsyncSession, location_id: int, name: str) -> int | None:
    """The id of the location's workplace with this name in any language
    (case-insensitively), if any; a base name wins over another's translation."""
    found = await session.scalar(
        select(Workplace.id)
        .where(Workplace.location_id == location_id, name_is(Workplace, name))
        .order_by(func.lower(Workplace.name) != name.lower(), Workplace.id)
        .limit(1)
    )
    return None if found is None else int(found)
