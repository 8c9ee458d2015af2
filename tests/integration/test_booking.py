"""Booking engine on the real PostgreSQL and Redis: confirm, idempotency, money, cancel, moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import AsyncMock

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.errors import (
    InsufficientFunds,
    InvalidState,
    NotAllowed,
    SlotTaken,
    SlotUnavailable,
)
from bot.services.booking import Actor, AppointmentView, BookingService
from db.models import ServiceSpecialist, SpecialistSchedule
from tests.integration.factories import (
    NOW,
    START,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    hold_start,
    make_catalog,
    make_client,
    money_invariant_violations,
)

# SOON is 23 h after NOW (inside the 24 h free-cancel window); START is 25 h after.
SOON = datetime(2031, 3, 4, 5, 0, tzinfo=UTC)
RICH = Decimal("5000.00")


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
    return await make_catalog(session_factory, specialists=2, workplaces=2)


async def q(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> Any:
    async with sessions() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def balance(sessions: async_sessionmaker[AsyncSession], client: int) -> Decimal:
    return Decimal(
        await q(sessions, "SELECT balance FROM client_wallets WHERE client_id = :c", c=client)
    )


async def ledger_rows(sessions: async_sessionmaker[AsyncSession], kind: str) -> int:
    return int(
        await q(sessions, "SELECT count(*) FROM wallet_transactions WHERE kind = :k", k=kind)
    )


async def assert_money_ok(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        assert await money_invariant_violations(s) == []


async def book(eng: Engine, cat: Catalog, client: int, **kw: Any) -> AppointmentView:
    return await eng.booking.confirm(booking_request(cat, client, **kw), now=NOW)


# --- confirm --------------------------------------------------------------------------------


async def test_hold_then_confirm_books_debits_and_queues(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    hold = await hold_start(eng, cat, client)
    view = await book(eng, cat, client, hold_id=hold.hold_id)
    assert (view.start, view.end, view.status) == (START, START + timedelta(hours=1), "booked")
    assert (view.specialist_id, view.workplace_id) == (hold.specialist_id, hold.workplace_id)
    assert view.charged == cat.price
    assert await balance(session_factory, client) == RICH - cat.price
    debit = await q(
        session_factory,
        "SELECT amount FROM wallet_transactions WHERE appointment_id = :a AND kind = 'debit'",
        a=view.id,
    )
    assert debit == -cat.price
    assert (
        await q(session_factory, "SELECT count(*) FROM outbox WHERE appointment_id = :a", a=view.id)
        > 0
    )
    assert await eng.holds.get(client) is None  # released after the commit
    await assert_money_ok(session_factory)


async def test_double_confirm_sequential_makes_one_appointment_one_debit(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    req = booking_request(cat, client)
    first = await eng.booking.confirm(req, now=NOW)
    second = await eng.booking.confirm(req, now=NOW)
    assert first.id == second.id
    assert await q(session_factory, "SELECT count(*) FROM appointments") == 1
    assert await ledger_rows(session_factory, "debit") == 1
    assert await balance(session_factory, client) == RICH - cat.price


async def test_a_confirm_delivered_again_inside_the_notice_shows_what_it_booked(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The process that committed a confirm died before the reply; the update comes again
    once the start is inside the minimum notice: the hold id's appointment is the answer
    (not "this time is no longer available"), and nothing more is written. A new booking of
    that time is still refused as too soon."""
    client = await make_client(session_factory, balance=RICH)
    req = booking_request(cat, client)
    first = await eng.booking.confirm(req, now=NOW)
    late = START - timedelta(minutes=eng.settings.min_notice_min - 1)
    again = await eng.booking.confirm(req, now=late)
    assert again.id == first.id
    assert await q(session_factory, "SELECT count(*) FROM appointments") == 1
    assert await ledger_rows(session_factory, "debit") == 1
    other = await make_client(session_factory, balance=RICH)
    with pytest.raises(SlotUnavailable, match="too_soon"):
        await eng.booking.confirm(booking_request(cat, other), now=late)
    with pytest.raises(NotAllowed, match="not_your_booking"):
        await eng.booking.confirm(booking_request(cat, other, hold_id=req.hold_id), now=late)
    await assert_money_ok(session_factory)


async def test_double_confirm_concurrent_makes_one_appointment_one_debit(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    req = booking_request(cat, client)
    views = await asyncio.gather(*(eng.booking.confirm(req, now=NOW) for _ in range(8)))
    assert len({v.id for v in views}) == 1
    assert await q(session_factory, "SELECT count(*) FROM appointments") == 1
    assert await ledger_rows(session_factory, "debit") == 1
    await assert_money_ok(session_factory)


async def test_double_confirm_of_a_live_hold_concurrent_makes_one_appointment_one_debit(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """With the hold live, a confirm takes the hold id's lock in the same round trip as the
    held pair's and looks the hold id up after them: the presses still queue, and the later
    ones find the first one's appointment."""
    client = await make_client(session_factory, balance=RICH)
    hold = await hold_start(eng, cat, client)
    req = booking_request(cat, client, hold_id=hold.hold_id, specialist=hold.specialist_id)
    views = await asyncio.gather(*(eng.booking.confirm(req, now=NOW) for _ in range(8)))
    assert len({v.id for v in views}) == 1
    assert await q(session_factory, "SELECT count(*) FROM appointments") == 1
    assert await ledger_rows(session_factory, "debit") == 1
    await assert_money_ok(session_factory)


async def test_expired_hold_with_time_still_free_books(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    hold = await hold_start(eng, cat, client)
    await eng.holds.release(client)  # what expiry does
    view = await book(eng, cat, client, hold_id=hold.hold_id)
    assert view.start == START


async def test_expired_hold_with_time_taken_is_slot_taken(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(session_factory, specialists=1, workplaces=1)
    first, late = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    stale = booking_request(cat, late)  # its hold is long gone
    await book(eng, cat, first)
    with pytest.raises(SlotTaken):
        await eng.booking.confirm(stale, now=NOW)
    assert await balance(session_factory, late) == RICH
    assert await q(session_factory, "SELECT count(*) FROM appointments") == 1


async def test_another_clients_live_hold_blocks_confirm(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(session_factory, specialists=1, workplaces=1)
    holder, other = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    await hold_start(eng, cat, holder)
    with pytest.raises(SlotTaken):
        await hold_start(eng, cat, other)
    with pytest.raises(SlotTaken):
        await book(eng, cat, other)


async def test_insufficient_funds_writes_nothing(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("300.00"))
    ledger_before = await q(session_factory, "SELECT count(*) FROM wallet_transactions")
    with pytest.raises(InsufficientFunds) as info:
        await book(eng, cat, client)
    assert (info.value.price, info.value.balance, info.value.missing) == (
        cat.price,
        Decimal("300.00"),
        cat.price - Decimal("300.00"),
    )
    assert await q(session_factory, "SELECT count(*) FROM appointments") == 0
    assert await q(session_factory, "SELECT count(*) FROM wallet_transactions") == ledger_before
    assert await q(session_factory, "SELECT count(*) FROM outbox") == 0
    assert await balance(session_factory, client) == Decimal("300.00")


async def test_discount_is_applied_and_recorded(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH, discount_percent=Decimal("15"))
    view = await book(eng, cat, client)
    assert (view.price, view.discount, view.charged) == (
        Decimal("1000.00"),
        Decimal("150.00"),
        Decimal("850.00"),
    )
    async with session_factory() as s:
        amount, discount = (
            await s.execute(
                text("SELECT amount, discount FROM wallet_transactions WHERE appointment_id = :a"),
                {"a": view.id},
            )
        ).one()
    assert (amount, discount) == (Decimal("-850.00"), Decimal("150.00"))
    assert await balance(session_factory, client) == RICH - Decimal("850.00")


async def test_free_service_books_without_a_ledger_row(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(session_factory, price=Decimal("0"))
    client = await make_client(session_factory)
    view = await book(eng, cat, client)
    assert view.charged == 0
    assert (
        await q(
            session_factory,
            "SELECT count(*) FROM wallet_transactions WHERE appointment_id = :a",
            a=view.id,
        )
        == 0
    )
    result = await eng.booking.cancel(view.id, actor=Actor("client", client), now=NOW)
    assert result.refund == 0


async def test_any_specialist_prefers_the_least_busy(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    a, b = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    first = await book(eng, cat, a, start=START)
    second = await book(eng, cat, b, start=START + timedelta(hours=2))
    assert first.specialist_id != second.specialist_id


# --- cancel ---------------------------------------------------------------------------------


async def test_early_client_cancel_refunds_everything(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=START + timedelta(days=2))
    actor = Actor("client", client)
    assert await eng.booking.refund_preview(view.id, actor=actor, now=NOW) == cat.price
    result = await eng.booking.cancel(view.id, actor=actor, now=NOW)
    assert result.refund == cat.price and result.appointment.status == "cancelled"
    assert await balance(session_factory, client) == RICH
    await assert_money_ok(session_factory)


async def test_late_client_cancel_refunds_the_late_share(
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: AsyncEngine,
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix, late_cancel_refund_percent=50)
    cat = await make_catalog(session_factory)
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=SOON)
    result = await eng.booking.cancel(view.id, actor=Actor("client", client), now=NOW)
    assert result.refund == Decimal("500.00")
    assert await balance(session_factory, client) == RICH - Decimal("500.00")
    await assert_money_ok(session_factory)


async def test_late_client_cancel_refunds_nothing_by_default(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=SOON)
    result = await eng.booking.cancel(view.id, actor=Actor("client", client), now=NOW)
    assert result.refund == 0
    assert await ledger_rows(session_factory, "refund") == 0
    assert await balance(session_factory, client) == RICH - cat.price


async def test_admin_late_cancel_refunds_everything(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=SOON)
    result = await eng.booking.cancel(view.id, actor=Actor("admin", 1), now=NOW)
    assert result.refund == cat.price and result.appointment.cancelled_by == "admin"
    assert await balance(session_factory, client) == RICH


async def test_cancel_twice_refunds_once(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=START + timedelta(days=2))
    actor = Actor("client", client)
    await eng.booking.cancel(view.id, actor=actor, now=NOW)
    with pytest.raises(InvalidState):
        await eng.booking.cancel(view.id, actor=actor, now=NOW)
    assert await ledger_rows(session_factory, "refund") == 1
    assert await balance(session_factory, client) == RICH


async def test_concurrent_cancels_refund_once(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=START + timedelta(days=2))
    results = await asyncio.gather(
        *(eng.booking.cancel(view.id, actor=Actor("admin", 1), now=NOW) for _ in range(6)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, InvalidState) for r in results if isinstance(r, BaseException))
    assert await balance(session_factory, client) == RICH
    await assert_money_ok(session_factory)


async def test_cannot_cancel_someone_elses_appointment(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    owner, intruder = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    view = await book(eng, cat, owner)
    with pytest.raises(NotAllowed):
        await eng.booking.cancel(view.id, actor=Actor("client", intruder), now=NOW)
    other_specialist = next(s for s in cat.specialist_ids if s != view.specialist_id)
    with pytest.raises(NotAllowed):
        await eng.booking.cancel(view.id, actor=Actor("specialist", other_specialist), now=NOW)
    assert (
        await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=view.id)
        == "booked"
    )
    assert await balance(session_factory, owner) == RICH - cat.price
    assert await balance(session_factory, intruder) == RICH
    own = await eng.booking.cancel(view.id, actor=Actor("specialist", view.specialist_id), now=NOW)
    assert own.refund == cat.price


# --- reschedule -----------------------------------------------------------------------------


async def set_price(
    eng: Engine, sessions: async_sessionmaker[AsyncSession], cat: Catalog, price: str
) -> None:
    """A catalog change: the new price, then the catalog version bumped (as the catalog import
    and the admin's catalog changes do), so the engine's in-memory catalog sees it."""
    async with sessions() as s, s.begin():
        await s.execute(
            text("UPDATE services SET price = :p WHERE id = :s"),
            {"p": Decimal(price), "s": cat.service_id},
        )
    await eng.availability.invalidate()


async def test_reschedule_with_price_up_debits_the_difference(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=START + timedelta(days=2))
    await set_price(eng, session_factory, cat, "1300")
    moved = await eng.booking.reschedule(
        view.id, actor=Actor("client", client), new_start=START + timedelta(days=3), now=NOW
    )
    assert moved.start == START + timedelta(days=3) and moved.price == Decimal("1300.00")
    assert await balance(session_factory, client) == RICH - Decimal("1300.00")
    assert await q(
        session_factory, "SELECT amount FROM wallet_transactions WHERE kind = 'reschedule'"
    ) == (Decimal("-300.00"))
    # A later cancel refunds everything paid, both rows.
    result = await eng.booking.cancel(view.id, actor=Actor("admin", 1), now=NOW)
    assert result.refund == Decimal("1300.00")
    await assert_money_ok(session_factory)


async def test_reschedule_with_price_down_credits_back(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=START + timedelta(days=2))
    await set_price(eng, session_factory, cat, "800")
    await eng.booking.reschedule(
        view.id,
        actor=Actor("client", client),
        new_start=START + timedelta(days=2, hours=3),
        now=NOW,
    )
    assert await balance(session_factory, client) == RICH - Decimal("800.00")
    await assert_money_ok(session_factory)


async def test_reschedule_price_up_without_funds_changes_nothing(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("1000.00"))
    view = await book(eng, cat, client, start=START + timedelta(days=2))
    await set_price(eng, session_factory, cat, "1200")
    with pytest.raises(InsufficientFunds):
        await eng.booking.reschedule(
            view.id, actor=Actor("client", client), new_start=START + timedelta(days=3), now=NOW
        )
    assert await q(
        session_factory, "SELECT start_time FROM appointments WHERE id = :a", a=view.id
    ) == START + timedelta(days=2)
    assert await balance(session_factory, client) == 0


async def test_a_move_delivered_again_inside_the_notice_and_the_deadline_shows_it_moved(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A client moves an appointment to SOON (inside the free-cancel window, allowed: the
    deadline is the old start's); the same move delivered again once SOON is inside the
    minimum notice shows it moved, with no second settlement. Another move then is refused."""
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=START + timedelta(days=2))
    actor = Actor("client", client)
    moved = await eng.booking.reschedule(view.id, actor=actor, new_start=SOON, now=NOW)
    late = SOON - timedelta(minutes=eng.settings.min_notice_min - 1)
    again = await eng.booking.reschedule(view.id, actor=actor, new_start=SOON, now=late)
    assert (again.id, again.start) == (moved.id, SOON)
    assert await q(session_factory, "SELECT count(*) FROM wallet_transactions") == 2
    with pytest.raises(SlotUnavailable, match="too_soon"):
        await eng.booking.reschedule(
            view.id, actor=Actor("admin", 1), new_start=SOON - timedelta(minutes=30), now=late
        )
    await assert_money_ok(session_factory)


async def test_client_reschedule_too_late_is_refused(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client, start=SOON)
    with pytest.raises(NotAllowed, match="too_late"):
        await eng.booking.reschedule(
            view.id, actor=Actor("client", client), new_start=START + timedelta(days=1), now=NOW
        )
    # An admin still can.
    moved = await eng.booking.reschedule(
        view.id, actor=Actor("admin", 1), new_start=START + timedelta(days=1), now=NOW
    )
    assert moved.start == START + timedelta(days=1)


async def test_reschedule_into_a_taken_time_is_slot_taken(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(session_factory, specialists=1, workplaces=1)
    a, b = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    mine = await book(eng, cat, a, start=START + timedelta(days=2))
    await book(eng, cat, b, start=START + timedelta(days=3))
    with pytest.raises(SlotTaken):
        await eng.booking.reschedule(
            mine.id,
            actor=Actor("client", a),
            new_start=START + timedelta(days=3, minutes=30),
            now=NOW,
        )
    # Overlapping its own old interval is fine (the appointment itself is excluded).
    moved = await eng.booking.reschedule(
        mine.id,
        actor=Actor("client", a),
        new_start=START + timedelta(days=2, minutes=30),
        now=NOW,
    )
    assert moved.start == START + timedelta(days=2, minutes=30)


# --- marks and lists ------------------------------------------------------------------------


async def test_attendance_status_and_lists(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=RICH)
    view = await book(eng, cat, client)
    confirmed = await eng.booking.confirm_attendance(view.id, client_id=client, now=NOW)
    assert confirmed.client_confirmed_at == NOW
    with pytest.raises(InvalidState):
        await eng.booking.mark_status(view.id, actor=Actor("admin", 1), status="completed", now=NOW)
    after = START + timedelta(hours=2)
    done = await eng.booking.mark_status(
        view.id, actor=Actor("specialist", view.specialist_id), status="no_show", now=after
    )
    assert done.status == "no_show"
    assert [v.id for v in await eng.booking.list_for_client(client, now=NOW)] == []
    assert [v.id for v in await eng.booking.list_for_client(client, now=after, past=True)] == [
        view.id
    ]


class BrokenPublisher:
    """Redis gone right after the commit."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def publish(self, kind: str, **data: object) -> None:
        self.calls.append(kind)
        raise RedisConnectionError("Redis is down")


async def test_redis_failure_after_commit_does_not_fail_the_booking(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    broken = BrokenPublisher()
    booking = BookingService(
        session_factory, eng.settings, eng.availability, eng.holds, events=broken
    )
    client = await make_client(session_factory, balance=RICH)
    view = await booking.confirm(
        booking_request(cat, client, start=START + timedelta(days=2)), now=NOW
    )
    assert broken.calls == ["appointment.created", "outbox.wake"]
    assert (
        await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=view.id)
        == "booked"
    )
    result = await booking.cancel(view.id, actor=Actor("client", client), now=NOW)
    assert result.refund == cat.price
    assert broken.calls[-2:] == ["appointment.cancelled", "outbox.wake"]


async def test_a_hold_at_another_location_keeps_the_specialist_from_being_offered(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    here = await make_catalog(session_factory, specialists=1, workplaces=1)
    there = await make_catalog(session_factory, specialists=0, workplaces=1)
    (spec,) = here.specialist_ids
    async with session_factory() as s, s.begin():
        s.add_all(
            SpecialistSchedule(
                specialist_id=spec,
                location_id=there.location_id,
                day_of_week=day,
                start_time=time(8),
                end_time=time(22),
            )
            for day in range(1, 8)
        )
        s.add(ServiceSpecialist(service_id=there.service_id, specialist_id=spec))
    holder, client = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    held = await hold_start(eng, there, holder, specialist=spec)
    assert held.location_id == there.location_id

    offered = await eng.availability.day_slots(
        location_id=here.location_id,
        service_id=here.service_id,
        specialist_id=None,
        day=START.date(),
        now=NOW,
        client_id=client,
    )
    starts = {o.start for o in offered}
    assert START not in starts and START + timedelta(hours=1) in starts
    with pytest.raises(SlotTaken):
        await hold_start(eng, here, client)
    # Released there, the time is offered here again at once.
    await eng.holds.release(holder)
    offered = await eng.availability.day_slots(
        location_id=here.location_id,
        service_id=here.service_id,
        specialist_id=None,
        day=START.date(),
        now=NOW,
        client_id=client,
    )
    assert START in {o.start for o in offered}


async def test_hold_and_confirm_statement_budget(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Booking throughput is bounded by the bot's own work per booking: a hold and a confirm
    run a fixed, small number of statements. The catalog is read once per catalog version
    (the first hold here), never again per booking, and the six outbox rows go in one
    INSERT; the debit, the appointment and its ledger row go in one statement. A hold's last
    statement reads the date's appointments with their pins (a schedule row may pin one), for
    the workplace check its Lua script makes (docs/rules.md#holds); which workplaces host
    each service is catalog, read once with it."""
    first, client = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    bind = session_factory.kw["bind"].sync_engine
    event.listen(bind, "before_cursor_execute", seen)
    try:
        cold = await hold_start(eng, cat, first)
        cold_hold = len(statements)
        await book(eng, cat, first, hold_id=cold.hold_id)
        before = len(statements)
        hold = await eng.booking.hold(
            client_id=client,
            location_id=cat.location_id,
            service_id=cat.service_id,
            specialist_id=None,
            start=START + timedelta(hours=2),
            now=NOW,
        )
        held = statements[before:]
        view = await book(eng, cat, client, start=START + timedelta(hours=2), hold_id=hold.hold_id)
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    confirm = statements[before + len(held) :]
    async with session_factory() as s:
        queued = (
            await s.execute(
                text("SELECT count(*) FROM outbox WHERE appointment_id = :a"), {"a": view.id}
            )
        ).scalar_one()
    # Confirmation, specialist notice, two client reminders, the specialist's, the thank-you.
    assert queued == 6
    assert sum(s.startswith("INSERT INTO outbox") for s in confirm) == 1
    # A client waiting for nothing: the waitlist is not touched (read with the terms).
    assert not [s for s in confirm if s.startswith("UPDATE waitlist")]
    catalog_tables = ("FROM locations", "FROM services", "schedules")
    workplace_day = [s for s in held if "specialist_schedules" in s]
    assert len(workplace_day) == 1 and workplace_day[0].startswith("SELECT appointments.id")
    assert not [
        s for s in held + confirm if any(t in s for t in catalog_tables) and s not in workplace_day
    ]
    # The date's holidays and breaks are read once, in one statement, under the locks (a
    # catalog change takes them too); the look before the locks uses the calendar in memory.
    assert not [s for s in held if " holidays" in s]
    assert sum(" holidays" in s for s in confirm) == 1
    assert cold_hold <= 9, statements
    # The debit, the appointment and its ledger row go in one statement.
    paid = [s for s in confirm if "client_wallets" in s or "wallet_transactions" in s]
    assert len(paid) == 1 and paid[0].startswith("WITH debit"), paid
    assert len(held) <= 2 and len(confirm) <= 8, held + confirm


async def test_a_stale_slot_cache_never_books_and_changes_show_at_once(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    cat = await make_catalog(session_factory, specialists=1, workplaces=1)
    first, second = [await make_client(session_factory, balance=RICH) for _ in range(2)]

    async def offered() -> set[datetime]:
        slots = await eng.availability.day_slots(
            location_id=cat.location_id,
            service_id=cat.service_id,
            specialist_id=None,
            day=START.date(),
            now=NOW,
        )
        return {o.start for o in slots}

    assert START in await offered()  # cached now
    # An instance books and dies before it can invalidate the cache: the cache is stale.
    with monkeypatch.context() as patch:
        patch.setattr(eng.availability, "invalidate", AsyncMock())
        booked = await eng.booking.confirm(booking_request(cat, first), now=NOW)
    assert START in await offered()
    # The stale offer cannot be booked: the confirm reads PostgreSQL, and nothing is written.
    with pytest.raises(SlotTaken):
        await eng.booking.confirm(booking_request(cat, second), now=NOW)
    async with session_factory() as s:
        count = "SELECT count(*) FROM appointments WHERE status = 'booked'"
        assert (await s.execute(text(count))).scalar_one() == 1
        assert await money_invariant_violations(s) == []
    assert await balance(session_factory, second) == RICH
    # Changes made through the services are seen at once, without waiting for the cache TTL.
    await eng.booking.cancel(booked.id, actor=Actor("admin", 1), now=NOW)
    assert START in await offered()
    again = await eng.booking.confirm(booking_request(cat, second, hold_id="again"), now=NOW)
    assert START not in await offered()
    await eng.booking.cancel(again.id, actor=Actor("admin", 1), now=NOW)
    assert START in await offered()


async def test_a_booking_drops_the_specialists_dates_at_their_other_locations(
    eng: Engine,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The after-commit step asks where else the specialist works and drops those dates in
    the same invalidation (`AvailabilityService.elsewhere`, tested with real locations in
    tests/integration/test_availability.py)."""
    there = [(10_001, START.date())]
    asked: list[tuple[int, int, list[datetime]]] = []
    sent: list[Any] = []
    real_invalidate = eng.availability.invalidate

    async def elsewhere(specialist_id: int, location_id: int, starts: Any) -> Any:
        asked.append((specialist_id, location_id, list(starts)))
        return there

    async def invalidate(**kwargs: Any) -> None:
        sent.append(kwargs.get("elsewhere", ()))
        await real_invalidate(**kwargs)

    monkeypatch.setattr(eng.availability, "elsewhere", elsewhere)
    monkeypatch.setattr(eng.availability, "invalidate", invalidate)
    client = await make_client(session_factory, balance=RICH)
    hold = await hold_start(eng, cat, client)
    view = await book(eng, cat, client, hold_id=hold.hold_id)
    assert asked == [(view.specialist_id, cat.location_id, [view.start])]
    assert sent[-1] == there
