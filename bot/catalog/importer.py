"""Make the catalog tables match a validated catalog file (see `bot.catalog` for the rules).

Every row is compared before it is written, so importing the same file twice writes nothing.
`apply_catalog` works inside the caller's transaction; `import_catalog` is the use case that
owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalog.schema import CatalogFile, LocationEntry, SpecialistEntry, TimeRange
from bot.catalog.summary import ImportSummary
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

# Two imports at once would race on the same names: the second waits for the first.
IMPORT_LOCK_KEY = 0x0CA7A106

RowT = TypeVar("RowT")


def _assign(row: object, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ; True if anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _hours_values(hours: TimeRange | None) -> dict[str, Any]:
    if hours is None:
        return {"start_time": None, "end_time": None, "is_day_off": True}
    return {"start_time": hours.start, "end_time": hours.end, "is_day_off": False}


class _Sync:
    """One import: the rows as loaded, the summary, and the write helpers."""

    def __init__(self, session: AsyncSession, default_timezone: str) -> None:
        self.session = session
        self.default_timezone = default_timezone
        self.summary = ImportSummary()

    async def _all(self, model: type[RowT]) -> list[RowT]:
        rows = await self.session.scalars(select(model).order_by(model.id))  # type: ignore[attr-defined]
        return list(rows)

    def _upsert(
        self,
        kind: str,
        existing: dict[Hashable, RowT],
        key: Hashable,
        values: dict[str, Any],
        factory: Callable[..., RowT],
        *,
        touched: bool = False,
    ) -> RowT:
        counts = self.summary.counts[kind]
        row = existing.get(key)
        if row is None:
            row = factory(**values)
            self.session.add(row)
            existing[key] = row
            counts.created += 1
        elif _assign(row, values) or touched:
            counts.updated += 1
        return row

    def _deactivate(self, kind: str, rows: Iterable[Any]) -> None:
        for row in rows:
            if row.is_active:
                row.is_active = False
                self.summary.counts[kind].deactivated += 1

    async def _delete(self, kind: str, rows: Iterable[Any]) -> None:
        for row in rows:
            await self.session.delete(row)
            self.summary.counts[kind].deleted += 1

    # --- the entities matched by name ---------------------------------------------------------

    async def run(self, catalog: CatalogFile) -> ImportSummary:
        await self.session.execute(select(func.pg_advisory_xact_lock(IMPORT_LOCK_KEY)))
        services = await self._services(catalog)
        locations = await self._locations(catalog)
        specialists = await self._specialists(catalog)
        await self.session.flush()
        workplaces = await self._workplaces(catalog, locations)
        await self.session.flush()
        for entry in catalog.locations:
            location = locations[entry.name]
            await self._location_hours(entry, location)
            await self._holidays(entry, location)
            await self._workplace_services(entry, location, workplaces, services)
        for spec in catalog.specialists:
            specialist = specialists[spec.name]
            await self._specialist_services(spec, specialist, services)
            await self._specialist_schedules(spec, specialist, locations, workplaces)
            await self._breaks(spec, specialist)
        await self.session.flush()
        return self.summary

    async def _services(self, catalog: CatalogFile) -> dict[str, Service]:
        existing: dict[Hashable, Service] = {s.name: s for s in await self._all(Service)}
        named = {}
        for entry in catalog.services:
            values = {
                "name": entry.name,
                "name_i18n": dict(entry.name_i18n),
                "description": entry.description,
                "duration_min": entry.duration_min,
                "break_min": entry.break_min,
                "price": entry.price,
                "is_active": entry.active,
            }
            named[entry.name] = self._upsert("services", existing, entry.name, values, Service)
        self._deactivate("services", (s for n, s in existing.items() if n not in named))
        return named

    async def _locations(self, catalog: CatalogFile) -> dict[str, Location]:
        existing: dict[Hashable, Location] = {loc.name: loc for loc in await self._all(Location)}
        named = {}
        for entry in catalog.locations:
            values = {
                "name": entry.name,
                "name_i18n": dict(entry.name_i18n),
                "address": entry.address,
                "timezone": entry.timezone or self.default_timezone,
                "capacity": entry.capacity,
                "is_active": entry.active,
            }
            named[entry.name] = self._upsert("locations", existing, entry.name, values, Location)
        self._deactivate("locations", (r for n, r in existing.items() if n not in named))
        return named

    async def _specialists(self, catalog: CatalogFile) -> dict[str, Specialist]:
        rows = await self._all(Specialist)
        existing: dict[Hashable, Specialist] = {s.name: s for s in rows}
        wanted = {e.tg_id: e.name for e in catalog.specialists if e.tg_id is not None}
        # A Telegram account moves to another specialist (a rename is a new specialist): free it
        # first, or the unique tg_id would reject the move halfway through.
        freed: set[str] = set()
        for row in rows:
            if row.tg_id is not None and wanted.get(row.tg_id, row.name) != row.name:
                row.tg_id = None
                freed.add(row.name)
        if freed:
            await self.session.flush()
        named = {}
        for entry in catalog.specialists:
            values = {
                "name": entry.name,
                "name_i18n": dict(entry.name_i18n),
                "specialization": entry.specialization,
                "tg_id": entry.tg_id,
                "language": entry.language,
                "is_active": entry.active,
            }
            named[entry.name] = self._upsert(
                "specialists",
                existing,
                entry.name,
                values,
                Specialist,
                touched=entry.name in freed,
            )
        absent = [r for n, r in existing.items() if n not in named]
        counts = self.summary.counts["specialists"]
        counts.updated += sum(1 for r in absent if r.name in freed and not r.is_active)
        self._deactivate("specialists", absent)
        return named

    async def _workplaces(
        self, catalog: CatalogFile, locations: dict[str, Location]
    ) -> dict[tuple[int, str], Workplace]:
        existing: dict[Hashable, Workplace] = {
            (w.location_id, w.name): w for w in await self._all(Workplace)
        }
        named: dict[tuple[int, str], Workplace] = {}
        for entry in catalog.locations:
            location_id = locations[entry.name].id
            for wp in entry.workplaces:
                key = (location_id, wp.name)
                values = {
                    "location_id": location_id,
                    "name": wp.name,
                    "name_i18n": dict(wp.name_i18n),
                    "type": wp.type,
                    "is_active": wp.active,
                }
                named[key] = self._upsert("workplaces", existing, key, values, Workplace)
        # Only the workplaces of locations in the file: the file speaks for what it names.
        in_file = {locations[e.name].id for e in catalog.locations}
        self._deactivate(
            "workplaces",
            (w for k, w in existing.items() if w.location_id in in_file and k not in named),
        )
        return named

    # --- rows owned by an entry of the file -----------------------------------------------------

    async def _location_hours(self, entry: LocationEntry, location: Location) -> None:
        rows = await self.session.scalars(
            select(LocationSchedule).where(LocationSchedule.location_id == location.id)
        )
        existing: dict[Hashable, LocationSchedule] = {r.day_of_week: r for r in rows}
        for day, hours in entry.hours.items():
            values = {"location_id": location.id, "day_of_week": day, **_hours_values(hours)}
            row = existing.get(day)
            if hours is None and row is not None and row.is_day_off:
                continue  # a day off is a day off, whatever hours are left on the row
            self._upsert("location_hours", existing, day, values, LocationSchedule)
        await self._delete(
            "location_hours", (r for d, r in existing.items() if d not in entry.hours)
        )

    async def _holidays(self, entry: LocationEntry, location: Location) -> None:
        rows = await self.session.scalars(select(Holiday).where(Holiday.location_id == location.id))
        existing: dict[Hashable, Holiday] = {r.date: r for r in rows}
        wanted = set()
        for holiday in entry.holidays:
            wanted.add(holiday.date)
            values = {
                "location_id": location.id,
                "date": holiday.date,
                "is_working": holiday.working,
                "start_time": holiday.hours.start if holiday.hours else None,
                "end_time": holiday.hours.end if holiday.hours else None,
                "description": holiday.description,
            }
            row = existing.get(holiday.date)
            if not holiday.working and row is not None and not row.is_working:
                # A closed day has no hours; leftovers on the row are not worth a write.
                del values["start_time"], values["end_time"]
            self._upsert("holidays", existing, holiday.date, values, Holiday)
        await self._delete("holidays", (r for d, r in existing.items() if d not in wanted))

    async def _workplace_services(
        self,
        entry: LocationEntry,
        location: Location,
        workplaces: dict[tuple[int, str], Workplace],
        services: dict[str, Service],
    ) -> None:
        ids = [workplaces[(location.id, wp.name)].id for wp in entry.workplaces]
        rows = await self.session.scalars(
            select(WorkplaceService).where(WorkplaceService.workplace_id.in_(ids))
        )
        existing: dict[Hashable, WorkplaceService] = {
            (r.workplace_id, r.service_id): r for r in rows
        }
        wanted = set()
        for wp in entry.workplaces:
            workplace_id = workplaces[(location.id, wp.name)].id
            for link in wp.services:
                key = (workplace_id, services[link.service].id)
                wanted.add(key)
                values = {
                    "workplace_id": key[0],
                    "service_id": key[1],
                    "price": link.price,
                    "duration_min": link.duration_min,
                    "break_min": link.break_min,
                    "is_active": link.active,
                }
                self._upsert("workplace_services", existing, key, values, WorkplaceService)
        self._deactivate("workplace_services", (r for k, r in existing.items() if k not in wanted))

    async def _specialist_services(
        self, spec: SpecialistEntry, specialist: Specialist, services: dict[str, Service]
    ) -> None:
        rows = await self.session.scalars(
            select(ServiceSpecialist).where(ServiceSpecialist.specialist_id == specialist.id)
        )
        existing: dict[Hashable, ServiceSpecialist] = {r.service_id: r for r in rows}
        wanted = set()
        for link in spec.services:
            service_id = services[link.service].id
            wanted.add(service_id)
            values = {
                "specialist_id": specialist.id,
                "service_id": service_id,
                "custom_price": link.custom_price,
                "custom_duration": link.custom_duration,
                "is_active": link.active,
            }
            self._upsert("specialist_services", existing, service_id, values, ServiceSpecialist)
        self._deactivate("specialist_services", (r for k, r in existing.items() if k not in wanted))

    async def _specialist_schedules(
        self,
        spec: SpecialistEntry,
        specialist: Specialist,
        locations: dict[str, Location],
        workplaces: dict[tuple[int, str], Workplace],
    ) -> None:
        rows = await self.session.scalars(
            select(SpecialistSchedule).where(SpecialistSchedule.specialist_id == specialist.id)
        )
        existing: dict[Hashable, SpecialistSchedule] = {
            (r.location_id, r.day_of_week): r for r in rows
        }
        wanted = set()
        for entry in spec.schedule:
            location_id = locations[entry.location].id
            workplace_id = (
                workplaces[(location_id, entry.workplace)].id if entry.workplace else None
            )
            for day, hours in entry.hours.items():
                key = (location_id, day)
                wanted.add(key)
                values = {
                    "specialist_id": specialist.id,
                    "location_id": location_id,
                    "workplace_id": workplace_id,
                    "day_of_week": day,
                    **_hours_values(hours),
                }
                row = existing.get(key)
                if (
                    hours is None
                    and row is not None
                    and row.is_day_off
                    and row.workplace_id == workplace_id
                ):
                    continue
                self._upsert("specialist_schedules", existing, key, values, SpecialistSchedule)
        await self._delete(
            "specialist_schedules", (r for k, r in existing.items() if k not in wanted)
        )

    async def _breaks(self, spec: SpecialistEntry, specialist: Specialist) -> None:
        rows = await self.session.scalars(
            select(Break).where(Break.specialist_id == specialist.id).order_by(Break.id)
        )
        existing: dict[Hashable, Break] = {}
        duplicates = []
        for row in rows:
            key = (row.date, row.start_time, row.end_time)
            # Breaks have no unique key in the schema; an exact copy is dropped.
            if key in existing:
                duplicates.append(row)
            else:
                existing[key] = row
        wanted = set()
        for item in spec.breaks:
            start = item.hours.start if item.hours else None
            end = item.hours.end if item.hours else None
            key = (item.date, start, end)
            wanted.add(key)
            values = {
                "specialist_id": specialist.id,
                "date": item.date,
                "start_time": start,
                "end_time": end,
                "reason": item.reason,
            }
            self._upsert("breaks", existing, key, values, Break)
        await self._delete(
            "breaks", [*duplicates, *(r for k, r in existing.items() if k not in wanted)]
        )


async def apply_catalog(
    session: AsyncSession, catalog: CatalogFile, *, default_timezone: str
) -> ImportSummary:
    """Make the catalog tables match `catalog` inside the caller's transaction (no commit).

    Entities are matched by name; those missing from the file are deactivated, never deleted;
    hours, holidays, schedules and breaks of the entries in the file are replaced. Nothing is
    written for rows that already match.
    """
    return await _Sync(session, default_timezone).run(catalog)


async def import_catalog(
    session_factory: async_sessionmaker[AsyncSession],
    catalog: CatalogFile,
    *,
    default_timezone: str,
    dry_run: bool = False,
) -> ImportSummary:
    """Apply a validated catalog in one transaction; `dry_run` computes the summary and rolls
    back. Any failure leaves the database unchanged."""
    async with session_factory() as session:
        summary = await apply_catalog(session, catalog, default_timezone=default_timezone)
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
    return summary
