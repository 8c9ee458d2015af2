"""What the booking conversation can offer: bookable combinations of location, service and
specialist, and the client's money for the summary. Read-only queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import Row, Select, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import Base
from db.models import (
    Location,
    Service,
    ServiceSpecialist,
    Specialist,
    SpecialistSchedule,
    Workplace,
    WorkplaceService,
)


def _combos_query(location_id: int | None) -> Select[tuple[object, ...]]:
    """Every (active service, active workplace hosting it, active qualified specialist who works
    at that workplace's location) with the price and duration the fallbacks of
    docs/rules.md#duration-price-and-break give."""
    works_there = exists().where(
        SpecialistSchedule.specialist_id == Specialist.id,
        SpecialistSchedule.location_id == Workplace.location_id,
        SpecialistSchedule.is_day_off.is_(False),
    )
    query = (
        select(
            Workplace.location_id,
            Service.id,
            Service.name,
            Specialist.id,
            Specialist.name,
            Service.name_i18n,
            Specialist.name_i18n,
            Service.price,
            WorkplaceService.price,
            ServiceSpecialist.custom_price,
            Service.duration_min,
            WorkplaceService.duration_min,
            ServiceSpecialist.custom_duration,
        )
        .join(WorkplaceService, WorkplaceService.service_id == Service.id)
        .join(Workplace, Workplace.id == WorkplaceService.workplace_id)
        .join(Location, Location.id == Workplace.location_id)
        .join(ServiceSpecialist, ServiceSpecialist.service_id == Service.id)
        .join(Specialist, Specialist.id == ServiceSpecialist.specialist_id)
        .where(
            Service.is_active.is_(True),
            WorkplaceService.is_active.is_(True),
            Workplace.is_active.is_(True),
            Location.is_active.is_(True),
            ServiceSpecialist.is_active.is_(True),
            Specialist.is_active.is_(True),
            works_there,
        )
    )
    if location_id is not None:
        query = query.where(Workplace.location_id == location_id)
    return query


async def bookable_combos(
    session: AsyncSession, location_id: int | None
) -> Sequence[Row[tuple[object, ...]]]:
    """Rows of `(location_id, service_id, service_name, specialist_id, specialist_name,
    service names by language, specialist names by language, service price, workplace price,
    specialist price, service duration, workplace duration, specialist duration)`; the
    overrides are None when not set."""
    return (await session.execute(_combos_query(location_id))).all()


async def locations_by_name(session: AsyncSession, ids: Iterable[int] | None) -> Sequence[Location]:
    """The locations with these ids (None: all of them), by name."""
    query = select(Location).order_by(Location.name, Location.id)
    if ids is not None:
        query = query.where(Location.id.in_(list(ids)))
    return (await session.scalars(query)).all()


async def specialist_name(
    session: AsyncSession, specialist_id: int
) -> tuple[str, dict[str, str]] | None:
    """The specialist's base name and names by language, None for no such specialist."""
    result = await session.execute(
        select(Specialist.name, Specialist.name_i18n).where(Specialist.id == specialist_id)
    )
    row = result.first()
    return None if row is None else (str(row[0]), dict(row[1] or {}))


async def specialist_names(session: AsyncSession) -> dict[int, tuple[str, dict[str, str]]]:
    """Every specialist's base name and names by language, by id (active or not: a held time
    names its specialist)."""
    rows = await session.execute(select(Specialist.id, Specialist.name, Specialist.name_i18n))
    return {r.id: (str(r.name), dict(r.name_i18n or {})) for r in rows}


# The summary's and the start's reads of the client, once per booking: Core on the tables,
# built once, rows as tuples. Parameter `client`.
_CLIENTS = Base.metadata.tables["clients"]
_WALLETS = Base.metadata.tables["client_wallets"]
_APPOINTMENTS = Base.metadata.tables["appointments"]
_CLIENT_MONEY = (
    select(_CLIENTS.c.discount_percent, _WALLETS.c.balance)
    .select_from(_CLIENTS.outerjoin(_WALLETS, _WALLETS.c.client_id == _CLIENTS.c.id))
    .where(_CLIENTS.c.id == bindparam("client"))
)
_CLIENT_START = select(
    _CLIENTS.c.is_blocked, exists().where(_APPOINTMENTS.c.client_id == _CLIENTS.c.id)
).where(_CLIENTS.c.id == bindparam("client"))


async def client_money(
    session: AsyncSession, client_id: int
) -> tuple[Decimal | None, Decimal | None] | None:
    """(discount percent, wallet balance or None without a wallet), None for no such client."""
    row = (await session.execute(_CLIENT_MONEY, {"client": client_id})).first()
    return None if row is None else (row[0], row[1])


async def client_start(session: AsyncSession, client_id: int) -> tuple[bool, bool] | None:
    """(blocked by an admin, has any appointment, in any status) of the client, read in one
    query; None for an unknown client."""
    row = (await session.execute(_CLIENT_START, {"client": client_id})).one_or_none()
    return None if row is None else (bool(row[0]), bool(row[1]))
