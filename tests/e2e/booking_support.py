"""Shared set-up of the booking conversation e2e tests: the running bot with the booking engine
wired and a pinned clock, catalogs, clients, and small readers of the database state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotApp
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator, EmuMessage
from bot.emulator.users import SimUser
from bot.i18n import translate
from bot.services.availability import AvailabilityService
from bot.services.booking import BookingService
from bot.services.holds import Hold, HoldStore
from db.models import Appointment, Client, ClientWallet, WaitlistEntry, WalletTransaction
from tests.emulator.fixtures import running_bot
from tests.integration.factories import make_client

# Monday 2031-03-03 09:00 in Moscow (UTC+3, no DST): the bot's "now" in these tests.
NOW = datetime(2031, 3, 3, 6, 0, tzinfo=UTC)
TODAY = date(2031, 3, 3)
# TODAY and the next day as screens write them (CLDR's, via bot.formats), spelled out by hand.
TODAY_SHORT = {"ru": "пн, 3 мар.", "en": "Mon 3 Mar"}
TOMORROW_SHORT = {"ru": "вт, 4 мар.", "en": "Tue 4 Mar"}
SAID_TODAY = {"ru": "Сегодня", "en": "Today"}
# The Payments provider token the payment tests configure (Telegram's test-mode shape).
PROVIDER = "284685063:TEST:provider-token"


def wire_booking(app: BotApp, *, clock: Callable[[], datetime]) -> None:
    """Pin the handlers' clock (the booking engine is the one production wires)."""
    app.clock.source = clock


def pinned(app: BotApp) -> None:
    """`running_bot`'s set-up: the handlers' clock pinned at NOW."""
    wire_booking(app, clock=lambda: NOW)


@contextlib.asynccontextmanager
async def booking_bot(
    make_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[BotApp]:
    """The running bot. The simulated users press faster than a person can, so the per-user
    throttle is raised unless a test sets it."""
    overrides.setdefault("throttle_rate_per_second", 1000.0)
    settings = make_settings(**overrides)
    async with running_bot(settings, setup=pinned) as app:
        yield app


@dataclass
class Services:
    app: BotApp

    @property
    def holds(self) -> HoldStore:
        holds: HoldStore = self.app.services.holds
        return holds

    @property
    def booking(self) -> BookingService:
        booking: BookingService = self.app.services.booking
        return booking

    @property
    def availability(self) -> AvailabilityService:
        availability: AvailabilityService = self.app.services.availability
        return availability

    async def hold_of(self, client_id: int) -> Hold | None:
        return await self.holds.get(client_id)


async def set_language(
    sessions: async_sessionmaker[AsyncSession], client_id: int, lang: str
) -> None:
    async with sessions() as s, s.begin():
        await s.execute(update(Client).where(Client.id == client_id).values(language=lang))


def t(key: str, lang: str, **kw: object) -> str:
    return translate(key, lang, **kw)


def booked(lang: str) -> str:
    """The first line of the confirmation ("✅ You are booked!")."""
    return t("booking.done", lang).split("\n", 1)[0]


def is_summary(lang: str) -> Callable[[EmuMessage], bool]:
    """Matches the booking summary: the message with the Confirm button."""
    return lambda m: has_button(m, t("booking.btn.confirm", lang))


async def new_client(
    emulator: BotAPIEmulator,
    sessions: async_sessionmaker[AsyncSession],
    tg_id: int,
    *,
    lang: str = "ru",
    balance: Decimal = Decimal("5000"),
) -> tuple[SimUser, int]:
    client_id = await make_client(sessions, balance=balance, tg_id=tg_id)
    if lang != "ru":
        await set_language(sessions, client_id, lang)
    return emulator.user(tg_id, f"User{tg_id}", language_code=lang), client_id


async def appointments_of(
    sessions: async_sessionmaker[AsyncSession], client_id: int
) -> list[Appointment]:
    async with sessions() as s:
        rows = await s.scalars(
            select(Appointment).where(Appointment.client_id == client_id).order_by(Appointment.id)
        )
        return list(rows)


async def wallet_of(
    sessions: async_sessionmaker[AsyncSession], client_id: int
) -> tuple[Decimal, list[WalletTransaction]]:
    async with sessions() as s:
        balance = await s.scalar(
            select(ClientWallet.balance).where(ClientWallet.client_id == client_id)
        )
        ledger = await s.scalars(
            select(WalletTransaction)
            .where(WalletTransaction.client_id == client_id)
            .order_by(WalletTransaction.id)
        )
        return Decimal(balance or 0), list(ledger)


async def assert_money_invariant(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT w.client_id FROM client_wallets w LEFT JOIN wallet_transactions t "
                    "ON t.client_id = w.client_id GROUP BY w.client_id, w.balance "
                    "HAVING w.balance < 0 OR w.balance <> coalesce(sum(t.amount), 0)"
                )
            )
        ).all()
    assert rows == [], f"money invariant broken for clients {rows}"


async def waitlist_of(
    sessions: async_sessionmaker[AsyncSession], client_id: int
) -> list[WaitlistEntry]:
    async with sessions() as s:
        rows = await s.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.client_id == client_id)
            .order_by(WaitlistEntry.id)
        )
        return list(rows)


def flow_token(message: EmuMessage) -> str:
    """The flow token of a booking message's buttons (`bk:<flow>:<step>:<action>:<value>`)."""
    for row in message.buttons:
        for button in row:
            data = button.get("callback_data", "")
            if data.startswith("bk:"):
                return str(data.split(":")[1])
    raise AssertionError(f"no booking button in {message!r}")


def button_data(message: EmuMessage, text_part: str) -> str:
    button = message.find_button(text_part)
    assert button is not None, f"no button {text_part!r} in {message!r}"
    return str(button["callback_data"])


def has_button(message: EmuMessage, text_part: str) -> bool:
    return message.find_button(text_part) is not None


async def step(user: SimUser, press: str, expect: str, **kw: Any) -> EmuMessage:
    """Press a button and wait for the flow message to show `expect`."""
    await user.press(press)
    return await user.wait_for_message(expect, **kw)
