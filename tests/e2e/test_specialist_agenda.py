"""/agenda end to end: a linked specialist sees today and tomorrow; a client is refused; marks
work only after the start and only on the specialist's own appointments (checked on the server,
whatever the button says)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.i18n import translate
from bot.keyboards.notify import AgendaCb, AgendaMark
from db.models import Appointment, Client, Specialist
from tests.e2e.notify_support import NOW, notify_bot
from tests.integration.factories import make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

TEN = NOW + dt.timedelta(hours=1)  # 10:00 Moscow
NOON = NOW + dt.timedelta(hours=3)  # 12:00 Moscow
TOMORROW = NOW + dt.timedelta(days=1, hours=2)  # 11:00 Moscow tomorrow


async def tg_of(sessions: async_sessionmaker[AsyncSession], specialist_id: int) -> int:
    async with sessions() as s:
        tg = await s.scalar(select(Specialist.tg_id).where(Specialist.id == specialist_id))
    assert tg is not None
    return int(tg)


async def status_of(sessions: async_sessionmaker[AsyncSession], appt_id: int) -> str:
    async with sessions() as s:
        status = await s.scalar(select(Appointment.status).where(Appointment.id == appt_id))
    return str(status)


async def test_agenda_shows_and_marks_only_own_started_appointments(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, specialists=2, price=Decimal("500"))
    anna_id, boris_id = catalog.specialist_ids
    client_id = await make_client(session_factory, balance=Decimal("5000"), tg_id=51_000)
    async with session_factory() as s, s.begin():
        await s.execute(
            update(Client).where(Client.id == client_id).values(phone="+7 900 000-00-00")
        )
    anna = emulator.user(await tg_of(session_factory, anna_id), "Anna", language_code="en")
    client = emulator.user(51_000, "Ivan")

    async with notify_bot(make_bot_settings()) as bot:
        common = {
            "client_id": client_id,
            "location_id": catalog.location_id,
            "service_id": catalog.service_id,
        }
        mine = await bot.book(**common, specialist_id=anna_id, start=TEN)
        later = await bot.book(**common, specialist_id=anna_id, start=NOON)
        tomorrow = await bot.book(**common, specialist_id=anna_id, start=TOMORROW)
        theirs = await bot.book(**common, specialist_id=boris_id, start=TEN + dt.timedelta(hours=4))

        # A client (not a specialist) is refused, politely.
        await client.send("/agenda")
        refusal = await client.wait_for_message(translate("notify.agenda.not_specialist", "ru"))
        assert refusal.buttons == []

        # Anna had blocked the bot once; writing /agenda shows her chat works again.
        async with session_factory() as s, s.begin():
            await s.execute(
                update(Specialist).where(Specialist.id == anna_id).values(chat_active=False)
            )

        # Before any start: today and tomorrow, no mark buttons yet.
        await anna.send("/agenda")
        agenda = await anna.wait_for_message("Today, 03.03")
        text = agenda.text or ""
        assert "10:00" in text and "12:00" in text and "Tomorrow, 04.03" in text
        assert text.index("Tomorrow") < text.index("11:00")  # tomorrow's under tomorrow
        assert "+7 900 000-00-00" in text and "Chair 1" in text
        assert "14:00" not in text  # Boris's appointment
        assert agenda.buttons == []
        async with session_factory() as s:
            assert await s.scalar(select(Specialist.chat_active).where(Specialist.id == anna_id))

        # A forged mark before the start is refused by the server.
        await anna.press_data(AgendaCb(status=AgendaMark.completed, appointment_id=mine).pack())
        answer = await anna.wait_for_callback_answer()
        assert answer.get("text") == translate("notify.agenda.too_early", "en")
        assert await status_of(session_factory, mine) == "booked"

        # After 10:00 the started appointment gets its buttons; marking edits the agenda.
        bot.clock.now = TEN + dt.timedelta(minutes=5)
        await anna.send("/agenda")
        agenda = await anna.wait_for_message(lambda m: bool(m.buttons))
        assert agenda.button_texts() == [
            translate("notify.btn.completed", "en", time="10:00"),
            translate("notify.btn.no_show", "en", time="10:00"),
        ]
        await anna.press(translate("notify.btn.completed", "en", time="10:00"))
        answer = await anna.wait_for_callback_answer()
        assert "10:00" in answer.get("text", "")
        assert await status_of(session_factory, mine) == "completed"
        edited = await anna.wait_for_message(lambda m: "[completed]" in (m.text or ""))
        assert edited.buttons == []  # nothing else has started yet
        assert await status_of(session_factory, later) == "booked"

        # Another specialist's appointment, even after its start, cannot be marked by Anna.
        bot.clock.now = TEN + dt.timedelta(hours=5)
        await anna.press_data(AgendaCb(status=AgendaMark.no_show, appointment_id=theirs).pack())
        answer = await anna.wait_for_callback_answer()
        assert answer.get("text") == translate("notify.error.not_allowed", "en")
        assert await status_of(session_factory, theirs) == "booked"

        # The client cannot mark either (not a specialist at all).
        await client.press_data(
            AgendaCb(status=AgendaMark.completed, appointment_id=later).pack(),
            message_id=refusal.message_id,
        )
        answer = await client.wait_for_callback_answer()
        assert answer.get("text") == translate("notify.agenda.not_specialist", "ru")
        assert await status_of(session_factory, later) == "booked"
        assert await status_of(session_factory, tomorrow) == "booked"
