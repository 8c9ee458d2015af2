"""The catalog and schedule changes an admin can make, as values: each knows how to write
itself inside a transaction and what its audit row says. `CatalogImpactService` runs them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog.importer import apply_catalog
from bot.catalog.schema import CatalogFile
from bot.catalog.summary import ImportSummary
from bot.domain.errors import InputProblem, InvalidInput, NotFound
from bot.domain.walltime import WallTime
from db.errors import UNIQUE_VIOLATION, sqlstate
from db.repositories import catalog_edit
from db.repositories.catalog_edit import EditKind, EntityKind


@dataclass(frozen=True)
class Written:
    """What a change wrote: the audit row's before and after sides, and for a catalog file
    the import's summary."""

    before: dict[str, Any] | None
    after: dict[str, Any]
    summary: ImportSummary | None = None


class CatalogChange(Protocol):
    """A change to the catalog or a schedule. `write` runs inside the caller's transaction
    (no commit) and raises `NotFound` when its entity does not exist."""

    @property
    def action(self) -> str: ...

    @property
    def entity(self) -> str: ...

    @property
    def entity_id(self) -> int | None: ...

    async def write(self, session: AsyncSession) -> Written: ...


def _hhmm(value: WallTime | None) -> str | None:
    return None if value is None else str(value)  # 24:00 stays 24:00


class _AtLocation:
    """A change to one location's rows (its audit entity)."""

    entity: ClassVar[str] = "location"
    location_id: int

    @property
    def entity_id(self) -> int:
        return self.location_id


class _OfSpecialist:
    """A change to one specialist's rows (its audit entity)."""

    entity: ClassVar[str] = "specialist"
    specialist_id: int

    @property
    def entity_id(self) -> int:
        return self.specialist_id


@dataclass(frozen=True)
class SetActive:
    """Deactivate (or reactivate) a location, workplace, service or specialist. Nothing is
    deleted: appointments keep referring to it."""

    kind: EditKind
    entity_id: int
    active: bool = False

    @property
    def action(self) -> str:
        return f"{self.kind}.{'reactivated' if self.active else 'deactivated'}"

    @property
    def entity(self) -> str:
        return self.kind

    async def write(self, session: AsyncSession) -> Written:
        before = await catalog_edit.set_active(session, self.kind, self.entity_id, self.active)
        if before is None:
            raise NotFound(f"{self.kind} {self.entity_id}")
        return Written({"is_active": before}, {"is_active": self.active})


@dataclass(frozen=True)
class PutHoliday(_AtLocation):
    """A holiday at a location: closed all day, or working with these hours (or the
    weekday's when none are given)."""

    location_id: int
    day: dt.date
    is_working: bool = False
    start: WallTime | None = None
    end: WallTime | None = None
    description: str | None = None
    action: ClassVar[str] = "location.holiday"

    async def write(self, session: AsyncSession) -> Written:
        await _require(session, "location", self.location_id)
        before = await catalog_edit.put_holiday(
            session,
            self.location_id,
            self.day,
            is_working=self.is_working,
            start=self.start,
            end=self.end,
            description=self.description,
        )
        after = {
            "date": self.day.isoformat(),
            "is_working": self.is_working,
            "hours": [_hhmm(self.start), _hhmm(self.end)] if self.start else None,
        }
        return Written(before, after)


@dataclass(frozen=True)
class AddBreak(_OfSpecialist):
    """A specialist's break on a date (no times: off the whole date)."""

    specialist_id: int
    day: dt.date
    start: WallTime | None = None
    end: WallTime | None = None
    reason: str | None = None
    action: ClassVar[str] = "specialist.break"

    async def write(self, session: AsyncSession) -> Written:
        await _require(session, "specialist", self.specialist_id)
        await catalog_edit.add_break(
            session,
            self.specialist_id,
            self.day,
            start=self.start,
            end=self.end,
            reason=self.reason,
        )
        return Written(
            None,
            {"date": self.day.isoformat(), "hours": [_hhmm(self.start), _hhmm(self.end)]},
        )


@dataclass(frozen=True)
class PutLocationHours(_AtLocation):
    """A location's hours on an ISO weekday (no times: a day off)."""

    location_id: int
    day_of_week: int
    start: WallTime | None
    end: WallTime | None
    action: ClassVar[str] = "location.hours"

    async def write(self, session: AsyncSession) -> Written:
        await _require(session, "location", self.location_id)
        before = await catalog_edit.put_location_hours(
            session, self.location_id, self.day_of_week, self.start, self.end
        )
        return Written(
            before,
            {"day_of_week": self.day_of_week, "hours": [_hhmm(self.start), _hhmm(self.end)]},
        )


@dataclass(frozen=True)
class PutSpecialistHours(_OfSpecialist):
    """A specialist's hours at a location on an ISO weekday (no times: no shift)."""

    specialist_id: int
    location_id: int
    day_of_week: int
    start: WallTime | None
    end: WallTime | None
    workplace_id: int | None = None
    action: ClassVar[str] = "specialist.hours"

    async def write(self, session: AsyncSession) -> Written:
        await _require(session, "specialist", self.specialist_id)
        await _require(session, "location", self.location_id)
        before = await catalog_edit.put_specialist_hours(
            session,
            self.specialist_id,
            self.location_id,
            self.day_of_week,
            self.start,
            self.end,
            self.workplace_id,
        )
        return Written(
            before,
            {
                "location_id": self.location_id,
                "day_of_week": self.day_of_week,
                "hours": [_hhmm(self.start), _hhmm(self.end)],
            },
        )


@dataclass(frozen=True)
class SetCapacity(_AtLocation):
    """How many appointments may run at once at a location (None or 0: no cap)."""

    location_id: int
    capacity: int | None
    action: ClassVar[str] = "location.capacity"

    async def write(self, session: AsyncSession) -> Written:
        before = await catalog_edit.set_capacity(session, self.location_id, self.capacity)
        if before is None:
            raise NotFound(f"location {self.location_id}")
        return Written(before, {"capacity": self.capacity})


@dataclass(frozen=True)
class ImportCatalog:
    """A whole validated catalog file, applied as `python -m bot catalog import` does."""

    catalog: CatalogFile
    default_timezone: str
    action: ClassVar[str] = "catalog.imported"
    entity: ClassVar[str] = "catalog"
    entity_id: ClassVar[None] = None

    async def write(self, session: AsyncSession) -> Written:
        summary = await apply_catalog(session, self.catalog, default_timezone=self.default_timezone)
        return Written(None, {"changes": summary.lines()}, summary)


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with money, times and dates as text (for an audit row's JSON)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal | WallTime | dt.date):
            out[key] = str(value)
        elif isinstance(value, dict):
            out[key] = jsonable(value)
        else:
            out[key] = value
    return out


async def _check_name(
    session: AsyncSession,
    kind: EditKind,
    values: dict[str, Any],
    exclude_id: int | None,
    location_id: int | None,
) -> None:
    """`InvalidInput(NAME_TAKEN)` when the new name is another entry's: among services,
    specialists and locations, and among a location's workplaces
    (docs/rules.md#admin-rights)."""
    name = values.get("name")
    if kind not in ENTITY_KINDS or not isinstance(name, str):
        return
    entity: EntityKind = kind  # type: ignore[assignment]
    if await catalog_edit.name_taken(
        session, entity, name, exclude_id=exclude_id, location_id=location_id
    ):
        raise InvalidInput(InputProblem.NAME_TAKEN)


ENTITY_KINDS: frozenset[str] = frozenset({"location", "workplace", "service", "specialist"})


@contextlib.asynccontextmanager
async def _name_guard(kind: EditKind) -> AsyncIterator[None]:
    """The database's unique name constraints as the last word: a name written by something
    outside the editor's name lock (the catalog file, say) between the check and the write
    is `InvalidInput(NAME_TAKEN)`, not an error."""
    try:
        yield
    except IntegrityError as exc:
        if kind in ENTITY_KINDS and sqlstate(exc) == UNIQUE_VIOLATION:
            raise InvalidInput(InputProblem.NAME_TAKEN) from None
        raise


@dataclass(frozen=True)
class SetFields:
    """Set some columns of a catalog row (names, texts, prices, durations, capacity...).
    Raises `NotFound` for a missing row, `InvalidInput(NAME_TAKEN)` for a duplicate name."""

    kind: EditKind
    entity_id: int
    values: dict[str, Any]

    @property
    def action(self) -> str:
        return f"{self.kind}.edited"

    @property
    def entity(self) -> str:
        return self.kind

    async def write(self, session: AsyncSession) -> Written:
        current = await catalog_edit.row_values(session, self.kind, self.entity_id)
        if current is None:
            raise NotFound(f"{self.kind} {self.entity_id}")
        await _check_name(
            session, self.kind, self.values, self.entity_id, current.get("location_id")
        )
        async with _name_guard(self.kind):
            before = await catalog_edit.update_fields(
                session, self.kind, self.entity_id, self.values
            )
        return Written(jsonable(before or {}), jsonable(self.values))


@dataclass(frozen=True)
class CreateEntry:
    """A new catalog row (a location, workplace, service, specialist, or a service link).
    Raises `InvalidInput(NAME_TAKEN)` for a duplicate name; `NotFound` when the location (of
    a workplace) or a link's ends do not exist."""

    kind: EditKind
    values: dict[str, Any]
    entity_id: ClassVar[None] = None

    @property
    def action(self) -> str:
        return f"{self.kind}.created"

    @property
    def entity(self) -> str:
        return self.kind

    async def write(self, session: AsyncSession) -> Written:
        for column, parent in _PARENTS.items():
            if column in self.values:
                await _require(session, parent, int(self.values[column]))
        await _check_name(session, self.kind, self.values, None, self.values.get("location_id"))
        async with _name_guard(self.kind):
            new_id = await catalog_edit.insert(session, self.kind, self.values)
        return Written(None, {"id": new_id, **jsonable(self.values)})


@dataclass(frozen=True)
class MoveWorkplace:
    """Move a workplace to another location (docs/rules.md#admin-rights). Its future booked
    appointments stay at their location, so the move touches them (`CatalogImpactService`
    lists them: keep or cancel). Raises `NotFound` (the workplace or the location is gone, or
    it is there already), `InvalidInput(NAME_TAKEN)` (the location has a workplace of that
    name) and `InvalidInput(WORKPLACE_PINNED)` (a specialist's weekly schedule pins it: a pin
    names a workplace of the schedule's location, so those are changed first)."""

    workplace_id: int
    location_id: int
    action: ClassVar[str] = "workplace.moved"
    entity: ClassVar[str] = "workplace"

    @property
    def entity_id(self) -> int:
        return self.workplace_id

    async def write(self, session: AsyncSession) -> Written:
        current = await catalog_edit.row_values(session, "workplace", self.workplace_id)
        if current is None:
            raise NotFound(f"workplace {self.workplace_id}")
        if current["location_id"] == self.location_id:
            raise NotFound(f"workplace {self.workplace_id} at location {self.location_id}")
        await _require(session, "location", self.location_id)
        if await catalog_edit.workplace_pins(session, self.workplace_id):
            raise InvalidInput(InputProblem.WORKPLACE_PINNED)
        values = {"location_id": self.location_id}
        await _check_name(
            session, "workplace", {"name": current["name"]}, self.workplace_id, self.location_id
        )
        async with _name_guard("workplace"):
            before = await catalog_edit.update_fields(
                session, "workplace", self.workplace_id, values
            )
        return Written(jsonable(before or {}), values)


_PARENTS: dict[str, EditKind] = {
    "location_id": "location",
    "workplace_id": "workplace",
    "service_id": "service",
    "specialist_id": "specialist",
}


@dataclass(frozen=True)
class DeleteHoliday(_AtLocation):
    """Remove a holiday: the date follows the weekly hours again."""

    location_id: int
    holiday_id: int
    action: ClassVar[str] = "location.holiday_removed"

    async def write(self, session: AsyncSession) -> Written:
        before = await catalog_edit.delete_holiday(session, self.location_id, self.holiday_id)
        if before is None:
            raise NotFound(f"holiday {self.holiday_id}")
        return Written(before, {"holiday_id": self.holiday_id, "removed": True})


@dataclass(frozen=True)
class DeleteBreak(_OfSpecialist):
    """Remove a specialist's break."""

    specialist_id: int
    break_id: int
    action: ClassVar[str] = "specialist.break_removed"

    async def write(self, session: AsyncSession) -> Written:
        before = await catalog_edit.delete_break(session, self.specialist_id, self.break_id)
        if before is None:
            raise NotFound(f"break {self.break_id}")
        return Written(before, {"break_id": self.break_id, "removed": True})


async def _require(session: AsyncSession, kind: EditKind, entity_id: int) -> None:
    if not await catalog_edit.exists(session, kind, entity_id):
        raise NotFound(f"{kind} {entity_id}")
