"""Set-up for the notification and specialist e2e tests: the running bot with the booking engine
wired and a movable clock, plus a worker delivering through the emulator."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiogram import Bot

from bot.app import BotApp
from bot.config import Settings
from bot.notify.runner import build_worker
from bot.notify.worker import OutboxWorker
from bot.services.booking import BookingRequest, BookingService
from bot.telegram import build_bot
from tests.emulator.fixtures import running_bot

# Monday 2031-03-03 09:00 in Moscow (UTC+3): the clock's starting point.
NOW = dt.datetime(2031, 3, 3, 6, 0, tzinfo=dt.UTC)


@dataclass
class Clock:
    now: dt.datetime = field(default=NOW)

    def __call__(self) -> dt.datetime:
        return self.now


def wire(app: BotApp, clock: Clock) -> None:
    """Pin the handlers' clock (the booking engine is the one production wires)."""
    app.clock.source = clock


@dataclass
class NotifyBot:
    app: BotApp
    clock: Clock
    worker: OutboxWorker

    @property
    def booking(self) -> BookingService:
        booking: BookingService = self.app.services.booking
        return booking

    async def deliver(self) -> int:
        """Send everything due at the clock's time."""
        return await self.worker.drain(now=self.clock.now)

    async def book(
        self,
        *,
        client_id: int,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        start: dt.datetime,
    ) -> int:
        view = await self.booking.confirm(
            BookingRequest(
                client_id=client_id,
                location_id=location_id,
                service_id=service_id,
                specialist_id=specialist_id,
                start=start,
                hold_id=f"test-{client_id}-{start.timestamp()}",
            ),
            now=self.clock.now,
        )
        return view.id


@contextlib.asynccontextmanager
async def notify_bot(settings: Settings) -> AsyncIterator[NotifyBot]:
    clock = Clock()
    async with running_bot(settings, setup=lambda app: wire(app, clock)) as app:
        sender_bot: Bot = build_bot(settings)
        try:
            worker = build_worker(
                settings,
                bot=sender_bot,
                redis=app.redis,
                session_factory=app.session_factory,
            )
            yield NotifyBot(app=app, clock=clock, worker=worker)
        finally:
            await sender_bot.session.close()
