"""Queueing notifications: which rows a booking, a cancel, a move and a waitlist offer write."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.domain import notification_kinds as kinds
from bot.i18n import translate
from bot.notify.render import local, render
from bot.services.booking import Actor, BookingRequest
from bot.services.notifications import (
    queue_booking_notifications,
    queue_cancel_notifications,
    queue_reschedule_notifications,
    queue_waitlist_offer,
)
from db.models import Outbox, Specialist, WaitlistEntry, Workplace
from db.repositories import outbox
from tests import dates
from tests.integration.factories import NOW as FACTORY_NOW
from tests.integration.factories import (
    build_engine,
    make_catalog,
    make_client,
    money_invariant_violations,
)
from tests.integration.notify_data import make_appointment, make_world

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return load_settings(bot_token="1:test", _env_file=None)


async def _rows(session: AsyncSession, status: str | None = None) -> list[Outbox]:
    stmt = select(Outbox).order_by(Outbox.id)
    if status:
        stmt = stmt.where(Outbox.status == status)
    return list((await session.execute(stmt)).scalars())


async def test_booking_queues_confirmation_notice_and_future_reminders(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222, client_lang="en")
    start = NOW + dt.timedelta(days=3)
    appt = await make_appointment(session, world, start=start)

    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)
    rows = await _rows(session)

    by_kind = {r.kind: r for r in rows}
    assert by_kind[kinds.CLIENT_CONFIRM].chat_id == 111
    assert by_kind[kinds.CLIENT_CONFIRM].due_at == NOW
    assert by_kind[kinds.CLIENT_CONFIRM].payload["lang"] == "en"
    assert by_kind[kinds.SPECIALIST_NEW].chat_id == 222
    reminders = sorted(r.due_at for r in rows if r.kind == kinds.CLIENT_REMINDER)
    assert reminders == [start - dt.timedelta(hours=24), start - dt.timedelta(hours=2)]
    assert by_kind[kinds.SPECIALIST_REMINDER].due_at == start - dt.timedelta(minutes=30)
    # The thank-you, two hours after the visit ends (60 minutes long).
    assert by_kind[kinds.CLIENT_THANKS].due_at == start + dt.timedelta(hours=3)
    assert by_kind[kinds.CLIENT_THANKS].chat_id == 111
    assert len(rows) == 6
    assert by_kind[kinds.CLIENT_CONFIRM].payload["price"] == "1500.00"


async def test_booking_twice_queues_nothing_new(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222)
    appt = await make_appointment(session, world, start=NOW + dt.timedelta(days=3))
    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)
    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)
    assert len(await _rows(session)) == 6


async def test_reminders_already_in_the_past_are_not_created(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222)
    # 3 hours ahead: the 24h reminder is already past, the 2h one is still ahead.
    start = NOW + dt.timedelta(hours=3)
    appt = await make_appointment(session, world, start=start)
    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)
    reminders = [r for r in await _rows(session) if r.kind == kinds.CLIENT_REMINDER]
    assert [r.due_at for r in reminders] == [start - dt.timedelta(hours=2)]


async def test_recipients_without_chat_get_no_rows(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=None)
    world.client.is_active = False
    await session.flush()
    appt = await make_appointment(session, world, start=NOW + dt.timedelta(days=3))
    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)
    assert await _rows(session) == []


async def test_cancel_removes_pending_reminders_and_tells_both(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222)
    appt = await make_appointment(session, world, start=NOW + dt.timedelta(days=3))
    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)
    appt.status = "cancelled"
    await session.flush()

    await queue_cancel_notifications(
        session, appt.id, cancelled_by="admin", refund=Decimal("1500"), now=NOW, settings=settings
    )
    rows = await _rows(session)
    cancelled = {r.kind for r in rows if r.status == outbox.CANCELLED}
    assert cancelled == {kinds.CLIENT_REMINDER, kinds.SPECIALIST_REMINDER, kinds.CLIENT_THANKS}
    assert not [r for r in rows if r.status == outbox.PENDING and r.kind in kinds.REMINDER_KINDS]
    notice = next(r for r in rows if r.kind == kinds.CLIENT_CANCELLED)
    assert notice.payload["refund"] == "1500.00"
    assert any(r.kind == kinds.SPECIALIST_CANCELLED for r in rows)


async def test_client_cancel_does_not_tell_the_client(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222)
    appt = await make_appointment(session, world, start=NOW + dt.timedelta(days=3))
    await queue_cancel_notifications(
        session, appt.id, cancelled_by="client", refund=Decimal("0"), now=NOW, settings=settings
    )
    assert [r.kind for r in await _rows(session)] == [kinds.SPECIALIST_CANCELLED]


async def test_reschedule_retimes_reminders_and_moving_back_rearms_them(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222)
    first = NOW + dt.timedelta(days=3)
    second = NOW + dt.timedelta(days=4)
    appt = await make_appointment(session, world, start=first)
    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)

    appt.start_time, appt.end_time = second, second + dt.timedelta(hours=1)
    appt.blocked_until = second + dt.timedelta(minutes=75)
    await session.flush()
    await queue_reschedule_notifications(
        session,
        appt.id,
        old_start=first,
        old_specialist_id=world.specialist.id,
        old_workplace_id=world.workplace.id,
        moved_by="admin",
        now=NOW,
        settings=settings,
    )
    pending = [r for r in await _rows(session, outbox.PENDING) if r.kind == kinds.CLIENT_REMINDER]
    assert sorted(r.due_at for r in pending) == [
        second - dt.timedelta(hours=24),
        second - dt.timedelta(hours=2),
    ]
    kinds_now = [r.kind for r in await _rows(session)]
    assert kinds.CLIENT_MOVED in kinds_now and kinds.SPECIALIST_MOVED in kinds_now

    # Back to the first time: the cancelled reminders for that start are armed again.
    later = NOW + dt.timedelta(minutes=5)
    appt.start_time, appt.end_time = first, first + dt.timedelta(hours=1)
    appt.blocked_until = first + dt.timedelta(minutes=75)
    await session.flush()
    await queue_reschedule_notifications(
        session,
        appt.id,
        old_start=second,
        old_specialist_id=world.specialist.id,
        old_workplace_id=world.workplace.id,
        moved_by="client",
        now=later,
        settings=settings,
    )
    pending = await _rows(session, outbox.PENDING)
    assert sorted(r.due_at for r in pending if r.kind == kinds.CLIENT_REMINDER) == [
        first - dt.timedelta(hours=24),
        first - dt.timedelta(hours=2),
    ]
    assert len([r for r in pending if r.kind == kinds.SPECIALIST_REMINDER]) == 1
    # Moved by the client: only the specialist hears of the second move.
    moved = [r for r in await _rows(session) if r.kind == kinds.CLIENT_MOVED]
    assert len(moved) == 1


async def test_move_to_another_specialist_tells_the_old_one_and_gives_the_new_one_everything(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222, specialist_lang="en")
    other = Specialist(name="Boris", tg_id=333, language="ru")
    chair = Workplace(location_id=world.location.id, name="Chair B")
    session.add_all([other, chair])
    await session.flush()
    first, second = NOW + dt.timedelta(days=3), NOW + dt.timedelta(days=4)
    appt = await make_appointment(session, world, start=first)
    await queue_booking_notifications(session, appt.id, now=NOW, settings=settings)

    appt.start_time, appt.end_time = second, second + dt.timedelta(hours=1)
    appt.blocked_until = second + dt.timedelta(minutes=75)
    appt.specialist_id, appt.workplace_id = other.id, chair.id
    await session.flush()
    before = {r.id for r in await _rows(session)}
    await queue_reschedule_notifications(
        session,
        appt.id,
        old_start=first,
        old_specialist_id=world.specialist.id,
        old_workplace_id=world.workplace.id,
        moved_by="admin",
        now=NOW,
        settings=settings,
    )
    rows = await _rows(session)
    told = [(r.kind, r.chat_id) for r in rows if r.due_at == NOW and r.id not in before]
    assert sorted(told) == sorted(
        [
            (kinds.CLIENT_MOVED, 111),
            (kinds.SPECIALIST_REASSIGNED, 222),
            (kinds.SPECIALIST_NEW, 333),
        ]
    )
    left = next(r for r in rows if r.kind == kinds.SPECIALIST_REASSIGNED)
    text = render(left.kind, left.payload, currency="RUB").text
    assert left.payload["lang"] == "en"
    assert text == translate(
        "notify.specialist.reassigned",
        "en",
        old_date=dates.day(first, "en", ZoneInfo("Europe/Moscow")),
        old_time=local(first, "Europe/Moscow").strftime("%H:%M"),
        by=translate("notify.by.admin", "en"),
        service=world.service.name,
        location=world.location.name,
        client=left.payload["client_name"],
    )
    new = next(r for r in rows if r.kind == kinds.SPECIALIST_NEW and r.chat_id == 333)
    assert new.payload["lang"] == "ru" and new.payload["workplace"] == "Chair B"
    # The specialist reminder now goes to the new specialist only.
    pending = await _rows(session, outbox.PENDING)
    assert [(r.chat_id, r.due_at) for r in pending if r.kind == kinds.SPECIALIST_REMINDER] == [
        (333, second - dt.timedelta(minutes=30))
    ]


async def test_move_to_another_workplace_shows_the_old_and_the_new_one(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222)
    chair = Workplace(location_id=world.location.id, name="Chair B")
    session.add(chair)
    await session.flush()
    first, second = NOW + dt.timedelta(days=3), NOW + dt.timedelta(days=4)
    appt = await make_appointment(session, world, start=first)
    appt.start_time, appt.end_time = second, second + dt.timedelta(hours=1)
    appt.blocked_until = second + dt.timedelta(minutes=75)
    appt.workplace_id = chair.id
    await session.flush()
    await queue_reschedule_notifications(
        session,
        appt.id,
        old_start=first,
        old_specialist_id=world.specialist.id,
        old_workplace_id=world.workplace.id,
        moved_by="client",
        now=NOW,
        settings=settings,
    )
    rows = await _rows(session)
    assert [(r.kind, r.chat_id) for r in rows if r.due_at == NOW] == [(kinds.SPECIALIST_MOVED, 222)]
    text = render(rows[0].kind, rows[0].payload, currency="RUB").text
    assert f"{world.workplace.name} → Chair B" in text


async def test_waitlist_offer_is_queued_once(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222)
    start = NOW + dt.timedelta(days=1)
    entry = WaitlistEntry(
        client_id=world.client.id,
        location_id=world.location.id,
        service_id=world.service.id,
        date=start.date(),
        status="offered",
        offered_at=NOW,
        offered_start=start,
        offered_specialist_id=world.specialist.id,
    )
    session.add(entry)
    await session.flush()
    await queue_waitlist_offer(session, entry.id, now=NOW, settings=settings)
    await queue_waitlist_offer(session, entry.id, now=NOW, settings=settings)
    rows = await _rows(session)
    assert [r.kind for r in rows] == [kinds.CLIENT_WAITLIST_OFFER]
    assert rows[0].payload["waitlist_id"] == entry.id
    assert rows[0].payload["specialist"] == world.specialist.name


async def test_booking_service_move_onto_another_workplace_tells_the_specialist_both(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """The service passes the appointment's old workplace along: its chair is taken at the new
    time, so the move lands on the other one and the specialist's notice names both."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=2, workplaces=2)
    mine, theirs = [await make_client(session_factory, balance=Decimal("5000")) for _ in range(2)]
    first = dt.datetime(2031, 3, 6, 7, 0, tzinfo=UTC)
    second = first + dt.timedelta(days=1)
    view = await eng.booking.confirm(
        BookingRequest(
            client_id=mine,
            location_id=cat.location_id,
            service_id=cat.service_id,
            specialist_id=cat.specialist_ids[0],
            start=first,
            hold_id=uuid.uuid4().hex,
        ),
        now=FACTORY_NOW,
    )
    other = await eng.booking.confirm(
        BookingRequest(
            client_id=theirs,
            location_id=cat.location_id,
            service_id=cat.service_id,
            specialist_id=cat.specialist_ids[1],
            start=second,
            hold_id=uuid.uuid4().hex,
        ),
        now=FACTORY_NOW,
    )
    assert other.workplace_id == view.workplace_id  # the chair is taken at the new time

    moved = await eng.booking.reschedule(
        view.id, actor=Actor("client", mine), new_start=second, now=FACTORY_NOW
    )
    assert moved.workplace_id != view.workplace_id

    async with session_factory() as s:
        notice = (
            await s.execute(select(Outbox).where(Outbox.kind == kinds.SPECIALIST_MOVED))
        ).scalar_one()
        names = dict((await s.execute(select(Workplace.id, Workplace.name))).tuples().all())
        assert await money_invariant_violations(s) == []
    text = render(notice.kind, notice.payload, currency="RUB").text
    assert f"{names[view.workplace_id]} → {names[moved.workplace_id]}" in text
