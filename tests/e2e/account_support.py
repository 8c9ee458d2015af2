"""Shared set-up of the account e2e tests (/my, cancel, reschedule, /wallet, payments): the real
bot with the booking engine wired and a clock the test moves, appointments booked through the
real engine (so the ledger is what production writes), and readers of the database state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotApp
from bot.config import Settings
from bot.emulator.server import EmuMessage
from bot.emulator.users import SimUser
from bot.services.booking import AppointmentView, BookingRequest, BookingService
from db.models import Appointment, WalletTransaction
from tests import dates
from tests.e2e.booking_support import NOW, t, wire_booking
from tests.emulator.fixtures import running_bot
from tests.integration.factories import TZ, Catalog

ZONE = ZoneInfo(TZ)


@dataclass
class Clock:
    """The bot's "now"; a test moves it forward to turn upcoming appointments into past ones."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def account_bot(settings: Settings, clock: Clock | None = None) -> AsyncIterator[BotApp]:
    the_clock = clock or Clock()
    async with running_bot(settings, setup=lambda app: wire_booking(app, clock=the_clock)) as app:
        yield app


def local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """An instant `day_offset` days after NOW's local date, at `hour:minute` Moscow time."""
    day = NOW.astimezone(ZONE).date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def ddmm(instant: datetime) -> str:
    """`DD.MM`: a date picker's button (the picker keeps its compact labels)."""
    return instant.astimezone(ZONE).strftime("%d.%m")


def date_text(instant: datetime, lang: str) -> str:
    """The local date as a text writes it: `Mon 3 Mar` / `пн, 3 мар.` (`tests.dates`)."""
    return dates.day(instant, lang, ZONE)


def hhmm(instant: datetime) -> str:
    return instant.astimezone(ZONE).strftime("%H:%M")


async def open_card(
    user: SimUser, view: AppointmentView, lang: str, *, command: bool = True
) -> EmuMessage:
    """/my (or, with `command=False`, a list already asked for) -> the appointment's card."""
    if command:
        await user.send("/my")
    await user.wait_for_message(t("account.my.upcoming_title", lang))
    await user.press(f"{date_text(view.start, lang)} {hhmm(view.start)}")
    return await user.wait_for_message(view.service_name)


async def book(
    app: BotApp,
    client_id: int,
    catalog: Catalog,
    start: datetime,
    *,
    now: datetime = NOW,
    specialist_index: int | None = 0,
) -> AppointmentView:
    """Book through the real engine: hold, then confirm (debit, ledger, outbox). The specialist
    is the catalog's `specialist_index`-th, or any free one when it is None."""
    booking: BookingService = app.services.booking
    specialist_id = None if specialist_index is None else catalog.specialist_ids[specialist_index]
    hold = await booking.hold(
        client_id=client_id,
        location_id=catalog.location_id,
        service_id=catalog.service_id,
        specialist_id=specialist_id,
        start=start,
        now=now,
    )
    return await booking.confirm(
        BookingRequest(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=specialist_id,
            start=start,
            hold_id=hold.hold_id,
        ),
        now=now,
    )


async def appointment(
    sessions: async_sessionmaker[AsyncSession], appointment_id: int
) -> Appointment:
    async with sessions() as s:
        row = await s.get(Appointment, appointment_id)
        assert row is not None
        return row


async def ledger_of(
    sessions: async_sessionmaker[AsyncSession], client_id: int, kind: str | None = None
) -> list[WalletTransaction]:
    async with sessions() as s:
        stmt = select(WalletTransaction).where(WalletTransaction.client_id == client_id)
        if kind is not None:
            stmt = stmt.where(WalletTransaction.kind == kind)
        return list(await s.scalars(stmt.order_by(WalletTransaction.id)))
