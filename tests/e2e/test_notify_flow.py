"""Client and specialist notifications end to end: a booking's confirmation and notice, the
reminder with "I'll come" and "Cancel" (refund shown first), cancel and move notices, a forged
reminder button — the real Dispatcher and worker over HTTP against the emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.i18n import translate
from bot.keyboards.notify import ReminderAction, ReminderCb
from bot.services.booking import Actor
from db.models import Appointment, Outbox, Specialist
from tests.e2e.notify_support import NOW, notify_bot
from tests.integration.factories import make_catalog, make_client
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

START = NOW + dt.timedelta(hours=5)  # 14:00 in Moscow
CLIENT_TG = 41_000


async def specialist_tg(sessions: async_sessionmaker[AsyncSession], specialist_id: int) -> int:
    async with sessions() as s:
        tg = await s.scalar(select(Specialist.tg_id).where(Specialist.id == specialist_id))
    assert tg is not None
    return int(tg)


async def appointment(sessions: async_sessionmaker[AsyncSession], appt_id: int) -> Appointment:
    async with sessions() as s:
        found = await s.get(Appointment, appt_id)
    assert found is not None
    return found


async def test_booking_reminder_come_and_cancel(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, price=Decimal("1500"))
    client_id = await make_client(session_factory, balance=Decimal("2000"), tg_id=CLIENT_TG)
    spec_tg = await specialist_tg(session_factory, catalog.specialist_ids[0])
    client = emulator.user(CLIENT_TG, "Ivan")
    specialist = emulator.user(spec_tg, "Anna")

    async with notify_bot(make_bot_settings()) as bot:
        appt_id = await bot.book(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=None,
            start=START,
        )
        assert await bot.deliver() == 2
        confirmation = await client.wait_for_message("Вы записаны")
        assert "пн, 3 мар. в 14:00" in (confirmation.text or "")
        assert rub(1500, "ru") in (confirmation.text or "")
        notice = await specialist.wait_for_message("Новая запись")
        assert "14:00" in (notice.text or "")

        # 24h before was already past at booking; the 2h reminder comes at 12:00 local.
        bot.clock.now = START - dt.timedelta(hours=2, seconds=1)
        assert await bot.deliver() == 0
        bot.clock.now = START - dt.timedelta(hours=2)
        assert await bot.deliver() == 1
        reminder = await client.wait_for_message("Напоминание")
        assert reminder.button_texts() == [
            translate("notify.btn.come", "ru"),
            translate("notify.btn.cancel", "ru"),
        ]

        await client.press(translate("notify.btn.come", "ru"))
        answer = await client.wait_for_callback_answer()
        assert "Спасибо" in answer.get("text", "")
        # The reminder shows the answer and keeps no buttons.
        answered = await client.wait_for_message(lambda m: m.message_id == reminder.message_id)
        assert answered.buttons == [] and "Спасибо" in (answered.text or "")
        assert (await appointment(session_factory, appt_id)).client_confirmed_at == bot.clock.now

        # Changing one's mind later: the reminder's Cancel (pressed from an older copy).
        await client.press_data(f"rem:cancel:{appt_id}", message_id=reminder.message_id)
        preview = await client.wait_for_message("Вернётся на баланс")
        # Two hours before the start is a late cancel: LATE_CANCEL_REFUND_PERCENT (0) applies.
        assert rub(0, "ru") in (preview.text or "")
        assert (await appointment(session_factory, appt_id)).status == "booked"
        await client.press(translate("notify.btn.cancel_yes", "ru"))
        await client.wait_for_message("Запись отменена")
        assert (await appointment(session_factory, appt_id)).status == "cancelled"

        # The specialist hears of it and their pending reminder is gone; the client, who
        # cancelled, gets no notice.
        client.mark()
        assert await bot.deliver() == 1
        await specialist.wait_for_message("Запись отменена клиентом")
        bot.clock.now = START
        assert await bot.deliver() == 0
        async with session_factory() as s:
            statuses = {
                r.kind: r.status
                for r in (await s.execute(select(Outbox).where(Outbox.appointment_id == appt_id)))
                .scalars()
                .all()
            }
        assert statuses["specialist.reminder"] == "cancelled"
        assert "client.cancelled" not in statuses


async def test_admin_cancel_and_move_are_told_to_the_client(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, price=Decimal("1000"))
    client_id = await make_client(session_factory, balance=Decimal("3000"), tg_id=CLIENT_TG)
    client = emulator.user(CLIENT_TG, "Ivan", language_code="en")
    admin = Actor(kind="admin", id=1)

    async with notify_bot(make_bot_settings()) as bot:
        first = await bot.book(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=None,
            start=START + dt.timedelta(days=2),
        )
        await bot.booking.reschedule(
            first, actor=admin, new_start=START + dt.timedelta(days=2, hours=1), now=bot.clock.now
        )
        await bot.deliver()
        moved = await client.wait_for_message("перенесена администратором")
        assert "ср, 5 мар. 14:00 → ср, 5 мар. в 15:00" in (moved.text or "")

        result = await bot.booking.cancel(first, actor=admin, now=bot.clock.now)
        assert result.refund == Decimal("1000")
        await bot.deliver()
        cancelled = await client.wait_for_message("отменена администратором")
        assert rub(1000, "ru") in (cancelled.text or "")
        # No reminder of the cancelled appointment is ever sent.
        client.mark()
        bot.clock.now = START + dt.timedelta(days=3)
        assert await bot.deliver() == 0


async def test_forged_reminder_button_for_another_clients_appointment(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, price=Decimal("1000"))
    owner_id = await make_client(session_factory, balance=Decimal("1000"), tg_id=CLIENT_TG)
    await make_client(session_factory, tg_id=CLIENT_TG + 1)
    intruder = emulator.user(CLIENT_TG + 1, "Eve")
    async with notify_bot(make_bot_settings()) as bot:
        appt_id = await bot.book(
            client_id=owner_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=None,
            start=START,
        )
        await intruder.send("/help")
        await intruder.wait_for_message()
        # Every reminder button checks ownership, even "keep it", which changes no data.
        for action in ReminderAction:
            await intruder.press_data(ReminderCb(action=action, appointment_id=appt_id).pack())
            answer = await intruder.wait_for_callback_answer()
            assert answer.get("text") == translate("notify.error.not_allowed", "ru"), action
        # Nothing of the intruder's was edited, nothing sent beyond the /help answer.
        assert not emulator.calls_to("editMessageText", chat_id=intruder.chat_id)
        assert len(emulator.sent_messages(intruder.chat_id)) == 1
        found = await appointment(session_factory, appt_id)
        assert found.status == "booked" and found.client_confirmed_at is None
