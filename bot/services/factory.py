"""Builds the booking engine's services once per process, for the handlers and the worker."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.availability import AvailabilityService
from bot.services.booking import BookingService
from bot.services.events import EventBus
from bot.services.holds import HoldStore
from bot.services.waitlist import WaitlistService
from bot.services.wallet import WalletService


def build_services(
    settings: Settings, redis: Redis, session_factory: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    """The shared services under their workflow-data names (`availability`, `booking`,
    `holds`, `wallet`, `waitlist`, `events`), plus `release_hold(client_id)` for `/cancel`."""
    prefix = settings.redis_prefix
    holds = HoldStore(redis, prefix=prefix, ttl_seconds=settings.hold_ttl_seconds)
    events = EventBus(redis, prefix)
    availability = AvailabilityService(session_factory, redis, settings, holds, events=events)
    waitlist = WaitlistService(session_factory, settings, availability, holds)
    booking = BookingService(
        session_factory, settings, availability, holds, events=events, waitlist=waitlist
    )

    async def release_hold(client_id: int) -> None:
        await holds.release(client_id)

    return {
        "availability": availability,
        "booking": booking,
        "holds": holds,
        "wallet": WalletService(session_factory),
        "waitlist": waitlist,
        "events": events,
        "release_hold": release_hold,
    }
