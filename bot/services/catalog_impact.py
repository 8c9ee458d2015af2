"""What a catalog or schedule change does to clients who already booked
(docs/rules.md#admin-rights), and applying it: keep those appointments as they are, or cancel
them with a full refund and notices.

A change touches a future booked appointment when, after it, the appointment no longer fits
the catalog as the slot engine reads it: its location, service, specialist, workplace or one of
their links is inactive, or its workplace moved to another location; its whole blocked
interval [start, end + break) is no longer inside the specialist's working time that date
(weekly hours, holidays, shifts, breaks: the same `bot.domain.schedule` rules); or the
location's capacity no longer admits it (the earliest booked keep their places). Appointments
that already did not fit before the change are not counted again.

`preview` writes the change in a transaction and rolls it back. `apply` is one transaction:
every specialist's booking lock (so no booking slips in under the old schedule), the change,
the cancels (through `BookingService.cancel_in`: full refund, outbox notices) and the audit
row. After the commit it bumps the catalog-wide slot cache version, so every instance offers
the new slots at once, and offers the freed times to the waitlist.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalog.summary import ImportSummary
from bot.domain.errors import DomainError
from bot.domain.names import localized_name
from bot.domain.tz import local_date
from bot.domain.working_time import Occupying, fits_working_time, over_capacity, working_instants
from bot.services.booking import BookingService
from bot.services.booking_types import Actor, CancelResult, SlotAuthority
from bot.services.catalog_changes import CatalogChange, Written
from bot.services.transaction import in_transaction, read_session
from db.repositories import audit, impact
from db.repositories.working_hours import load_calendars, load_location_hours

log = logging.getLogger(__name__)


class TouchReason(StrEnum):
    INACTIVE = "inactive"  # a catalog row it needs is deactivated (or its workplace moved)
    HOURS = "hours"  # outside the specialist's working time now
    CAPACITY = "capacity"  # the location's capacity no longer admits it


@dataclass(frozen=True, slots=True)
class TouchedAppointment:
    appointment_id: int
    start: datetime
    timezone: str
    location: str
    specialist: str
    service: str
    client: str
    reason: TouchReason
    # Translated names by field (`location`, `specialist`, `service`) and language.
    names: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    def in_language(self, language: str) -> TouchedAppointment:
        """The same appointment with its names in `language` where translated."""
        return replace(
            self,
            location=localized_name(self.location, self.names.get("location"), language),
            specialist=localized_name(self.specialist, self.names.get("specialist"), language),
            service=localized_name(self.service, self.names.get("service"), language),
        )


@dataclass(frozen=True)
class Impact:
    """The appointments a change touches (soonest first); after `apply`, the cancels made
    (empty when they were kept); for a catalog file, the import's summary."""

    touched: list[TouchedAppointment]
    summary: ImportSummary | None = None
    cancelled: tuple[CancelResult, ...] = ()
    # The id of the row a change created (a new catalog entry), if any.
    created_id: int | None = None

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(t.appointment_id for t in self.touched)


class ImpactChanged(DomainError):
    """Between the preview and the apply other appointments became touched (or stopped
    being): nothing was written; show the new preview."""


class _Rollback(Exception):
    def __init__(self, impact: Impact) -> None:
        self.impact = impact


class CatalogImpactService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        booking: BookingService,
        slots: SlotAuthority,
    ) -> None:
        self._sessions = session_factory
        self._booking = booking
        self._slots = slots

    async def misfits(self, *, now: datetime) -> list[TouchedAppointment]:
        """Every future booked appointment that does not fit the catalog as it is now (kept
        through earlier changes), soonest first."""
        async with read_session(self._sessions) as session:
            return await self._touched(session, now)

    async def preview(self, change: CatalogChange, *, now: datetime) -> Impact:
        """The appointments `change` would touch, and (for a file) its summary; nothing is
        written. Raises what the change raises (`NotFound`)."""
        try:
            async with self._sessions() as session, session.begin():
                before = await self._touched_ids(session, now)
                written = await change.write(session)
                raise _Rollback(await self._impact(session, before, written, now))
        except _Rollback as done:
            return done.impact

    async def apply(
        self,
        change: CatalogChange,
        *,
        admin_tg_id: int,
        cancel_touched: bool,
        now: datetime,
        expected: frozenset[int] | None = None,
    ) -> Impact:
        """Write `change` with its audit row in one transaction; with `cancel_touched`, cancel
        every touched appointment there too (an admin's cancel: full refund, notices). When
        `expected` (the preview's ids) differs from what the change touches now, raises
        `ImpactChanged` and writes nothing."""
        actor = Actor("admin", admin_tg_id)

        async def body(session: AsyncSession) -> tuple[Impact, list[CancelResult]]:
            await impact.lock_all_specialists(session)
            before = await self._touched_ids(session, now)
            written = await change.write(session)
            result = await self._impact(session, before, written, now)
            if expected is not None and result.ids != expected:
                raise ImpactChanged(f"{len(result.ids)} touched, {len(expected)} expected")
            cancelled: list[CancelResult] = []
            if cancel_touched:
                for touched in result.touched:
                    cancelled.append(
                        await self._booking.cancel_in(
                            session, touched.appointment_id, actor=actor, now=now
                        )
                    )
            await audit.record(
                session,
                actor_tg_id=admin_tg_id,
                action=change.action,
                entity=change.entity,
                entity_id=change.entity_id,
                before=written.before,
                after={
                    **written.after,
                    "touched": sorted(result.ids),
                    "touched_cancelled": cancel_touched,
                },
            )
            return result, cancelled

        # A deadlock or serialization failure re-runs the whole change from a fresh session.
        result, cancelled = await in_transaction(self._sessions, body)
        await self._invalidate()
        for done in cancelled:
            await self._booking.after_cancel(done, now=now)
        return Impact(result.touched, result.summary, tuple(cancelled), result.created_id)

    async def _invalidate(self) -> None:
        """Bump the catalog-wide slot cache version (every location, every instance). Best
        effort after the commit: the booking check never trusts the cache."""
        try:
            await self._slots.invalidate()
        except Exception:
            log.warning("slot cache not invalidated after a catalog change", exc_info=True)

    async def _impact(
        self, session: AsyncSession, before: set[int], written: Written, now: datetime
    ) -> Impact:
        await session.flush()
        touched = [t for t in await self._touched(session, now) if t.appointment_id not in before]
        created = written.after.get("id") if written.before is None else None
        return Impact(touched, written.summary, created_id=created)

    async def _touched_ids(self, session: AsyncSession, now: datetime) -> set[int]:
        return {t.appointment_id for t in await self._touched(session, now)}

    async def _touched(self, session: AsyncSession, now: datetime) -> list[TouchedAppointment]:
        """Every future booked appointment that does not fit the catalog as it is now."""
        rows = await impact.future_booked(session, now)
        if not rows:
            return []
        hours = await load_location_hours(session, {r.location_id for r in rows})
        days = [local_date(r.start, ZoneInfo(r.timezone)) for r in rows]
        calendars = await load_calendars(session, hours, min(days), max(days))
        reasons: dict[int, TouchReason] = {}
        fitting: dict[int, list[Occupying]] = defaultdict(list)
        for row, day in zip(rows, days, strict=True):
            if not row.catalog_active or row.location_id not in hours:
                reasons[row.appointment_id] = TouchReason.INACTIVE
                continue
            where = hours[row.location_id]
            pieces = working_instants(where, calendars[row.location_id], row.specialist_id, day)
            if not fits_working_time(pieces, row.start, row.blocked_until):
                reasons[row.appointment_id] = TouchReason.HOURS
                continue
            fitting[row.location_id].append(Occupying(row.appointment_id, row.start, row.end))
        for location_id, kept in fitting.items():
            for appointment_id in over_capacity(kept, hours[location_id].capacity):
                reasons[appointment_id] = TouchReason.CAPACITY
        return [
            TouchedAppointment(
                r.appointment_id,
                r.start,
                r.timezone,
                r.location,
                r.specialist,
                r.service,
                r.client,
                reasons[r.appointment_id],
                {
                    "location": dict(r.location_i18n or {}),
                    "specialist": dict(r.specialist_i18n or {}),
                    "service": dict(r.service_i18n or {}),
                },
            )
            for r in rows
            if r.appointment_id in reasons
        ]
