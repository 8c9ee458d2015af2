"""Read the whole catalog from the database as a `CatalogFile` (the import format).

Everything is exported, inactive entries included (as `active: false`), in a stable order
(entries by id, hours by weekday, dated rows by date), so importing an export changes nothing
and export -> import into an empty database -> export gives the same file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog.schema import (
    BreakEntry,
    CatalogFile,
    HolidayEntry,
    LocationEntry,
    ScheduleEntry,
    ServiceEntry,
    SpecialistEntry,
    SpecialistServiceEntry,
    TimeRange,
    WorkplaceEntry,
    WorkplaceServiceEntry,
)
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

RowT = TypeVar("RowT")


def _hours(start: Any, end: Any) -> TimeRange | None:
    return TimeRange(start, end) if start is not None and end is not None else None


def _day(row: LocationSchedule | SpecialistSchedule) -> TimeRange | None:
    return None if row.is_day_off else _hours(row.start_time, row.end_time)


def _by(rows: Sequence[RowT], attr: str) -> dict[int, list[RowT]]:
    grouped: dict[int, list[RowT]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attr)].append(row)
    return grouped


async def _all(session: AsyncSession, model: type[RowT], *order: Any) -> list[RowT]:
    return list(await session.scalars(select(model).order_by(*order)))


async def export_catalog(session: AsyncSession) -> CatalogFile:
    """The current catalog and schedules, in the format `import` reads."""
    services = await _all(session, Service, Service.id)
    locations = await _all(session, Location, Location.id)
    specialists = await _all(session, Specialist, Specialist.id)
    workplaces = await _all(session, Workplace, Workplace.id)
    location_hours = _by(
        await _all(session, LocationSchedule, LocationSchedule.day_of_week), "location_id"
    )
    holidays = _by(await _all(session, Holiday, Holiday.date), "location_id")
    wp_links = _by(await _all(session, WorkplaceService, WorkplaceService.id), "workplace_id")
    sp_links = _by(await _all(session, ServiceSpecialist, ServiceSpecialist.id), "specialist_id")
    schedules = _by(
        await _all(session, SpecialistSchedule, SpecialistSchedule.day_of_week), "specialist_id"
    )
    breaks = _by(
        await _all(
            session,
            Break,
            Break.date,
            Break.start_time.asc().nulls_first(),
            Break.end_time,
            Break.id,
        ),
        "specialist_id",
    )
    service_name = {s.id: s.name for s in services}
    location_name = {loc.id: loc.name for loc in locations}
    workplace_name = {w.id: w.name for w in workplaces}
    workplaces_of = _by(workplaces, "location_id")
    location_order = {loc.id: n for n, loc in enumerate(locations)}

    return CatalogFile(
        services=[
            ServiceEntry(
                name=s.name,
                name_i18n=dict(s.name_i18n),
                description=s.description,
                duration_min=s.duration_min,
                break_min=s.break_min,
                price=s.price,
                active=s.is_active,
            )
            for s in services
        ],
        locations=[
            LocationEntry(
                name=loc.name,
                name_i18n=dict(loc.name_i18n),
                address=loc.address,
                timezone=loc.timezone,
                capacity=loc.capacity,
                active=loc.is_active,
                hours={r.day_of_week: _day(r) for r in location_hours[loc.id]},
                holidays=[
                    HolidayEntry(
                        date=h.date,
                        working=h.is_working,
                        hours=_hours(h.start_time, h.end_time) if h.is_working else None,
                        description=h.description,
                    )
                    for h in holidays[loc.id]
                ],
                workplaces=[
                    WorkplaceEntry(
                        name=w.name,
                        name_i18n=dict(w.name_i18n),
                        type=w.type,
                        active=w.is_active,
                        services=[
                            WorkplaceServiceEntry(
                                service=service_name[link.service_id],
                                price=link.price,
                                duration_min=link.duration_min,
                                break_min=link.break_min,
                                active=link.is_active,
                            )
                            for link in wp_links[w.id]
                        ],
                    )
                    for w in workplaces_of[loc.id]
                ],
            )
            for loc in locations
        ],
        specialists=[
            SpecialistEntry(
                name=sp.name,
                name_i18n=dict(sp.name_i18n),
                specialization=sp.specialization,
                tg_id=sp.tg_id,
                language=sp.language,
                active=sp.is_active,
                services=[
                    SpecialistServiceEntry(
                        service=service_name[link.service_id],
                        custom_price=link.custom_price,
                        custom_duration=link.custom_duration,
                        active=link.is_active,
                    )
                    for link in sp_links[sp.id]
                ],
                schedule=_schedule_entries(
                    schedules[sp.id], location_name, workplace_name, location_order
                ),
                breaks=[
                    BreakEntry(date=b.date, hours=_hours(b.start_time, b.end_time), reason=b.reason)
                    for b in breaks[sp.id]
                ],
            )
            for sp in specialists
        ],
    )


def _schedule_entries(
    rows: Sequence[SpecialistSchedule],
    location_name: dict[int, str],
    workplace_name: dict[int, str],
    location_order: dict[int, int],
) -> list[ScheduleEntry]:
    # One entry per (location, pinned workplace): the days that share them.
    groups: dict[tuple[int, int | None], list[SpecialistSchedule]] = defaultdict(list)
    for row in rows:
        groups[(row.location_id, row.workplace_id)].append(row)
    ordered = sorted(groups, key=lambda k: (location_order[k[0]], k[1] is not None, k[1] or 0))
    return [
        ScheduleEntry(
            location=location_name[location_id],
            workplace=workplace_name[workplace_id] if workplace_id is not None else None,
            hours={r.day_of_week: _day(r) for r in groups[(location_id, workplace_id)]},
        )
        for location_id, workplace_id in ordered
    ]
