"""Wallet: every movement writes balance and ledger together; payments credit once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.errors import InsufficientFunds, NotAllowed, NotFound
from tests.integration.factories import (
    Engine,
    build_engine,
    make_client,
    money_invariant_violations,
)


@pytest.fixture
async def eng(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> Engine:
    return build_engine(session_factory, redis, redis_prefix)


async def ledger_count(sessions: async_sessionmaker[AsyncSession], client: int) -> int:
    async with sessions() as s:
        return int(
            (
                await s.execute(
                    text("SELECT count(*) FROM wallet_transactions WHERE client_id = :c"),
                    {"c": client},
                )
            ).scalar_one()
        )


async def assert_invariant(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        assert await money_invariant_violations(s) == []


async def test_top_up_and_adjust_move_balance_and_ledger_together(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory)
    assert await eng.wallet.top_up(client, Decimal("1500"), comment="cash", admin_id=7) == Decimal(
        "1500.00"
    )
    assert await eng.wallet.adjust(client, Decimal("-200.50"), comment="fix", admin_id=7) == (
        Decimal("1299.50")
    )
    view = await eng.wallet.balance_and_ledger(client, limit=10)
    assert view.balance == Decimal("1299.50")
    assert [(e.kind, e.amount, e.description) for e in view.entries] == [
        ("adjustment", Decimal("-200.50"), "fix"),
        ("topup", Decimal("1500.00"), "cash"),
    ]
    await assert_invariant(session_factory)


async def test_adjust_never_goes_below_zero(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("100.00"))
    with pytest.raises(InsufficientFunds) as info:
        await eng.wallet.adjust(client, Decimal("-100.01"), comment=None, admin_id=7)
    assert info.value.missing == Decimal("0.01")
    assert await ledger_count(session_factory, client) == 1  # only the initial top-up
    assert (await eng.wallet.balance_and_ledger(client)).balance == Decimal("100.00")
    # Exactly to zero is fine.
    assert await eng.wallet.adjust(client, Decimal("-100"), comment=None, admin_id=7) == 0


async def test_amounts_are_validated(eng: Engine, session_factory: async_sessionmaker) -> None:
    client = await make_client(session_factory)
    with pytest.raises(NotAllowed):
        await eng.wallet.top_up(client, Decimal("0"), comment=None, admin_id=7)
    with pytest.raises(NotAllowed):
        await eng.wallet.top_up(client, Decimal("-5"), comment=None, admin_id=7)
    with pytest.raises(NotAllowed):
        await eng.wallet.adjust(client, Decimal("0.001"), comment=None, admin_id=7)
    with pytest.raises(NotFound):
        await eng.wallet.top_up(999_999, Decimal("5"), comment=None, admin_id=7)
    assert await ledger_count(session_factory, client) == 0


async def test_payment_is_credited_once_per_charge(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory)
    assert await eng.wallet.credit_payment(client, Decimal("500"), charge_id="ch_1") is True
    assert await eng.wallet.credit_payment(client, Decimal("500"), charge_id="ch_1") is False
    # Telegram delivering the same successful payment concurrently.
    results = await asyncio.gather(
        *(eng.wallet.credit_payment(client, Decimal("300"), charge_id="ch_2") for _ in range(10))
    )
    assert results.count(True) == 1
    view = await eng.wallet.balance_and_ledger(client)
    assert view.balance == Decimal("800.00")
    assert sorted(e.amount for e in view.entries if e.kind == "payment") == [
        Decimal("300.00"),
        Decimal("500.00"),
    ]
    await assert_invariant(session_factory)


async def test_concurrent_adjustments_keep_the_invariant(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("1000.00"))
    results = await asyncio.gather(
        *(eng.wallet.adjust(client, Decimal("-150"), comment=None, admin_id=7) for _ in range(10)),
        return_exceptions=True,
    )
    ok = [r for r in results if isinstance(r, Decimal)]
    assert len(ok) == 6  # 6 x 150 = 900 <= 1000 < 7 x 150
    assert all(isinstance(r, InsufficientFunds) for r in results if not isinstance(r, Decimal))
    assert (await eng.wallet.balance_and_ledger(client)).balance == Decimal("100.00")
    await assert_invariant(session_factory)


async def test_set_discount(eng: Engine, session_factory: async_sessionmaker[AsyncSession]) -> None:
    client = await make_client(session_factory)
    assert await eng.wallet.set_discount(client, Decimal("12.5")) == Decimal("12.50")
    with pytest.raises(NotAllowed):
        await eng.wallet.set_discount(client, 101)
    with pytest.raises(NotFound):
        await eng.wallet.set_discount(999_999, 10)
    async with session_factory() as s:
        percent = (
            await s.execute(
                text("SELECT discount_percent FROM clients WHERE id = :c"), {"c": client}
            )
        ).scalar_one()
    assert percent == Decimal("12.50")
