"""PostgreSQL is the final guard: every rule here is refused by the database itself, whatever the
application checked before. Each bad row is shown rejected (SQLSTATE and constraint name) and a
good row next to it accepted, so a constraint that is too broad fails the test as well.

Rows are written with plain SQL on purpose: the guard must hold for any writer, not only the ORM.
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.integration.constraints_support import (
    CHECK,
    EXCLUSION,
    T0,
    UNIQUE,
    World,
    accepted,
    at,
    book,
    execute,
    make_world,
    refused,
    scalar,
)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await make_world(session)


# --- appointments: who is busy when ----------------------------------------------------------


async def test_specialist_cannot_overlap_including_the_break(
    session: AsyncSession, world: World
) -> None:
    # Anna, chair 1: 10:00-11:00, then a 15-minute break: busy until 11:15.
    await book(session, world, start=at(0), break_min=15)

    # Another chair and another client, but Anna is in the middle of the service.
    await refused(
        session,
        book(session, world, start=at(30), workplace=1, client=1),
        EXCLUSION,
        "ex_appointments_specialist_busy",
    )
    # Overlap only with the break part [11:00, 11:15).
    await refused(
        session,
        book(session, world, start=at(60), workplace=1, client=1),
        EXCLUSION,
        "ex_appointments_specialist_busy",
    )
    # Starts before and ends inside.
    await refused(
        session,
        book(session, world, start=at(-30), workplace=1, client=1),
        EXCLUSION,
        "ex_appointments_specialist_busy",
    )
    # Right after the break is fine.
    await accepted(session, book(session, world, start=at(75), workplace=1, client=1))
    # Another specialist at the same time is fine.
    await accepted(session, book(session, world, start=at(0), specialist=1, workplace=1, client=2))
    await session.commit()


async def test_workplace_cannot_overlap_including_the_break(
    session: AsyncSession, world: World
) -> None:
    await book(session, world, start=at(0), break_min=15)  # chair 1 busy until 11:15

    await refused(
        session,
        book(session, world, start=at(30), specialist=1, client=1),
        EXCLUSION,
        "ex_appointments_workplace_busy",
    )
    await refused(
        session,
        book(session, world, start=at(65), specialist=1, client=1),
        EXCLUSION,
        "ex_appointments_workplace_busy",
    )
    await accepted(session, book(session, world, start=at(75), specialist=1, client=1))
    await accepted(session, book(session, world, start=at(0), specialist=1, workplace=1, client=1))


async def test_client_cannot_be_in_two_places_at_once(session: AsyncSession, world: World) -> None:
    await book(session, world, start=at(0), break_min=15)

    await refused(
        session,
        book(session, world, start=at(30), specialist=1, workplace=1),
        EXCLUSION,
        "ex_appointments_client_busy",
    )
    # The break belongs to the specialist and the chair: the client is free at 11:00.
    await accepted(session, book(session, world, start=at(60), specialist=1, workplace=1))


async def test_cancelled_appointment_blocks_nothing(session: AsyncSession, world: World) -> None:
    first = await book(session, world, start=at(0), break_min=15)
    # A cancelled row may sit on top of an active one (history is kept).
    await accepted(session, book(session, world, start=at(0), client=1, status="cancelled"))

    await execute(session, "UPDATE appointments SET status = 'cancelled' WHERE id = :id", id=first)
    # The time is free again for the same specialist, chair and client.
    second = await accepted(session, book(session, world, start=at(0), break_min=15))

    # Bringing the cancelled one back to life would double-book: refused.
    await refused(
        session,
        execute(session, "UPDATE appointments SET status = 'booked' WHERE id = :id", id=first),
        EXCLUSION,
        "ex_appointments_specialist_busy",
    )
    assert second != first


async def test_back_to_back_appointments_are_allowed(session: AsyncSession, world: World) -> None:
    # Intervals are half-open [start, end): one ends exactly when the next begins.
    await book(session, world, start=at(0))
    await accepted(session, book(session, world, start=at(60)))
    await accepted(session, book(session, world, start=at(-60)))
    # With a break, the next one starts when the break ends.
    await book(session, world, start=at(120), break_min=10)
    await accepted(session, book(session, world, start=at(190)))
    await session.commit()
    count = await scalar(session, "SELECT count(*) FROM appointments WHERE status = 'booked'")
    assert count == 5


async def test_moving_onto_a_busy_time_is_refused(session: AsyncSession, world: World) -> None:
    await book(session, world, start=at(0))
    second = await book(session, world, start=at(120), client=1)
    await refused(
        session,
        execute(
            session,
            "UPDATE appointments SET start_time = :s, end_time = :e, blocked_until = :e "
            "WHERE id = :id",
            s=at(30),
            e=at(90),
            id=second,
        ),
        EXCLUSION,
        "ex_appointments_specialist_busy",
    )
    await accepted(
        session,
        execute(
            session,
            "UPDATE appointments SET start_time = :s, end_time = :e, blocked_until = :e "
            "WHERE id = :id",
            s=at(60),
            e=at(120),
            id=second,
        ),
    )


async def test_appointment_times_are_ordered(session: AsyncSession, world: World) -> None:
    await refused(
        session,
        book(session, world, start=at(0), minutes=-30),
        CHECK,
        "ck_appointments_end_after_start",
    )
    await refused(
        session,
        book(session, world, start=at(0), minutes=0),
        CHECK,
        "ck_appointments_end_after_start",
    )
    # The blocked interval covers at least the service itself.
    await refused(
        session,
        book(session, world, start=at(0), break_min=-5),
        CHECK,
        "ck_appointments_blocked_covers_service",
    )
    await accepted(session, book(session, world, start=at(0), minutes=1))


async def test_status_is_one_of_four(session: AsyncSession, world: World) -> None:
    for bad in ("pending", "BOOKED", ""):
        await refused(
            session,
            book(session, world, start=at(0), status=bad),
            CHECK,
            "ck_appointments_status_known",
        )
    for i, good in enumerate(("booked", "cancelled", "completed", "no_show")):
        await accepted(session, book(session, world, start=at(120 * i), status=good))


async def test_row_with_only_the_seed_columns_is_valid(session: AsyncSession, world: World) -> None:
    """A writer that knows only the seed design (no price, no blocked_until, ...) still produces
    a valid row, and it blocks exactly [start, end)."""
    appointment = await accepted(
        session,
        scalar(
            session,
            "INSERT INTO appointments (location_id, service_id, workplace_id, specialist_id, "
            "client_id, start_time, end_time, status, created_at, updated_at) "
            "VALUES (:loc, :svc, :wp, :sp, :cl, :start, :end, 'booked', now(), now()) "
            "RETURNING id",
            loc=world.location,
            svc=world.service,
            wp=world.workplaces[0],
            sp=world.specialists[0],
            cl=world.clients[0],
            start=at(0),
            end=at(60),
        ),
    )
    row = (
        await session.execute(
            text("SELECT end_time, blocked_until, price, discount FROM appointments WHERE id = :i"),
            {"i": appointment},
        )
    ).one()
    assert row.blocked_until == row.end_time == at(60)
    assert row.price == Decimal("0") and row.discount == Decimal("0")

    await refused(
        session,
        book(session, world, start=at(59), client=1, workplace=1),
        EXCLUSION,
        "ex_appointments_specialist_busy",
    )
    await accepted(session, book(session, world, start=at(60), client=1))


# --- money -----------------------------------------------------------------------------------


async def test_wallet_balance_never_negative(session: AsyncSession, world: World) -> None:
    client = world.clients[0]
    await execute(session, "UPDATE client_wallets SET balance = 50 WHERE client_id = :c", c=client)
    await refused(
        session,
        execute(
            session,
            "UPDATE client_wallets SET balance = balance - 50.01 WHERE client_id = :c",
            c=client,
        ),
        CHECK,
        "ck_client_wallets_balance_nonnegative",
    )
    await accepted(
        session,
        execute(
            session,
            "UPDATE client_wallets SET balance = balance - 50 WHERE client_id = :c",
            c=client,
        ),
    )
    balance = await scalar(
        session, "SELECT balance FROM client_wallets WHERE client_id = :c", c=client
    )
    assert balance == Decimal("0")


async def test_one_wallet_per_client(session: AsyncSession, world: World) -> None:
    await refused(
        session,
        execute(session, "INSERT INTO client_wallets (client_id) VALUES (:c)", c=world.clients[0]),
        UNIQUE,
        "pk_client_wallets",
    )
    newcomer = await scalar(session, "INSERT INTO clients (tg_id) VALUES (2001) RETURNING id")
    await accepted(
        session, execute(session, "INSERT INTO client_wallets (client_id) VALUES (:c)", c=newcomer)
    )


async def test_refund_and_debit_at_most_once_per_appointment(
    session: AsyncSession, world: World
) -> None:
    first = await book(session, world, start=at(0))
    second = await book(session, world, start=at(120))
    client = world.clients[0]

    async def ledger(kind: str, appointment: int, amount: str) -> None:
        await execute(
            session,
            "INSERT INTO wallet_transactions (client_id, appointment_id, amount, kind) "
            "VALUES (:c, :a, :amount, :kind)",
            c=client,
            a=appointment,
            amount=Decimal(amount),
            kind=kind,
        )

    await accepted(session, ledger("debit", first, "-1500"))
    await accepted(session, ledger("refund", first, "1500"))
    await refused(
        session, ledger("refund", first, "1500"), UNIQUE, "uq_wallet_transactions_refund_once"
    )
    await refused(
        session, ledger("debit", first, "-1500"), UNIQUE, "uq_wallet_transactions_debit_once"
    )
    # Another appointment has its own refund; a reschedule difference is not a refund.
    await accepted(session, ledger("refund", second, "1500"))
    await accepted(session, ledger("reschedule", first, "-200"))
    await accepted(session, ledger("reschedule", first, "200"))


async def test_telegram_payment_is_credited_once(session: AsyncSession, world: World) -> None:
    sql = (
        "INSERT INTO wallet_transactions (client_id, amount, kind, external_id) "
        "VALUES (:c, 500, 'payment', :ext)"
    )
    await accepted(session, execute(session, sql, c=world.clients[0], ext="charge-1"))
    await refused(
        session,
        execute(session, sql, c=world.clients[0], ext="charge-1"),
        UNIQUE,
        "uq_wallet_transactions_external_id",
    )
    await accepted(session, execute(session, sql, c=world.clients[0], ext="charge-2"))


# --- schedules, breaks, holidays -------------------------------------------------------------


TEN, SIX = time(10, 0), time(18, 0)


async def test_location_schedule_hours_and_weekday(session: AsyncSession, world: World) -> None:
    sql = (
        "INSERT INTO location_schedules (location_id, day_of_week, start_time, end_time) "
        "VALUES (:loc, :dow, :s, :e)"
    )
    name = "ck_location_schedules_hours_ordered"
    await refused(
        session, execute(session, sql, loc=world.location, dow=1, s=SIX, e=TEN), CHECK, name
    )
    await refused(
        session, execute(session, sql, loc=world.location, dow=1, s=TEN, e=TEN), CHECK, name
    )
    for dow in (0, 8):
        await refused(
            session,
            execute(session, sql, loc=world.location, dow=dow, s=TEN, e=SIX),
            CHECK,
            "ck_location_schedules_day_of_week_iso",
        )
    for dow in (1, 7):
        await accepted(session, execute(session, sql, loc=world.location, dow=dow, s=TEN, e=SIX))


async def test_specialist_schedule_hours_and_weekday(session: AsyncSession, world: World) -> None:
    sql = (
        "INSERT INTO specialist_schedules (specialist_id, location_id, day_of_week, "
        "start_time, end_time) VALUES (:sp, :loc, :dow, :s, :e)"
    )
    params = {"sp": world.specialists[0], "loc": world.location}
    name = "ck_specialist_schedules_hours_ordered"
    await refused(session, execute(session, sql, **params, dow=2, s=SIX, e=TEN), CHECK, name)
    for dow in (0, 8):
        await refused(
            session,
            execute(session, sql, **params, dow=dow, s=TEN, e=SIX),
            CHECK,
            "ck_specialist_schedules_day_of_week_iso",
        )
    for dow in (1, 7):
        await accepted(session, execute(session, sql, **params, dow=dow, s=TEN, e=SIX))


async def test_break_hours_are_ordered(session: AsyncSession, world: World) -> None:
    sql = (
        "INSERT INTO breaks (specialist_id, date, start_time, end_time) "
        "VALUES (:sp, '2030-03-04', :s, :e)"
    )
    sp = world.specialists[0]
    name = "ck_breaks_hours_ordered"
    await refused(session, execute(session, sql, sp=sp, s=time(14), e=time(13)), CHECK, name)
    # Half a range is neither a break nor a day off.
    await refused(session, execute(session, sql, sp=sp, s=time(13), e=None), CHECK, name)
    await accepted(session, execute(session, sql, sp=sp, s=time(13), e=time(14)))
    # Both empty: off the whole date.
    await accepted(session, execute(session, sql, sp=sp, s=None, e=None))


async def test_holiday_hours_are_ordered(session: AsyncSession, world: World) -> None:
    sql = (
        "INSERT INTO holidays (location_id, date, is_working, start_time, end_time) "
        "VALUES (:loc, :d, true, :s, :e)"
    )
    name = "ck_holidays_hours_ordered"
    loc = world.location
    await refused(session, execute(session, sql, loc=loc, d=T0.date(), s=SIX, e=TEN), CHECK, name)
    await accepted(session, execute(session, sql, loc=loc, d=T0.date(), s=TEN, e=SIX))
    # Regular hours of that weekday (no hours given).
    await accepted(
        session, execute(session, sql, loc=loc, d=T0.date() + timedelta(days=1), s=None, e=None)
    )


# --- admin area: specialist invites ---------------------------------------------------------------


async def test_invite_rows_keep_a_sha256_and_are_used_by_someone(
    session: AsyncSession, world: World
) -> None:
    digest = "a" * 64

    def invite(
        token_hash: str,
        *,
        lasts: timedelta = timedelta(hours=1),
        used: bool = False,
        by: bool = False,
    ) -> Any:
        return execute(
            session,
            "INSERT INTO specialist_invites (token_hash, specialist_id, created_by, created_at, "
            "expires_at, used_at, used_by) VALUES (:h, :s, 1, :t, :x, :u, :b)",
            h=token_hash,
            s=world.specialists[0],
            t=T0,
            x=T0 + lasts,
            u=T0 if used else None,
            b=42 if by else None,
        )

    await refused(session, invite("raw-token"), CHECK, "ck_specialist_invites_token_hash_sha256")
    await refused(
        session,
        invite(digest, lasts=timedelta(0)),
        CHECK,
        "ck_specialist_invites_expires_after_created",
    )
    await refused(session, invite(digest, used=True), CHECK, "ck_specialist_invites_used_with_user")
    await refused(session, invite(digest, by=True), CHECK, "ck_specialist_invites_used_with_user")
    await accepted(session, invite(digest, used=True, by=True))
