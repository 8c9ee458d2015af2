"""The outbox worker against real PostgreSQL with a scripted sender: outcomes, leases, several
workers, crashes, reminder relevance and DST-correct timing."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.domain import notification_kinds as kinds
from bot.notify.agenda import SpecialistAgenda
from bot.notify.sender import Blocked, Failed, RetryLater
from bot.notify.worker import OutboxWorker, WorkerOptions
from bot.services.clients import ClientService, TelegramUser
from bot.services.notifications import queue_booking_notifications, queue_cancel_notifications
from db.models import Appointment, Client, Outbox, Specialist
from db.repositories import outbox
from tests.integration.notify_data import World, make_appointment, make_world
from tests.integration.worker_support import FakeSender

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return load_settings(bot_token="1:test", _env_file=None, outbox_max_attempts=3)


def make_worker(
    session_factory: async_sessionmaker[AsyncSession],
    sender: FakeSender,
    settings: Settings,
    **options: object,
) -> OutboxWorker:
    opts = WorkerOptions(**{"backoff_base": dt.timedelta(seconds=10), **options})  # type: ignore[arg-type]
    return OutboxWorker(session_factory, sender, settings, options=opts)


async def booked_world(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    start: dt.datetime,
    tz: str = "Europe/Moscow",
    now: dt.datetime = NOW,
) -> tuple[World, int]:
    async with session_factory() as session, session.begin():
        world = await make_world(session, tz=tz, client_tg=1001, specialist_tg=2002)
        appt = await make_appointment(session, world, start=start)
        await queue_booking_notifications(session, appt.id, now=now, settings=settings)
    return world, appt.id


async def rows(session_factory: async_sessionmaker[AsyncSession]) -> list[Outbox]:
    async with session_factory() as session:
        return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())


async def queue_plain(
    session_factory: async_sessionmaker[AsyncSession],
    appointment_id: int,
    chats: range | list[int],
    *,
    due: dt.datetime = NOW,
) -> None:
    async with session_factory() as session, session.begin():
        for chat in chats:
            await outbox.enqueue(
                session,
                dedupe_key=f"test:{chat}",
                kind=kinds.CLIENT_CONFIRM,
                recipient="client",
                chat_id=chat,
                due_at=due,
                payload={
                    "appointment_id": appointment_id,
                    "start": (NOW + dt.timedelta(days=2)).isoformat(),
                    "tz": "Europe/Moscow",
                    "price": "10",
                    "lang": "en",
                },
                appointment_id=appointment_id,
            )


async def test_sends_due_rows_only_and_marks_them_sent(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    start = NOW + dt.timedelta(days=3)
    await booked_world(session_factory, settings, start=start)
    sender = FakeSender()
    worker = make_worker(session_factory, sender, settings)

    assert await worker.drain(now=NOW) == 2  # confirmation + specialist notice
    assert sorted(c for c, _, _ in sender.sent) == [1001, 2002]
    state = {r.kind: r for r in await rows(session_factory)}
    assert state[kinds.CLIENT_CONFIRM].status == "sent"
    assert state[kinds.CLIENT_CONFIRM].sent_at == NOW
    assert state[kinds.CLIENT_REMINDER].status == "pending"

    # Later: the 24h reminder falls due, then (at start - 2h) the second one.
    assert await worker.drain(now=start - dt.timedelta(hours=24)) == 1
    assert await worker.drain(now=start - dt.timedelta(hours=2)) == 1
    assert await worker.drain(now=start - dt.timedelta(minutes=30)) == 1  # specialist
    assert [c for c, _, _ in sender.sent[2:]] == [1001, 1001, 2002]
    assert await worker.drain(now=start + dt.timedelta(hours=3)) == 1  # the thank-you
    assert all(r.status == "sent" for r in await rows(session_factory))


async def test_reminder_of_a_cancelled_or_moved_appointment_is_not_sent(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    start = NOW + dt.timedelta(days=3)
    world, appt_id = await booked_world(session_factory, settings, start=start)
    sender = FakeSender()
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=NOW)
    # The appointment moves without the reschedule queueing (as if it came from elsewhere):
    # the worker's re-check still refuses the stale reminder.
    async with session_factory() as session, session.begin():
        appt = await session.get(Appointment, appt_id)
        assert appt is not None
        appt.start_time = start + dt.timedelta(hours=1)
        appt.end_time = appt.start_time + dt.timedelta(hours=1)
        appt.blocked_until = appt.end_time
    before = len(sender.sent)
    await worker.drain(now=start - dt.timedelta(hours=24))
    assert len(sender.sent) == before
    reminder = next(
        r
        for r in await rows(session_factory)
        if r.dedupe_key.startswith(f"appt:{appt_id}:remind:1440")
    )
    assert reminder.status == "cancelled"


async def test_specialist_reminder_is_not_sent_once_the_appointment_has_another_specialist(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    start = NOW + dt.timedelta(days=3)
    _, appt_id = await booked_world(session_factory, settings, start=start)
    sender = FakeSender()
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=NOW)
    # Handed to another specialist without the move queueing (as if it came from elsewhere).
    async with session_factory() as session, session.begin():
        other = Specialist(name="Boris", tg_id=2003)
        session.add(other)
        await session.flush()
        appt = await session.get(Appointment, appt_id)
        assert appt is not None
        appt.specialist_id = other.id
    await worker.drain(now=start - dt.timedelta(minutes=30))
    assert 2002 not in [c for c, _, _ in sender.sent[2:]]
    reminder = next(r for r in await rows(session_factory) if r.kind == kinds.SPECIALIST_REMINDER)
    assert reminder.status == "cancelled"
    # The client's reminders still went out (same appointment, same start).
    assert [c for c, _, _ in sender.sent[2:]] == [1001, 1001]


async def test_cancel_before_reminders_leaves_nothing_to_send(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    start = NOW + dt.timedelta(days=3)
    _, appt_id = await booked_world(session_factory, settings, start=start)
    async with session_factory() as session, session.begin():
        appt = await session.get(Appointment, appt_id)
        assert appt is not None
        appt.status = "cancelled"
        await session.flush()
        await queue_cancel_notifications(
            session, appt_id, cancelled_by="client", refund=Decimal("0"), now=NOW, settings=settings
        )
    sender = FakeSender()
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=start)  # everything due by the start
    # Confirmation, new-appointment notice and the specialist's cancel notice; no reminder.
    assert sorted(c for c, _, _ in sender.sent) == [1001, 2002, 2002]
    assert not [
        r
        for r in await rows(session_factory)
        if r.kind in kinds.REMINDER_KINDS and r.status != "cancelled"
    ]


async def test_retry_after_reschedules_without_counting_a_failure(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _, appt_id = await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    sender = FakeSender()
    sender.fail(1001, RetryLater(seconds=7, reason="429"))
    worker = make_worker(session_factory, sender, settings)

    await worker.run_once(now=NOW)
    confirm = next(r for r in await rows(session_factory) if r.kind == kinds.CLIENT_CONFIRM)
    assert confirm.status == "pending"
    assert confirm.due_at == NOW + dt.timedelta(seconds=7)
    assert confirm.attempts == 0 and confirm.locked_until is None
    assert await worker.drain(now=NOW + dt.timedelta(seconds=6)) == 0
    assert await worker.drain(now=NOW + dt.timedelta(seconds=7)) == 1
    assert [c for c, _, _ in sender.sent].count(1001) == 1


async def test_blocked_chat_marks_client_inactive_and_cancels_its_rows(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    world, _ = await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    sender = FakeSender()
    sender.fail(1001, Blocked(error="403: bot was blocked by the user"))
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=NOW)

    client_rows = [r for r in await rows(session_factory) if r.chat_id == 1001]
    assert {r.status for r in client_rows} == {"failed", "cancelled"}
    assert next(r for r in client_rows if r.status == "failed").last_error.startswith("403")
    async with session_factory() as session:
        client = await session.get(Client, world.client.id)
        assert client is not None and client.is_active is False
    # The specialist's rows are untouched.
    assert {r.status for r in await rows(session_factory) if r.chat_id == 2002} >= {"sent"}


async def test_errors_back_off_then_give_up_with_the_error_recorded(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    sender = FakeSender()
    sender.fail(1001, *[Failed(error="500: Internal Server Error")] * 3)
    worker = make_worker(session_factory, sender, settings)

    await worker.drain(now=NOW)
    confirm = next(r for r in await rows(session_factory) if r.kind == kinds.CLIENT_CONFIRM)
    assert (confirm.status, confirm.attempts) == ("pending", 1)
    assert confirm.due_at == NOW + dt.timedelta(seconds=10)  # base backoff
    await worker.drain(now=NOW + dt.timedelta(seconds=10))
    confirm = next(r for r in await rows(session_factory) if r.kind == kinds.CLIENT_CONFIRM)
    assert confirm.due_at == NOW + dt.timedelta(seconds=30)  # doubled: 10 + 20
    await worker.drain(now=NOW + dt.timedelta(seconds=30))
    confirm = next(r for r in await rows(session_factory) if r.kind == kinds.CLIENT_CONFIRM)
    assert (confirm.status, confirm.attempts) == ("failed", 3)
    assert confirm.last_error == "500: Internal Server Error"
    assert 1001 not in sender.per_chat()


async def test_transient_error_then_success_sends_once(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    sender = FakeSender()
    sender.fail(1001, Failed(error="500"))
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=NOW)
    await worker.drain(now=NOW + dt.timedelta(minutes=1))
    assert sender.per_chat()[1001] == 1
    confirm = next(r for r in await rows(session_factory) if r.kind == kinds.CLIENT_CONFIRM)
    assert (confirm.status, confirm.attempts) == ("sent", 2)


async def test_two_workers_send_every_row_exactly_once(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _, appt_id = await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    # The e2e test runs a thousand rows over HTTP; here the database side, smaller.
    count = int(os.environ.get("NOTIFY_TEST_ROWS", "300"))
    await queue_plain(session_factory, appt_id, range(10_000, 10_000 + count))
    sender = FakeSender()
    workers = [make_worker(session_factory, sender, settings, batch_size=40) for _ in range(2)]

    async def drive(worker: OutboxWorker) -> int:
        return await worker.drain(now=NOW)

    claimed = await asyncio.gather(*(drive(w) for w in workers))
    per_chat = sender.per_chat()
    assert all(per_chat[c] == 1 for c in range(10_000, 10_000 + count))
    assert sum(claimed) == count + 2  # plus the booking's two immediate messages
    assert min(claimed) > 0  # both took part
    async with session_factory() as session:
        sent = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == "sent")
        )
    assert sent == count + 2


async def test_worker_killed_between_claim_and_mark_resends_only_that_row(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _, appt_id = await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    async with session_factory() as session, session.begin():
        # Only the confirmation to chat 1001 is due for this test.
        await outbox.cancel_pending(session, appt_id, [kinds.SPECIALIST_NEW])
    lease = dt.timedelta(seconds=30)
    frozen = FakeSender(gate=asyncio.Event())
    doomed = make_worker(session_factory, frozen, settings, lease=lease)
    task = asyncio.create_task(doomed.run_once(now=NOW))
    await asyncio.wait_for(frozen.entered.wait(), timeout=10)
    task.cancel()  # the process dies mid-send: the row stays claimed, never marked
    with pytest.raises(asyncio.CancelledError):
        await task

    survivor_sender = FakeSender()
    survivor = make_worker(session_factory, survivor_sender, settings, lease=lease)
    # While the lease holds nobody else takes the row...
    assert await survivor.drain(now=NOW + lease - dt.timedelta(seconds=1)) == 0
    # ...after it expires the row is sent again, once.
    assert await survivor.drain(now=NOW + lease + dt.timedelta(seconds=1)) == 1
    assert survivor_sender.per_chat() == {1001: 1}
    confirm = next(r for r in await rows(session_factory) if r.kind == kinds.CLIENT_CONFIRM)
    assert (confirm.status, confirm.attempts) == ("sent", 2)
    assert await survivor.drain(now=NOW + lease * 3) == 0


@pytest.mark.parametrize(
    ("local_start", "utc_24h", "utc_2h"),
    [
        # Sunday 29 March 2026, 10:00 summer time (UTC+2): the day before was still UTC+1.
        (
            dt.datetime(2026, 3, 29, 10, 0),
            dt.datetime(2026, 3, 28, 8, 0),
            dt.datetime(2026, 3, 29, 6, 0),
        ),
        # Sunday 25 October 2026, 10:00 winter time (UTC+1): the day before was still UTC+2.
        (
            dt.datetime(2026, 10, 25, 10, 0),
            dt.datetime(2026, 10, 24, 9, 0),
            dt.datetime(2026, 10, 25, 7, 0),
        ),
    ],
)
async def test_reminders_fire_at_the_right_instant_across_dst(
    clean_db: object,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    local_start: dt.datetime,
    utc_24h: dt.datetime,
    utc_2h: dt.datetime,
) -> None:
    start = local_start.replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    booked_at = start - dt.timedelta(days=5)
    await booked_world(session_factory, settings, start=start, tz="Europe/Berlin", now=booked_at)
    sender = FakeSender()
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=booked_at)
    sent_before = len(sender.sent)
    for due in (utc_24h.replace(tzinfo=UTC), utc_2h.replace(tzinfo=UTC)):
        assert await worker.drain(now=due - dt.timedelta(seconds=1)) == 0
        assert await worker.drain(now=due) == 1
    reminders = sender.sent[sent_before:]
    assert len(reminders) == 2
    # Both show the appointment's local wall-clock time, whatever the offset that day.
    assert all("10:00" in text for _, text, _ in reminders)


async def test_stop_hands_back_the_rest_of_the_batch_unsent(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _, appt_id = await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    async with session_factory() as session, session.begin():
        await outbox.cancel_pending(session, appt_id)  # only the rows below are due
    await queue_plain(session_factory, appt_id, [777])
    async with session_factory() as session, session.begin():
        for n in range(1, 5):
            await outbox.enqueue(
                session,
                dedupe_key=f"test:777:{n}",
                kind=kinds.CLIENT_CONFIRM,
                recipient="client",
                chat_id=777,
                due_at=NOW,
                payload={"start": NOW.isoformat(), "tz": "UTC", "lang": "en"},
            )
    stop = asyncio.Event()

    class StopAfterFirst(FakeSender):
        async def send(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            result = await super().send(*args, **kwargs)  # type: ignore[arg-type]
            stop.set()  # SIGTERM arrives while the first message is on its way
            return result

    sender = StopAfterFirst()
    worker = OutboxWorker(session_factory, sender, settings, clock=lambda: NOW)
    await asyncio.wait_for(worker.run(stop), timeout=30)

    assert sender.per_chat() == {777: 1}
    left = [r for r in await rows(session_factory) if r.status == "pending"]
    assert len(left) == 4
    assert all(r.attempts == 0 and r.locked_until is None for r in left)


async def test_lease_and_batch_size_come_from_the_settings(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """OUTBOX_BATCH_SIZE rows per pass, each leased for OUTBOX_LEASE_SECONDS."""
    settings = load_settings(
        bot_token="1:test", _env_file=None, outbox_lease_seconds=120, outbox_batch_size=3
    )
    _world, appt_id = await booked_world(
        session_factory, settings, start=NOW + dt.timedelta(days=3)
    )
    await queue_plain(session_factory, appt_id, range(5001, 5006))
    gate = asyncio.Event()
    sender = FakeSender(gate=gate)
    worker = OutboxWorker(session_factory, sender, settings)
    first = asyncio.create_task(worker.run_once(now=NOW))
    await sender.entered.wait()  # the batch is claimed and its first send is in flight
    leased = [r for r in await rows(session_factory) if r.locked_until is not None]
    assert len(leased) == 3
    assert {r.locked_until for r in leased} == {NOW + dt.timedelta(seconds=120)}
    gate.set()
    assert await first == 3
    assert await worker.drain(now=NOW) == 4  # 7 due rows in all: 3 + 3 + 1


async def test_killed_after_telegram_accepted_repeats_only_that_message(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Three messages to one chat in one batch: the first is sent and marked, Telegram accepts
    the second and the process dies before marking it. After the lease the second arrives a
    second time (the one duplicate a crash may cost), the third once, the first not again."""
    _, appt_id = await booked_world(session_factory, settings, start=NOW + dt.timedelta(days=3))
    async with session_factory() as session, session.begin():
        await outbox.cancel_pending(session, appt_id)  # only the rows below are due
        for n in range(3):
            await outbox.enqueue(
                session,
                dedupe_key=f"test:4242:{n}",
                kind=kinds.CLIENT_CONFIRM,
                recipient="client",
                chat_id=4242,
                due_at=NOW + dt.timedelta(seconds=n),  # claimed (and sent) in this order
                payload={"start": NOW.isoformat(), "tz": "UTC", "service": f"#{n}", "lang": "en"},
            )
    died = asyncio.Event()

    class DiesAfterSecondAccepted(FakeSender):
        async def send(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            result = await super().send(*args, **kwargs)  # type: ignore[arg-type]
            if len(self.sent) == 2:
                died.set()
                await asyncio.Event().wait()  # never returns: the mark is never written
            return result

    lease = dt.timedelta(seconds=30)
    doomed_sender = DiesAfterSecondAccepted()
    doomed = make_worker(session_factory, doomed_sender, settings, lease=lease)
    task = asyncio.create_task(doomed.run_once(now=NOW + dt.timedelta(seconds=2)))
    await asyncio.wait_for(died.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    survivor_sender = FakeSender()
    survivor = make_worker(session_factory, survivor_sender, settings, lease=lease)
    assert await survivor.drain(now=NOW + lease) == 0  # still leased to the dead worker
    assert await survivor.drain(now=NOW + lease + dt.timedelta(seconds=3)) == 2
    texts = [t for _, t, _ in doomed_sender.sent + survivor_sender.sent]
    assert [sum(f"#{n}" in t for t in texts) for n in range(3)] == [1, 2, 1]
    assert [r.status for r in await rows(session_factory) if r.chat_id == 4242] == ["sent"] * 3


async def test_blocked_specialist_chat_is_marked_and_their_rows_dropped(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    start = NOW + dt.timedelta(days=3)
    world, _ = await booked_world(session_factory, settings, start=start)
    sender = FakeSender()
    sender.fail(2002, Blocked(error="403: bot was blocked by the user"))
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=NOW)

    specialist_rows = {r.kind: r.status for r in await rows(session_factory) if r.chat_id == 2002}
    assert specialist_rows == {
        kinds.SPECIALIST_NEW: "failed",
        kinds.SPECIALIST_REMINDER: "cancelled",
    }
    async with session_factory() as session:
        specialist = await session.get(Specialist, world.specialist.id)
        assert specialist is not None and specialist.chat_active is False
    # The client is not touched: their reminders still go out.
    assert await worker.drain(now=start - dt.timedelta(hours=2)) == 2
    assert sender.per_chat() == {1001: 3}


async def test_a_client_back_after_a_block_gets_their_reminders_again(
    clean_db: object,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """The 403 cancelled the client's reminders; their /start re-arms the ones still ahead of
    the update's time (a pinned clock long before the wall's, as the demo's clock can be after
    it: by the wall clock these reminders would be past and stay cancelled)."""
    settings = load_settings(bot_token="1:test", _env_file=None, redis_prefix=redis_prefix)
    now = NOW
    start = (now + dt.timedelta(days=3)).replace(microsecond=0)
    await booked_world(session_factory, settings, start=start, now=now)
    sender = FakeSender()
    sender.fail(1001, Blocked(error="403: bot was blocked by the user"))
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=now)
    statuses = {r.status for r in await rows(session_factory) if r.chat_id == 1001}
    assert statuses == {"failed", "cancelled"}

    await ClientService(session_factory, redis, settings).register(
        TelegramUser(tg_id=1001), now=now
    )

    client_rows = {r.kind: r for r in await rows(session_factory) if r.chat_id == 1001}
    assert client_rows[kinds.CLIENT_CONFIRM].status == "failed"  # the 403'd one stays failed
    pending = sorted(
        r.due_at for r in await rows(session_factory) if r.chat_id == 1001 and r.status == "pending"
    )
    assert pending == [
        start - dt.timedelta(hours=24),
        start - dt.timedelta(hours=2),
        start + dt.timedelta(hours=3),  # the thank-you after the visit
    ]
    await worker.drain(now=start - dt.timedelta(hours=2))
    assert sender.per_chat()[1001] == 2
    # A second /start changes nothing.
    await ClientService(session_factory, redis, settings).register(
        TelegramUser(tg_id=1001), now=now
    )
    assert len(await rows(session_factory)) == 6


async def test_a_specialist_back_after_a_block_gets_their_reminders_again(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    start = NOW + dt.timedelta(days=3)
    await booked_world(session_factory, settings, start=start)
    sender = FakeSender()
    sender.fail(2002, Blocked(error="403: bot was blocked by the user"))
    worker = make_worker(session_factory, sender, settings)
    await worker.drain(now=NOW)
    reminder = next(r for r in await rows(session_factory) if r.kind == kinds.SPECIALIST_REMINDER)
    assert reminder.status == "cancelled"

    assert await SpecialistAgenda(session_factory, settings).render_for(2002, now=NOW, lang="en")

    reminder = next(r for r in await rows(session_factory) if r.kind == kinds.SPECIALIST_REMINDER)
    assert (reminder.status, reminder.chat_id) == ("pending", 2002)
    await worker.drain(now=start - dt.timedelta(minutes=30))
    assert sender.per_chat()[2002] == 1
