"""Waitlist queries. They never commit.

`INSERT ... ON CONFLICT` is fine here (no exclusion constraints on this table): the partial
unique index `uq_waitlist_one_waiting` keeps one live entry per client, place, service,
specialist and date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.statuses import WaitlistStatus
from db.base import Base
from db.driver import fetch
from db.models import WaitlistEntry

LIVE = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)

_WAITLIST = Base.metadata.tables["waitlist"]
# Every confirm runs it: built once (Core, on the table), only the parameters change.
_FULFIL_FOR_BOOKING = (
    update(_WAITLIST)
    .where(
        _WAITLIST.c.client_id == bindparam("client"),
        _WAITLIST.c.location_id == bindparam("location"),
        _WAITLIST.c.service_id == bindparam("service"),
        _WAITLIST.c.date == bindparam("day"),
        _WAITLIST.c.status.in_([s.value for s in LIVE]),
    )
    .values(status=WaitlistStatus.FULFILLED.value)
)


async def find_live(
    session: AsyncSession,
    *,
    client_id: int,
    location_id: int,
    service_id: int,
    specialist_id: int | None,
    day: dt.date,
) -> WaitlistEntry | None:
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.client_id == client_id,
        WaitlistEntry.location_id == location_id,
        WaitlistEntry.service_id == service_id,
        func.coalesce(WaitlistEntry.specialist_id, 0) == (specialist_id or 0),
        WaitlistEntry.date == day,
        WaitlistEntry.status.in_(LIVE),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


# Built once and run through `db.driver.fetch` (compiled once): PostgreSQL's INSERT ... ON
# CONFLICT has no SQLAlchemy cache key, so `session.execute` would compile it at every call.
_INSERT_WAITING = (
    pg_insert(_WAITLIST)
    .values(
        client_id=bindparam("client"),
        location_id=bindparam("location"),
        service_id=bindparam("service"),
        specialist_id=bindparam("specialist"),
        date=bindparam("day"),
    )
    .on_conflict_do_nothing(
        index_elements=[
            _WAITLIST.c.client_id,
            _WAITLIST.c.location_id,
            _WAITLIST.c.service_id,
            text("coalesce(specialist_id, 0)"),
            _WAITLIST.c.date,
        ],
        index_where=text("status IN ('waiting', 'offered')"),
    )
    .returning(_WAITLIST.c.id)
)


async def insert_waiting(
    session: AsyncSession,
    *,
    client_id: int,
    location_id: int,
    service_id: int,
    specialist_id: int | None,
    day: dt.date,
) -> int | None:
    """Add a waiting entry; None when a live one already exists (the unique index said so)."""
    params = {
        "client": client_id,
        "location": location_id,
        "service": service_id,
        "specialist": specialist_id,
        "day": day,
    }
    rows = await fetch(session, _INSERT_WAITING, params)
    return rows[0][0] if rows else None


async def get(session: AsyncSession, entry_id: int) -> WaitlistEntry | None:
    return await session.get(WaitlistEntry, entry_id, populate_existing=True)


async def set_status(
    session: AsyncSession,
    entry_id: int,
    *,
    status: WaitlistStatus,
    from_statuses: Sequence[WaitlistStatus],
) -> bool:
    result = await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.status.in_(from_statuses))
        .values(status=status)
        .returning(WaitlistEntry.id)
    )
    return result.scalar_one_or_none() is not None


async def for_client(session: AsyncSession, client_id: int) -> Sequence[WaitlistEntry]:
    result = await session.execute(
        select(WaitlistEntry)
        .where(WaitlistEntry.client_id == client_id, WaitlistEntry.status.in_(LIVE))
        .order_by(WaitlistEntry.date, WaitlistEntry.id)
    )
    return result.scalars().all()


async def waiting_for_day(
    session: AsyncSession, *, location_id: int, day: dt.date
) -> Sequence[WaitlistEntry]:
    """Waiting entries of that place and date, oldest first; locked so that two freed times
    never offer to the same entry, and skipped when another transaction is offering it."""
    result = await session.execute(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.location_id == location_id,
            WaitlistEntry.date == day,
            WaitlistEntry.status == WaitlistStatus.WAITING,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        .with_for_update(skip_locked=True)
    )
    return result.scalars().all()


async def mark_offered(
    session: AsyncSession,
    entry_id: int,
    *,
    now: dt.datetime,
    start: dt.datetime,
    specialist_id: int,
) -> None:
    await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id)
        .values(
            status=WaitlistStatus.OFFERED,
            offered_at=now,
            offered_start=start,
            offered_specialist_id=specialist_id,
        )
    )


async def expire_offers(
    session: AsyncSession, *, offered_before: dt.datetime
) -> list[tuple[int, dt.date]]:
    """Offers made before `offered_before` and not taken become `expired`.

    Returns the (location, date) of each, so the time can be offered to the next in line.
    """
    result = await session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.status == WaitlistStatus.OFFERED,
            WaitlistEntry.offered_at < offered_before,
        )
        .values(status=WaitlistStatus.EXPIRED)
        .returning(WaitlistEntry.location_id, WaitlistEntry.date)
    )
    return [(int(loc), day) for loc, day in result.all()]


async def fulfil_for_booking(
    session: AsyncSession,
    *,
    client_id: int,
    location_id: int,
    service_id: int,
    day: dt.date,
) -> None:
    """The client booked that service on that date: their live entries for it are done."""
    await session.execute(
        _FULFIL_FOR_BOOKING,
        {"client": client_id, "location": location_id, "service": service_id, "day": day},
    )
