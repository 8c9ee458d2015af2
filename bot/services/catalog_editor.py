"""The admin's catalog and schedule editor: what each kind of catalog entry has (a table of
fields, so every entry is created and edited by the same code), reading what the screens show,
and turning a typed value into a `CatalogChange` that `CatalogImpactService` previews and
applies (one transaction with its audit row, the slot cache bumped, the touched appointments
kept or cancelled). Rules: docs/rules.md#admin-rights.

An `Edit` is what the admin is doing (JSON-able, kept in the conversation between a preview
and the press that applies it); `build` reads it again each time, so a press applies what the
database holds then, never a stale copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.catalog_input import Dated, FieldType, Hours, Shift, parse_value
from bot.domain.errors import InputProblem, InvalidInput, NotFound
from bot.domain.names import localized_name
from bot.domain.walltime import WallTime
from bot.services.admin_gate import AdminGate
from bot.services.catalog_changes import (
    AddBreak,
    CatalogChange,
    CreateEntry,
    DeleteBreak,
    DeleteHoliday,
    MoveWorkplace,
    PutHoliday,
    PutLocationHours,
    PutSpecialistHours,
    SetActive,
    SetFields,
)
from bot.services.catalog_impact import CatalogImpactService, Impact
from db.repositories import catalog_edit
from db.repositories.catalog_edit import EditKind, EntityKind, LinkKind

__all__ = ["FIELDS", "CatalogEditor", "Edit", "EditKind", "EditOp", "EntityKind", "LinkKind"]

_ENTRY_KINDS = frozenset({"location", "workplace", "service", "specialist"})
# The language a translated name is typed in (the base name is the default language's).
TRANSLATED = "en"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One editable value: its key (callback data and `catalog_edit.field.<key>` label), how
    it is typed, the column it sets (`name_i18n` keys a translation), and whether the create
    dialogue asks for it (the others start empty or at their defaults)."""

    key: str
    type: FieldType
    column: str
    on_create: bool = False


_NAME = FieldSpec("name", FieldType.NAME, "name", on_create=True)
_NAME_EN = FieldSpec("name_en", FieldType.TEXT, "name_i18n")

FIELDS: dict[EditKind, tuple[FieldSpec, ...]] = {
    "location": (
        _NAME,
        _NAME_EN,
        FieldSpec("address", FieldType.TEXT, "address", on_create=True),
        FieldSpec("timezone", FieldType.TIMEZONE, "timezone", on_create=True),
        FieldSpec("capacity", FieldType.CAPACITY, "capacity"),
    ),
    "workplace": (_NAME, _NAME_EN, FieldSpec("type", FieldType.TEXT, "type", on_create=True)),
    "service": (
        _NAME,
        _NAME_EN,
        FieldSpec("description", FieldType.LONG_TEXT, "description"),
        FieldSpec("duration", FieldType.MINUTES, "duration_min", on_create=True),
        FieldSpec("break", FieldType.BREAK, "break_min"),
        FieldSpec("price", FieldType.MONEY, "price", on_create=True),
    ),
    "specialist": (
        _NAME,
        _NAME_EN,
        FieldSpec("specialization", FieldType.TEXT, "specialization", on_create=True),
    ),
    "workplace_service": (
        FieldSpec("price", FieldType.MONEY_OPT, "price"),
        FieldSpec("duration", FieldType.MINUTES_OPT, "duration_min"),
        FieldSpec("break", FieldType.BREAK_OPT, "break_min"),
    ),
    "service_specialist": (
        FieldSpec("price", FieldType.MONEY_OPT, "custom_price"),
        FieldSpec("duration", FieldType.MINUTES_OPT, "custom_duration"),
    ),
}


def field_of(kind: EditKind, key: str) -> FieldSpec:
    """The kind's field with this key; `NotFound` for an unknown one (a forged button)."""
    for spec in FIELDS[kind]:
        if spec.key == key:
            return spec
    raise NotFound(f"{kind}.{key}")


def create_steps(kind: EditKind) -> tuple[FieldSpec, ...]:
    """The fields the create dialogue asks for, in order."""
    return tuple(spec for spec in FIELDS[kind] if spec.on_create)


class EditOp(StrEnum):
    FIELD = "field"  # kind, id, field, text
    CREATE = "create"  # kind, sub (a new workplace's location), texts
    LINK = "link"  # kind (a link kind), id (workplace or specialist), sub (service)
    TOGGLE = "toggle"  # kind, id, active
    HOURS = "hours"  # id (location), day, text
    SHIFT = "shift"  # id (specialist), sub (location), day, text
    HOLIDAY = "holiday"  # id (location), text
    BREAK = "break"  # id (specialist), text
    UNHOLIDAY = "unholiday"  # id (location), sub (holiday)
    UNBREAK = "unbreak"  # id (specialist), sub (break)
    MOVE = "move"  # id (workplace), sub (its new location)


class Edit(BaseModel):
    """What the admin is changing (see `EditOp` for the fields each operation uses)."""

    op: EditOp
    kind: str = "location"
    id: int = 0
    sub: int = 0
    day: int = Field(default=0, ge=0, le=7)
    field: str = ""
    active: bool = False
    text: str = ""
    texts: dict[str, str] = {}

    @property
    def edit_kind(self) -> EditKind:
        if self.kind not in FIELDS:
            raise NotFound(f"kind {self.kind}")
        return self.kind  # type: ignore[return-value]


@dataclass(frozen=True)
class Proposal:
    """A change ready to preview; `warning`: a specialist's hours fall outside the location's
    (allowed, but said)."""

    change: CatalogChange
    warning: bool = False


@dataclass(frozen=True)
class Card:
    """One catalog row as its screen shows it: the columns, and the names around it (a
    workplace's location; a link's service and workplace or specialist)."""

    kind: EditKind
    id: int
    values: dict[str, Any]
    context: tuple[str, ...] = ()

    def name_in(self, language: str | None) -> str:
        """The entry's name in `language` where translated (the base name otherwise)."""
        return localized_name(
            str(self.values.get("name", "")), self.values.get("name_i18n"), language
        )

    def shown(self, spec: FieldSpec) -> str | None:
        """The field's value as text (None: not set)."""
        value = self.values.get(spec.column)
        if spec.column == "name_i18n":
            value = (value or {}).get(TRANSLATED)
        return None if value is None or value == "" else str(value)


class CatalogEditor:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        impact: CatalogImpactService,
        gate: AdminGate,
        default_timezone: str,
    ) -> None:
        self._sessions = session_factory
        self._impact = impact
        self._gate = gate
        self._default_timezone = default_timezone

    # --- screens ---------------------------------------------------------------------------

    async def listing(
        self, kind: EntityKind, language: str | None = None
    ) -> list[tuple[int, str, bool]]:
        """Every entry of the kind, active or not, as (id, label, is_active), by label; names
        in `language` where translated."""
        async with self._sessions() as session:
            return await catalog_edit.entity_rows(session, kind, language)

    async def card(self, kind: EditKind, entity_id: int, language: str | None = None) -> Card:
        """The row's values (its base name and translations as stored) and the names around
        it in `language` where translated; `NotFound` when there is none."""
        async with self._sessions() as session:
            values = await catalog_edit.row_values(session, kind, entity_id)
            if values is None:
                raise NotFound(f"{kind} {entity_id}")
            context: list[str] = []
            for column, parent in (
                ("location_id", "location"),
                ("workplace_id", "workplace"),
                ("specialist_id", "specialist"),
                ("service_id", "service"),
            ):
                if column in values:
                    row = await catalog_edit.row_values(session, parent, int(values[column]))  # type: ignore[arg-type]
                    context.append(
                        localized_name(str(row["name"]), row.get("name_i18n"), language)
                        if row
                        else "?"
                    )
        return Card(kind, entity_id, values, tuple(context))

    async def links(
        self, kind: LinkKind, parent_id: int, language: str | None = None
    ) -> list[tuple[int, str, int | None, bool]]:
        """Every service as (service_id, name in `language` where translated, link id or
        None, linked and active)."""
        async with self._sessions() as session:
            return await catalog_edit.service_links(session, kind, parent_id, language)

    async def location_week(self, location_id: int) -> dict[int, tuple[WallTime, WallTime] | None]:
        async with self._sessions() as session:
            return await catalog_edit.location_week(session, location_id)

    async def shifts(
        self, specialist_id: int, location_id: int, language: str | None = None
    ) -> dict[int, tuple[WallTime, WallTime, str | None]]:
        async with self._sessions() as session:
            return await catalog_edit.specialist_week(session, specialist_id, location_id, language)

    async def holidays(
        self, location_id: int, today: date
    ) -> list[tuple[int, date, bool, WallTime | None, WallTime | None]]:
        async with self._sessions() as session:
            return await catalog_edit.holidays_from(session, location_id, today)

    async def breaks(
        self, specialist_id: int, today: date
    ) -> list[tuple[int, date, WallTime | None, WallTime | None]]:
        async with self._sessions() as session:
            return await catalog_edit.breaks_from(session, specialist_id, today)

    # --- changes ---------------------------------------------------------------------------

    async def check_step(self, edit: Edit, key: str, text: str, today: date) -> None:
        """Raise `InvalidInput` when `text` is not a value of the create dialogue's field (a
        name already taken included)."""
        value = parse_value(field_of(edit.edit_kind, key).type, text, today)
        kind = edit.edit_kind
        if key != "name" or not isinstance(value, str) or kind not in _ENTRY_KINDS:
            return
        async with self._sessions() as session:
            taken = await catalog_edit.name_taken(
                session,
                kind,  # type: ignore[arg-type]
                value,
                location_id=edit.sub or None,
            )
        if taken:
            raise InvalidInput(InputProblem.NAME_TAKEN)

    async def build(self, edit: Edit, today: date) -> Proposal:
        """The change `edit` asks for, read against the database now. Raises `InvalidInput`
        for a wrong value (the admin stays in the step), `NotFound` for a row that is gone."""
        async with self._sessions() as session:
            return await self._build(session, edit, today)

    async def _build(self, session: AsyncSession, edit: Edit, today: date) -> Proposal:
        op = edit.op
        if op is EditOp.FIELD:
            kind = edit.edit_kind
            spec = field_of(kind, edit.field)
            value: object = parse_value(spec.type, edit.text, today)
            if spec.column == "name_i18n":
                current = await catalog_edit.row_values(session, kind, edit.id)
                if current is None:
                    raise NotFound(f"{kind} {edit.id}")
                names = {k: v for k, v in dict(current["name_i18n"] or {}).items()}
                names.pop(TRANSLATED, None)
                value = {**names, **({TRANSLATED: value} if value else {})}
            return Proposal(SetFields(kind, edit.id, {spec.column: _stored(value)}))
        if op is EditOp.CREATE:
            return Proposal(CreateEntry(edit.edit_kind, self._new_values(edit, today)))
        if op is EditOp.LINK:
            link: LinkKind
            if edit.kind == "workplace_service":
                link, parent = "workplace_service", "workplace_id"
            elif edit.kind == "service_specialist":
                link, parent = "service_specialist", "specialist_id"
            else:
                raise NotFound(edit.kind)
            found = await catalog_edit.link_of(session, link, edit.id, edit.sub)
            if found is not None:
                return Proposal(SetActive(link, found, True))
            return Proposal(CreateEntry(link, {parent: edit.id, "service_id": edit.sub}))
        if op is EditOp.TOGGLE:
            return Proposal(SetActive(edit.edit_kind, edit.id, edit.active))
        if op is EditOp.HOURS:
            hours = parse_value(FieldType.HOURS, edit.text, today)
            start, end = _ends(hours)
            return Proposal(PutLocationHours(edit.id, _weekday(edit), start, end))
        if op is EditOp.SHIFT:
            return await self._shift(session, edit, today)
        if op is EditOp.HOLIDAY:
            dated = parse_value(FieldType.HOLIDAY, edit.text, today)
            assert isinstance(dated, Dated)
            start, end = _ends(dated.hours)
            return Proposal(
                PutHoliday(edit.id, dated.day, is_working=dated.is_working, start=start, end=end)
            )
        if op is EditOp.BREAK:
            dated = parse_value(FieldType.DATED, edit.text, today)
            assert isinstance(dated, Dated)
            start, end = _ends(dated.hours)
            return Proposal(AddBreak(edit.id, dated.day, start, end))
        if op is EditOp.UNHOLIDAY:
            return Proposal(DeleteHoliday(edit.id, edit.sub))
        if op is EditOp.MOVE:
            return Proposal(MoveWorkplace(edit.id, edit.sub))
        return Proposal(DeleteBreak(edit.id, edit.sub))

    def _new_values(self, edit: Edit, today: date) -> dict[str, Any]:
        kind = edit.edit_kind
        values: dict[str, Any] = {}
        for spec in create_steps(kind):
            value = parse_value(spec.type, edit.texts.get(spec.key, ""), today)
            values[spec.column] = _stored(value)
        if kind == "workplace":
            values["location_id"] = edit.sub
        if kind == "location" and values.get("timezone") is None:
            values["timezone"] = self._default_timezone
        return values

    async def _shift(self, session: AsyncSession, edit: Edit, today: date) -> Proposal:
        shift = parse_value(FieldType.SHIFT, edit.text, today)
        assert isinstance(shift, Shift)
        day, location_id = _weekday(edit), edit.sub
        workplace_id = None
        if shift.workplace is not None:
            workplace_id = await catalog_edit.workplace_named(session, location_id, shift.workplace)
            if workplace_id is None:
                raise InvalidInput(InputProblem.WORKPLACE_UNKNOWN)
        start, end = _ends(shift.hours)
        warning = False
        if shift.hours is not None:
            open_hours = (await catalog_edit.location_week(session, location_id)).get(day)
            warning = (
                open_hours is None
                or shift.hours.start < open_hours[0]
                or shift.hours.end > open_hours[1]
            )
        change = PutSpecialistHours(edit.id, location_id, day, start, end, workplace_id)
        return Proposal(change, warning)

    async def preview(self, change: CatalogChange, *, now: datetime) -> Impact:
        """What `change` would touch; nothing is written."""
        return await self._impact.preview(change, now=now)

    async def apply(
        self,
        change: CatalogChange,
        *,
        admin_tg_id: int,
        cancel_touched: bool,
        expected: frozenset[int],
        now: datetime,
    ) -> Impact:
        """Check the role on the server, then write `change` in one transaction with its
        audit row (see `CatalogImpactService.apply`: `ImpactChanged` when the touched
        appointments are no longer `expected`). Raises `AccessDenied` for a non-admin."""
        await self._gate.require(admin_tg_id)
        return await self._impact.apply(
            change,
            admin_tg_id=admin_tg_id,
            cancel_touched=cancel_touched,
            expected=expected,
            now=now,
        )


def _weekday(edit: Edit) -> int:
    if not 1 <= edit.day <= 7:
        raise NotFound(f"weekday {edit.day}")
    return edit.day


def _ends(hours: object) -> tuple[WallTime | None, WallTime | None]:
    if isinstance(hours, Hours):
        return hours.start, hours.end
    return None, None


def _stored(value: object) -> object:
    """A parsed value as its column holds it (money as Decimal, the rest as is)."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value
