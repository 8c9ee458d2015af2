"""Small data builders for the notification tests (a location, a specialist, a client and their
appointments), written straight through the ORM so these tests do not depend on the booking
service."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Appointment, Client, ClientWallet, Location, Service, Specialist, Workplace

_seq = itertools.count(1)


@dataclass
class World:
    location: Location
    workplace: Workplace
    service: Service
    specialist: Specialist
    client: Client


async def make_world(
    session: AsyncSession,
    *,
    tz: str = "Europe/Moscow",
    client_tg: int | None = None,
    specialist_tg: int | None = None,
    client_lang: str = "ru",
    specialist_lang: str = "ru",
) -> World:
    n = next(_seq)
    location = Location(name=f"Loc {n}", address=f"Main st. {n}", timezone=tz)
    service = Service(name=f"Haircut {n}", duration_min=60, break_min=15, price=Decimal("1500"))
    session.add_all([location, service])
    await session.flush()
    workplace = Workplace(location_id=location.id, name=f"Chair {n}")
    specialist = Specialist(name=f"Anna {n}", tg_id=specialist_tg, language=specialist_lang)
    client = await make_client(session, tg_id=client_tg, language=client_lang)
    session.add_all([workplace, specialist])
    await session.flush()
    return World(location, workplace, service, specialist, client)


async def make_client(
    session: AsyncSession, *, tg_id: int | None, language: str = "ru", phone: str | None = None
) -> Client:
    n = next(_seq)
    client = Client(tg_id=tg_id, first_name=f"Ivan{n}", language=language, phone=phone)
    session.add(client)
    await session.flush()
    session.add(ClientWallet(client_id=client.id, balance=Decimal("0")))
    await session.flush()
    return client


async def make_appointment(
    session: AsyncSession,
    world: World,
    *,
    start: dt.datetime,
    client: Client | None = None,
    specialist: Specialist | None = None,
    status: str = "booked",
    price: Decimal = Decimal("1500"),
) -> Appointment:
    appt = Appointment(
        location_id=world.location.id,
        service_id=world.service.id,
        workplace_id=world.workplace.id,
        specialist_id=(specialist or world.specialist).id,
        client_id=(client or world.client).id,
        start_time=start,
        end_time=start + dt.timedelta(minutes=60),
        blocked_until=start + dt.timedelta(minutes=75),
        status=status,
        price=price,
    )
    session.add(appt)
    await session.flush()
    return appt
