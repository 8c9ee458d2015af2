"""What the booking conversation offers: only what can actually be booked at a location."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.booking_menu import BookingMenuService
from db.models import (
    Client,
    Location,
    ServiceSpecialist,
    Specialist,
    SpecialistSchedule,
    Workplace,
)
from tests.integration.factories import make_catalog, make_client


async def test_only_bookable_choices_are_offered(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    menu = BookingMenuService(session_factory)
    main = await make_catalog(
        session_factory, specialists=3, specialist_prices={1: Decimal("1500")}
    )
    empty = await make_catalog(session_factory, specialists=1)

    assert {loc.id for loc in await menu.locations()} == {main.location_id, empty.location_id}
    [service] = await menu.services(main.location_id)
    assert (service.min_price, service.max_price) == (Decimal("1000.00"), Decimal("1500.00"))
    assert service.min_duration == service.max_duration == 60

    a, b, c = main.specialist_ids
    async with session_factory() as s, s.begin():
        # c no longer works at this location; b's qualification is switched off.
        await s.execute(
            update(SpecialistSchedule)
            .where(SpecialistSchedule.specialist_id == c)
            .values(is_day_off=True)
        )
        await s.execute(
            update(ServiceSpecialist)
            .where(ServiceSpecialist.specialist_id == b)
            .values(is_active=False)
        )
        # The other location's only workplace is closed: nothing is bookable there.
        await s.execute(
            update(Workplace)
            .where(Workplace.location_id == empty.location_id)
            .values(is_active=False)
        )
    assert [sp.id for sp in await menu.specialists(main.location_id, main.service_id)] == [a]
    assert [loc.id for loc in await menu.locations()] == [main.location_id]
    assert await menu.location(empty.location_id) is None
    assert await menu.services(empty.location_id) == []

    async with session_factory() as s, s.begin():
        await s.execute(update(Specialist).where(Specialist.id == a).values(is_active=False))
    assert await menu.services(main.location_id) == []
    async with session_factory() as s, s.begin():
        await s.execute(update(Specialist).where(Specialist.id == a).values(is_active=True))
        await s.execute(
            update(Location).where(Location.id == main.location_id).values(is_active=False)
        )
    assert await menu.locations() == []


async def test_client_money(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    menu = BookingMenuService(session_factory)
    client_id = await make_client(session_factory, balance=Decimal("750"))
    async with session_factory() as s, s.begin():
        await s.execute(
            update(Client).where(Client.id == client_id).values(discount_percent=Decimal("15"))
        )
    money = await menu.client_money(client_id)
    assert (money.balance, money.discount_percent) == (Decimal("750.00"), Decimal("15.00"))
    unknown = await menu.client_money(client_id + 1000)
    assert (unknown.balance, unknown.discount_percent) == (Decimal(0), Decimal(0))
