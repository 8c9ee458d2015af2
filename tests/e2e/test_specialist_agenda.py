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
from bot.keyboards.notify import AgendaCb, AgendaMark, ScheduleView
from db.models import Appointment, Client, Specialist
from tests.e2e.booking_support import set_language
from tests.e2e.notify_support import NOW, notify_bot
from tests.integration.factories import make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

TEN = NOW + dt.timedelta(hours=1)  # 10:00 Moscow
NOON = NOW + dt.timedelta(hours=3)  # 12:00 Moscow
TOMORROW = NOW + dt.timedelta(days=1, hours=2)  # 11:00 Moscow tomorrow
NAV_EN = [translate(f"notify.schedule.{v.value}", "en") for v in ScheduleView]


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
        agenda = await anna.wait_for_message("Today, Mon 3 Mar")
        text = agenda.text or ""
        assert "10:00" in text and "12:00" in text and "Tomorrow, Tue 4 Mar" in text
        assert text.index("Tomorrow") < text.index("11:00")  # tomorrow's under tomorrow
        assert "+7 900 000-00-00" in text and "Chair 1" in text
        assert "14:00" not in text  # Boris's appointment
        assert agenda.button_texts() == NAV_EN  # only the Today / Tomorrow / Week row
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
        agenda = await anna.wait_for_message(lambda m: len(m.button_texts()) > 3)
        assert agenda.button_texts() == [
            translate("notify.btn.completed", "en", time="10:00"),
            translate("notify.btn.no_show", "en", time="10:00"),
            *NAV_EN,
        ]
        await anna.press(translate("notify.btn.completed", "en", time="10:00"))
        answer = await anna.wait_for_callback_answer()
        # The toast says what the button said: "came", not "completed".
        assert answer.get("text") == "Marked: 10:00 — came"
        assert await status_of(session_factory, mine) == "completed"
        edited = await anna.wait_for_message(lambda m: "[completed]" in (m.text or ""))
        # Nothing else has started yet; the mark can be taken back today.
        assert edited.button_texts() == [translate("notify.btn.undo", "en", time="10:00"), *NAV_EN]
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


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_specialist_home_views_and_open_schedule_from_a_notice(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A specialist's /start shows their day with Today / Tomorrow / Week; a notice about a new
    appointment carries "Open schedule"; a client's /start shows no schedule."""
    catalog = await make_catalog(session_factory, specialists=1, price=Decimal("500"))
    [anna_id] = catalog.specialist_ids
    async with session_factory() as s, s.begin():
        await s.execute(update(Specialist).where(Specialist.id == anna_id).values(language=lang))
    client_id = await make_client(session_factory, balance=Decimal("5000"), tg_id=52_000)
    await set_language(session_factory, client_id, lang)
    anna = emulator.user(await tg_of(session_factory, anna_id), "Anna", language_code=lang)
    client = emulator.user(52_000, "Ivan", language_code=lang)
    nav = [translate(f"notify.schedule.{v.value}", lang) for v in ScheduleView]

    async with notify_bot(make_bot_settings()) as bot:
        common = {
            "client_id": client_id,
            "location_id": catalog.location_id,
            "service_id": catalog.service_id,
            "specialist_id": anna_id,
        }
        await bot.book(**common, start=TEN)
        await bot.book(**common, start=NOON)
        await bot.book(**common, start=NOW + dt.timedelta(days=3, hours=4))  # Thu 13:00

        await anna.send("/start")
        home = await anna.wait_for_message(lambda m: bool(m.buttons))
        count = translate(
            "notify.home.count.few" if lang == "ru" else "notify.home.count.other", lang, n=2
        )
        assert translate("notify.home.next", lang, count=count, time="10:00") in (home.text or "")
        assert home.button_texts()[:3] == nav

        await anna.press(nav[2])  # the week
        week = await anna.wait_for_message(lambda m: "13:00" in (m.text or ""))
        assert week.message_id == home.message_id  # the home became the schedule
        assert "10:00" in (week.text or "") and "12:00" in (week.text or "")
        await anna.press(nav[1])  # tomorrow: nothing
        tomorrow = await anna.wait_for_message(translate("notify.agenda.empty", lang))
        assert "10:00" not in (tomorrow.text or "")

        # The worker's notice of a new appointment has "Open schedule"; it opens today below.
        await bot.deliver()
        notice = await anna.wait_for_message(
            lambda m: m.find_button(translate("notify.btn.open_schedule", lang)) is not None,
            edits=False,
        )
        await anna.press_data(notice.buttons[0][0]["callback_data"], message_id=notice.message_id)
        today = await anna.wait_for_message(lambda m: "12:00" in (m.text or ""), edits=False)
        assert "13:00" not in (today.text or "") and today.message_id != notice.message_id

        # A client's /start: the greeting, no schedule.
        await client.send("/start")
        greeting = await client.wait_for_message()
        assert not any(b in greeting.button_texts() for b in nav)
        # A client pressing a schedule button is refused.
        await client.press_data("sch:week", message_id=greeting.message_id)
        answer = await client.wait_for_callback_answer()
        assert answer.get("text") == translate("notify.agenda.not_specialist", lang)


async def test_an_old_mark_button_of_a_cancelled_appointment_says_so(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, specialists=1, price=Decimal("500"))
    (anna_id,) = catalog.specialist_ids
    client_id = await make_client(session_factory, balance=Decimal("5000"), tg_id=51_001)
    anna = emulator.user(await tg_of(session_factory, anna_id), "Anna", language_code="en")
    async with notify_bot(make_bot_settings()) as bot:
        mine = await bot.book(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=anna_id,
            start=TEN,
        )
        bot.clock.now = TEN + dt.timedelta(minutes=5)
        await anna.send("/agenda")
        agenda = await anna.wait_for_message(lambda m: len(m.button_texts()) > 3)
        # Cancelled meanwhile (say, by an admin) while the agenda is still on screen.
        async with session_factory() as s, s.begin():
            await s.execute(
                update(Appointment).where(Appointment.id == mine).values(status="cancelled")
            )
        await anna.press(translate("notify.btn.completed", "en", time="10:00"))
        answer = await anna.wait_for_callback_answer()
        assert answer.get("text") == translate("notify.agenda.already_cancelled", "en")
        assert await status_of(session_factory, mine) == "cancelled"
        redrawn = await anna.wait_for_message(
            lambda m: m.message_id == agenda.message_id and len(m.button_texts()) == len(NAV_EN)
        )
        assert redrawn.button_texts() == NAV_EN
