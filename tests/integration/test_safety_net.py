"""The database's safety net, exercised through the services' public methods.

The application checks availability and money first; PostgreSQL has the last word. These tests
force the cases where only the last word can decide, on the real PostgreSQL:

- a clashing appointment committed by another writer after confirm's (or reschedule's) checks
  and before its INSERT (or UPDATE): the exclusion constraint refuses it, the client gets
  `SlotTaken`, and nothing of the attempt is kept (no appointment, no debit, no move);
- a deadlock (40P01) or serialization failure (40001) raised once by PostgreSQL itself (a
  trigger counting with a sequence, which a rollback does not undo): the whole transaction runs
  again (`bot/services/transaction.py`) and the client gets one appointment, one debit (or one
  move, one refund, one payment credit);
- one Telegram charge credited from two concurrent deliveries that both pass the "already
  credited?" check: the ledger's unique index lets exactly one credit through.

After each, `balance == sum(ledger)` for every wallet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.errors import SlotTaken
from bot.services.booking import Actor
from db.repositories import appointments as appts_repo
from db.repositories import wallets as wallets_repo
from tests.integration.factories import (
    NOW,
    START,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
    money_invariant_violations,
)

RICH = Decimal("5000.00")
PRICE = Decimal("1000.00")  # make_catalog's default price, no discount
LATER = START + timedelta(hours=3)


@pytest.fixture
async def eng(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> Engine:
    return build_engine(session_factory, redis, redis_prefix)


@pytest.fixture
async def cat(eng: Engine, session_factory: async_sessionmaker[AsyncSession]) -> Catalog:
    return await make_catalog(session_factory, specialists=1, workplaces=1)


async def scalar(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> Any:
    async with sessions() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def execute(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> None:
    async with sessions() as s, s.begin():
        await s.execute(text(sql), params)


async def money_state(sessions: async_sessionmaker[AsyncSession], client: int) -> dict[str, Any]:
    """The client's balance and ledger by kind; asserts the invariant for every wallet."""
    async with sessions() as s:
        assert await money_invariant_violations(s) == []
        balance = (
            await s.execute(
                text("SELECT balance FROM client_wallets WHERE client_id = :c"), {"c": client}
            )
        ).scalar_one()
        rows = await s.execute(
            text(
                "SELECT kind, count(*), sum(amount) FROM wallet_transactions "
                "WHERE client_id = :c GROUP BY kind"
            ),
            {"c": client},
        )
        return {"balance": balance, **{kind: (n, total) for kind, n, total in rows}}


async def appointments_of(
    sessions: async_sessionmaker[AsyncSession], client: int
) -> list[tuple[Any, str]]:
    async with sessions() as s:
        rows = await s.execute(
            text("SELECT start_time, status FROM appointments WHERE client_id = :c ORDER BY id"),
            {"c": client},
        )
        return [(start, status) for start, status in rows]


async def commit_clashing_appointment(
    sessions: async_sessionmaker[AsyncSession], *, client: int, like: dict[str, Any]
) -> None:
    """Another writer's appointment on the same specialist and workplace at the same time,
    committed in its own transaction (plain SQL: no advisory locks, like any other writer)."""
    await execute(
        sessions,
        "INSERT INTO appointments (location_id, service_id, workplace_id, specialist_id, "
        "client_id, start_time, end_time, blocked_until, status, price) "
        "VALUES (:loc, :svc, :wp, :sp, :cl, :start, :end, :blocked, 'booked', 0)",
        loc=like["location_id"],
        svc=like["service_id"],
        wp=like["workplace_id"],
        sp=like["specialist_id"],
        cl=client,
        start=like["start"],
        end=like["end"],
        blocked=like["blocked_until"],
    )


# --- a clash committed between the checks and the write -----------------------------------


# A paid booking writes its debit, appointment and ledger row in one statement
# (`insert_paid`); a free one (the client's discount is 100 %) inserts the appointment alone.
@pytest.mark.parametrize(("discount", "write"), [("0", "insert_paid"), ("100", "insert")])
async def test_confirm_loses_to_a_row_committed_after_its_checks(
    eng: Engine,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    discount: str,
    write: str,
) -> None:
    client = await make_client(session_factory, balance=RICH, discount_percent=Decimal(discount))
    rival = await make_client(session_factory, balance=RICH)
    original = getattr(appts_repo, write)
    calls = []

    async def insert_after_a_rival(session: AsyncSession, **values: Any) -> Any:
        calls.append(values)
        like = {**values, "start": values["start_time"], "end": values["end_time"]}
        await commit_clashing_appointment(session_factory, client=rival, like=like)
        return await original(session, **values)

    monkeypatch.setattr(appts_repo, write, insert_after_a_rival)
    with pytest.raises(SlotTaken):
        await eng.booking.confirm(booking_request(cat, client), now=NOW)
    monkeypatch.undo()

    assert len(calls) == 1  # the checks passed; only the constraint refused the row
    assert await appointments_of(session_factory, client) == []
    assert await appointments_of(session_factory, rival) == [(START, "booked")]
    assert await money_state(session_factory, client) == {"balance": RICH, "topup": (1, RICH)}
    # The time is gone for everyone now: it is not offered any more.
    slots = await eng.availability.day_slots(
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=None,
        day=START.date(),
        now=NOW,
    )
    assert START not in {o.start for o in slots}


async def test_reschedule_loses_to_a_row_committed_after_its_checks(
    eng: Engine,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, rival = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    booked = await eng.booking.confirm(booking_request(cat, client), now=NOW)
    before = await money_state(session_factory, client)
    original = appts_repo.move
    calls = []

    async def move_after_a_rival(session: AsyncSession, appointment_id: int, **kw: Any) -> Any:
        calls.append(kw)
        like = {
            "location_id": cat.location_id,
            "service_id": cat.service_id,
            "workplace_id": kw["workplace_id"],
            "specialist_id": kw["specialist_id"],
            "start": kw["start"],
            "end": kw["end"],
            "blocked_until": kw["blocked_until"],
        }
        await commit_clashing_appointment(session_factory, client=rival, like=like)
        return await original(session, appointment_id, **kw)

    monkeypatch.setattr(appts_repo, "move", move_after_a_rival)
    with pytest.raises(SlotTaken):
        await eng.booking.reschedule(
            booked.id, actor=Actor("client", client), new_start=LATER, now=NOW
        )
    monkeypatch.undo()

    assert len(calls) == 1
    assert await appointments_of(session_factory, client) == [(START, "booked")]
    assert await appointments_of(session_factory, rival) == [(LATER, "booked")]
    assert await money_state(session_factory, client) == before
    assert before["debit"] == (1, -PRICE)


# --- a deadlock or serialization failure, once ----------------------------------------------


@pytest.fixture
async def fail_once(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """`await fail_once(sqlstate, when, table)` makes PostgreSQL raise `sqlstate` the first
    time a row of `table` (appointments by default) is written matching `when` (a trigger
    condition on OLD/NEW). The count lives in a sequence, which a rollback does not undo;
    `trigger_runs()` reads it."""

    async def arm(sqlstate: str, when: str, table: str = "appointments") -> None:
        event = "INSERT" if "OLD." not in when else "UPDATE"
        await execute(session_factory, "CREATE SEQUENCE test_fail_once_seq")
        await execute(
            session_factory,
            "CREATE FUNCTION test_fail_once() RETURNS trigger AS $$ BEGIN "
            "IF nextval('test_fail_once_seq') = 1 THEN "
            f"RAISE EXCEPTION 'injected %', '{sqlstate}' USING ERRCODE = '{sqlstate}'; "
            "END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        )
        await execute(
            session_factory,
            f"CREATE TRIGGER test_fail_once BEFORE {event} ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION test_fail_once()",
        )

    yield arm
    for table in ("appointments", "wallet_transactions"):
        await execute(session_factory, f"DROP TRIGGER IF EXISTS test_fail_once ON {table}")
    await execute(session_factory, "DROP FUNCTION IF EXISTS test_fail_once()")
    await execute(session_factory, "DROP SEQUENCE IF EXISTS test_fail_once_seq")


async def trigger_runs(sessions: async_sessionmaker[AsyncSession]) -> int:
    return int(await scalar(sessions, "SELECT last_value FROM test_fail_once_seq"))


RETRYABLE = pytest.mark.parametrize(
    "sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization"]
)


@RETRYABLE
async def test_confirm_runs_again_after_a_retryable_failure(
    eng: Engine,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
    fail_once: Callable[..., Awaitable[None]],
    sqlstate: str,
) -> None:
    client = await make_client(session_factory, balance=RICH)
    await fail_once(sqlstate, "NEW.status = 'booked'")

    view = await eng.booking.confirm(booking_request(cat, client), now=NOW)

    assert view.start == START
    assert await trigger_runs(session_factory) == 2  # failed once, then succeeded
    assert await appointments_of(session_factory, client) == [(START, "booked")]
    assert await money_state(session_factory, client) == {
        "balance": RICH - PRICE,
        "topup": (1, RICH),
        "debit": (1, -PRICE),
    }
    queued = await scalar(
        session_factory, "SELECT count(*) FROM outbox WHERE appointment_id = :a", a=view.id
    )
    assert queued > 0  # the confirmation and reminders were written once, with the booking
    assert queued == await scalar(
        session_factory,
        "SELECT count(DISTINCT dedupe_key) FROM outbox WHERE appointment_id = :a",
        a=view.id,
    )


@RETRYABLE
async def test_reschedule_runs_again_after_a_retryable_failure(
    eng: Engine,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
    fail_once: Callable[..., Awaitable[None]],
    sqlstate: str,
) -> None:
    client = await make_client(session_factory, balance=RICH)
    booked = await eng.booking.confirm(booking_request(cat, client), now=NOW)
    await fail_once(sqlstate, "OLD.start_time IS DISTINCT FROM NEW.start_time")

    moved = await eng.booking.reschedule(
        booked.id, actor=Actor("client", client), new_start=LATER, now=NOW
    )

    assert moved.start == LATER
    assert await trigger_runs(session_factory) == 2
    assert await appointments_of(session_factory, client) == [(LATER, "booked")]
    state = await money_state(session_factory, client)
    assert state["balance"] == RICH - PRICE and state["debit"] == (1, -PRICE)
    assert "reschedule" not in state  # same price: nothing to settle, and nothing twice


@RETRYABLE
async def test_cancel_runs_again_after_a_retryable_failure(
    eng: Engine,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
    fail_once: Callable[..., Awaitable[None]],
    sqlstate: str,
) -> None:
    client = await make_client(session_factory, balance=RICH)
    booked = await eng.booking.confirm(booking_request(cat, client), now=NOW)
    await fail_once(sqlstate, "OLD.status = 'booked' AND NEW.status = 'cancelled'")

    result = await eng.booking.cancel(booked.id, actor=Actor("client", client), now=NOW)

    assert result.refund == PRICE  # more than FREE_CANCEL_HOURS ahead: a full refund
    assert await trigger_runs(session_factory) == 2
    assert await appointments_of(session_factory, client) == [(START, "cancelled")]
    assert await money_state(session_factory, client) == {
        "balance": RICH,
        "topup": (1, RICH),
        "debit": (1, -PRICE),
        "refund": (1, PRICE),
    }


@RETRYABLE
async def test_a_payment_is_credited_once_after_a_retryable_failure(
    eng: Engine,
    session_factory: async_sessionmaker[AsyncSession],
    fail_once: Callable[..., Awaitable[None]],
    sqlstate: str,
) -> None:
    client = await make_client(session_factory, balance=Decimal("0"))
    await fail_once(sqlstate, "NEW.kind = 'payment'", "wallet_transactions")

    credited = await eng.wallet.credit_payment(client, Decimal("500"), charge_id="tg-charge-2")

    assert credited is True
    assert await trigger_runs(session_factory) == 2
    assert await money_state(session_factory, client) == {
        "balance": Decimal("500.00"),
        "payment": (1, Decimal("500.00")),
    }


# --- one charge, two concurrent deliveries --------------------------------------------------


async def test_a_charge_delivered_twice_at_once_is_credited_once(
    eng: Engine,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await make_client(session_factory, balance=Decimal("0"))
    original = wallets_repo.add_entry
    both_checked = asyncio.Barrier(2)
    entries = []

    async def add_entry_when_both_checked(session: AsyncSession, **values: Any) -> Any:
        # Both deliveries found no ledger row for the charge before either writes one: only
        # the unique index on external_id can keep the second out.
        entries.append(values)
        await asyncio.wait_for(both_checked.wait(), timeout=30)
        return await original(session, **values)

    monkeypatch.setattr(wallets_repo, "add_entry", add_entry_when_both_checked)
    results = await asyncio.gather(
        *(
            eng.wallet.credit_payment(client, Decimal("500"), charge_id="tg-charge-1")
            for _ in range(2)
        )
    )
    monkeypatch.undo()

    assert sorted(results) == [False, True]
    assert len(entries) == 2
    assert await money_state(session_factory, client) == {
        "balance": Decimal("500.00"),
        "payment": (1, Decimal("500.00")),
    }
