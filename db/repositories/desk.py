"""Front-desk queries: finding clients, their card, walk-in clients, and the day's appointments.

They never commit; the admin use cases own the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Appointment, Client, ClientWallet, WalletTransaction
from db.repositories.appointments import ViewRow, view_select
from db.repositories.names import escape_like
from db.repositories.wallets import CHARGE_KINDS


async def clients_by_phone(session: AsyncSession, phone: str, *, limit: int) -> Sequence[Client]:
    result = await session.execute(
        select(Client).where(Client.phone == phone).order_by(Client.id).limit(limit)
    )
    return result.scalars().all()


async def find_clients(
    session: AsyncSession,
    *,
    client_id: int | None = None,
    tg_id: int | None = None,
    username: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    limit: int,
    offset: int = 0,
) -> tuple[Sequence[Client], int]:
    """Clients matching any of the given criteria (every client when none is given), by name
    then id: `limit` of them after skipping `offset`, and how many match in all. `name` matches
    part of the first, last or full name (case-insensitive), `username` case-insensitively."""
    conditions: list[ColumnElement[bool]] = []
    if client_id is not None:
        conditions.append(Client.id == client_id)
    if tg_id is not None:
        conditions.append(Client.tg_id == tg_id)
    if username is not None:
        conditions.append(func.lower(Client.username) == username.lower())
    if phone is not None:
        conditions.append(Client.phone == phone)
    if name is not None:
        pattern = f"%{escape_like(name)}%"
        full = func.concat_ws(" ", Client.first_name, Client.last_name)
        conditions += [
            Client.first_name.ilike(pattern, escape="\\"),
            Client.last_name.ilike(pattern, escape="\\"),
            full.ilike(pattern, escape="\\"),
        ]
    where = or_(*conditions) if conditions else true()
    total = await session.scalar(select(func.count()).select_from(Client).where(where))
    result = await session.execute(
        select(Client)
        .where(where)
        .order_by(Client.first_name.nulls_last(), Client.last_name.nulls_last(), Client.id)
        .limit(limit)
        .offset(offset)
    )
    return result.scalars().all(), int(total or 0)


async def client_names(session: AsyncSession, client_ids: Sequence[int]) -> dict[int, str]:
    """The full name of each client (empty when they gave none), by id."""
    if not client_ids:
        return {}
    full = func.concat_ws(" ", Client.first_name, Client.last_name)
    result = await session.execute(select(Client.id, full).where(Client.id.in_(client_ids)))
    return {int(r[0]): str(r[1] or "") for r in result}


async def client_for_update(session: AsyncSession, client_id: int) -> Client | None:
    return await session.get(Client, client_id, with_for_update=True, populate_existing=True)


async def add_walk_in(
    session: AsyncSession, *, first_name: str, last_name: str | None, phone: str, language: str
) -> int:
    """A client with no Telegram account (`tg_id` NULL) and an empty wallet; the new id."""
    client = Client(first_name=first_name, last_name=last_name, phone=phone, language=language)
    session.add(client)
    await session.flush()
    session.add(ClientWallet(client_id=client.id))
    await session.flush()
    return client.id


async def set_blocked(session: AsyncSession, client_id: int, blocked: bool) -> None:
    await session.execute(update(Client).where(Client.id == client_id).values(is_blocked=blocked))


async def set_notes(session: AsyncSession, client_id: int, notes: str | None) -> None:
    await session.execute(update(Client).where(Client.id == client_id).values(notes=notes))


async def no_show_count(session: AsyncSession, client_id: int) -> int:
    result = await session.scalar(
        select(func.count()).where(
            Appointment.client_id == client_id, Appointment.status == "no_show"
        )
    )
    return int(result or 0)


async def day_rows(
    session: AsyncSession,
    *,
    start: dt.datetime,
    end: dt.datetime,
    location_id: int | None,
    specialist_id: int | None,
) -> Sequence[ViewRow]:
    """Appointments starting in [start, end) at the location or of the specialist, by time."""
    stmt = view_select().where(Appointment.start_time >= start, Appointment.start_time < end)
    if location_id is not None:
        stmt = stmt.where(Appointment.location_id == location_id)
    if specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == specialist_id)
    stmt = stmt.order_by(Appointment.start_time, Appointment.id)
    return (await session.execute(stmt)).all()


async def paid_for(session: AsyncSession, appointment_ids: Sequence[int]) -> dict[int, Decimal]:
    """What the client paid for each appointment (debit and reschedule rows, negated)."""
    if not appointment_ids:
        return {}
    result = await session.execute(
        select(WalletTransaction.appointment_id, -func.sum(WalletTransaction.amount))
        .where(
            WalletTransaction.appointment_id.in_(appointment_ids),
            WalletTransaction.kind.in_(CHARGE_KINDS),
        )
        .group_by(WalletTransaction.appointment_id)
    )
    return {int(r[0]): Decimal(r[1]) for r in result}
