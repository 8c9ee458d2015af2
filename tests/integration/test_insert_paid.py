"""`appointments.insert_paid`: the booking's debit, its appointment and its ledger row in one
statement, all three or nothing, on the real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.statuses import AppointmentStatus
from db.errors import EXCLUSION_VIOLATION, sqlstate
from db.repositories import appointments as appts
from tests.integration.factories import (
    START,
    Catalog,
    make_catalog,
    make_client,
    money_invariant_violations,
)

PRICE = Decimal("1000.00")


@pytest.fixture
async def cat(clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]) -> Catalog:
    return await make_catalog(session_factory, price=PRICE)


async def book_paid(
    session: AsyncSession,
    cat: Catalog,
    client: int,
    *,
    amount: Decimal,
    discount: Decimal = Decimal("0.00"),
    start: datetime = START,
) -> int | None:
    end = start + timedelta(minutes=cat.duration_min)
    return await appts.insert_paid(
        session,
        amount=amount,
        location_id=cat.location_id,
        service_id=cat.service_id,
        workplace_id=cat.workplace_ids[0],
        specialist_id=cat.specialist_ids[0],
        client_id=client,
        start_time=start,
        end_time=end,
        blocked_until=end,
        status=AppointmentStatus.BOOKED,
        price=amount + discount,
        discount=discount,
        booking_key=None,
    )


async def money_of(
    sessions: async_sessionmaker[AsyncSession], client: int
) -> tuple[Decimal, list[tuple[int | None, Decimal, Decimal, str]], int]:
    """The client's balance, ledger rows (appointment, amount, discount, kind) in id order,
    and appointments."""
    async with sessions() as s:
        balance = (
            await s.execute(
                text("SELECT balance FROM client_wallets WHERE client_id = :c"), {"c": client}
            )
        ).scalar_one()
        ledger = (
            await s.execute(
                text(
                    "SELECT appointment_id, amount, discount, kind FROM wallet_transactions "
                    "WHERE client_id = :c ORDER BY id"
                ),
                {"c": client},
            )
        ).all()
        booked = (
            await s.execute(
                text("SELECT count(*) FROM appointments WHERE client_id = :c"), {"c": client}
            )
        ).scalar_one()
        assert await money_invariant_violations(s) == []
    return balance, [tuple(row) for row in ledger], booked


async def test_a_covered_booking_writes_the_debit_the_appointment_and_its_ledger_row(
    cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("1500.00"))
    async with session_factory() as s, s.begin():
        booked = await book_paid(
            s, cat, client, amount=Decimal("900.00"), discount=Decimal("100.00")
        )
    assert booked is not None
    balance, ledger, count = await money_of(session_factory, client)
    assert balance == Decimal("600.00") and count == 1
    assert ledger == [
        (None, Decimal("1500.00"), Decimal("0.00"), "topup"),
        (booked, Decimal("-900.00"), Decimal("100.00"), "debit"),
    ]
    async with session_factory() as s:
        row = (
            await s.execute(
                text("SELECT price, discount, status FROM appointments WHERE id = :a"),
                {"a": booked},
            )
        ).one()
    assert tuple(row) == (PRICE, Decimal("100.00"), "booked")


async def test_a_balance_short_of_the_amount_writes_nothing(
    cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("899.99"))
    async with session_factory() as s, s.begin():
        assert await book_paid(s, cat, client, amount=Decimal("900.00")) is None
    balance, ledger, count = await money_of(session_factory, client)
    assert balance == Decimal("899.99") and count == 0
    assert ledger == [(None, Decimal("899.99"), Decimal("0.00"), "topup")]


async def test_a_taken_time_is_refused_and_takes_no_money(
    cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first, second = [await make_client(session_factory, balance=PRICE) for _ in range(2)]
    async with session_factory() as s, s.begin():
        assert await book_paid(s, cat, first, amount=PRICE) is not None
    with pytest.raises(DBAPIError) as refused:
        async with session_factory() as s, s.begin():
            await book_paid(s, cat, second, amount=PRICE, start=START + timedelta(minutes=30))
    assert sqlstate(refused.value) == EXCLUSION_VIOLATION
    balance, ledger, count = await money_of(session_factory, second)
    assert balance == PRICE and count == 0
    assert ledger == [(None, PRICE, Decimal("0.00"), "topup")]


async def test_it_takes_exactly_the_columns_a_booking_writes(
    cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as s:
        with pytest.raises(ValueError, match="insert_paid takes exactly"):
            await appts.insert_paid(s, amount=PRICE, location_id=cat.location_id)
