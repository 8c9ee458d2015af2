"""Helpers for the constraint tests: a small world written with plain SQL, and `refused` /
`accepted`, which run one write in a savepoint and check the SQLSTATE and constraint name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

EXCLUSION = "23P01"
UNIQUE = "23505"
CHECK = "23514"

T0 = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)  # a Monday, far from any real booking


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass(frozen=True)
class World:
    location: int
    service: int
    workplaces: tuple[int, int]
    specialists: tuple[int, int]
    clients: tuple[int, int, int]


async def scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    return (await session.execute(text(sql), params)).scalar_one()


async def make_world(session: AsyncSession) -> World:
    """One location (no capacity cap), one 60 + 15 min service, two workplaces, two
    specialists and three clients with wallets at 0; committed."""
    location = await scalar(
        session, "INSERT INTO locations (name, capacity) VALUES ('Center', 0) RETURNING id"
    )
    service = await scalar(
        session,
        "INSERT INTO services (name, duration_min, break_min, price) "
        "VALUES ('Haircut', 60, 15, 1500) RETURNING id",
    )
    workplaces = tuple(
        [
            await scalar(
                session,
                "INSERT INTO workplaces (location_id, name) VALUES (:loc, :name) RETURNING id",
                loc=location,
                name=name,
            )
            for name in ("Chair 1", "Chair 2")
        ]
    )
    specialists = tuple(
        [
            await scalar(session, "INSERT INTO specialists (name) VALUES (:n) RETURNING id", n=n)
            for n in ("Anna", "Boris")
        ]
    )
    clients = []
    for tg_id in (1001, 1002, 1003):
        client = await scalar(
            session, "INSERT INTO clients (tg_id) VALUES (:tg) RETURNING id", tg=tg_id
        )
        await session.execute(
            text("INSERT INTO client_wallets (client_id, balance) VALUES (:c, 0)"), {"c": client}
        )
        clients.append(client)
    await session.commit()
    return World(location, service, workplaces, specialists, tuple(clients))


async def book(
    session: AsyncSession,
    world: World,
    *,
    start: datetime,
    minutes: int = 60,
    break_min: int = 0,
    specialist: int = 0,
    workplace: int = 0,
    client: int = 0,
    status: str = "booked",
) -> int:
    """Insert an appointment. Indexes pick from the world's specialists, workplaces, clients."""
    end = start + timedelta(minutes=minutes)
    return int(
        await scalar(
            session,
            "INSERT INTO appointments (location_id, service_id, workplace_id, specialist_id, "
            "client_id, start_time, end_time, blocked_until, status, price) "
            "VALUES (:loc, :svc, :wp, :sp, :cl, :start, :end, :blocked, :status, 1500) "
            "RETURNING id",
            loc=world.location,
            svc=world.service,
            wp=world.workplaces[workplace],
            sp=world.specialists[specialist],
            cl=world.clients[client],
            start=start,
            end=end,
            blocked=end + timedelta(minutes=break_min),
            status=status,
        )
    )


async def refused(session: AsyncSession, write: Any, sqlstate: str, constraint: str) -> None:
    """`write` (a coroutine) must fail with that SQLSTATE on that constraint; the savepoint keeps
    the test's transaction usable for the good row that follows."""
    with pytest.raises(IntegrityError) as info:
        async with session.begin_nested():
            await write
    orig = info.value.orig
    assert getattr(orig, "sqlstate", None) == sqlstate, info.value
    # The driver's own exception (asyncpg) names the constraint.
    assert getattr(getattr(orig, "__cause__", None), "constraint_name", None) == constraint, (
        info.value
    )


async def accepted(session: AsyncSession, write: Any) -> Any:
    async with session.begin_nested():
        return await write


async def execute(session: AsyncSession, sql: str, **params: Any) -> None:
    await session.execute(text(sql), params)
