"""Builds the booking engine's services once per process, for the bot's container and the worker."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.availability import AvailabilityService
from bot.services.booking import BookingService
from bot.services.catalog_cache import CatalogCache
from bot.services.events import EventBus
from bot.services.holds import HoldStore
from bot.services.waitlist import WaitlistService
from bot.services.wallet import WalletService


@dataclass(frozen=True, slots=True)
class Services:
    """The process-wide services. Each holds no per-update state and opens its own session (one
    transaction per use case), so one instance serves every update."""

    availability: AvailabilityService
    booking: BookingService
    catalog: CatalogCache
    holds: HoldStore
    wallet: WalletService
    waitlist: WaitlistService
    events: EventBus


def build_services(
    settings: Settings,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    catalog_sessions: async_sessionmaker[AsyncSession] | None = None,
) -> Services:
    """The services wired to each other (holds and events shared by availability and booking).

    `catalog_sessions` are the catalog cache's own sessions for its loads (default
    `session_factory`); the bot gives it an unpooled engine (`db.engine.make_unpooled_engine`),
    so an update holding a pooled connection that waits for a catalog load cannot deadlock on
    the pool when every pooled connection is held that way."""
    prefix = settings.redis_prefix
    holds = HoldStore(redis, prefix=prefix, ttl_seconds=settings.hold_ttl_seconds)
    events = EventBus(redis, prefix)
    # One catalog in memory per process, shared by the slot engine and the booking menu.
    catalog = CatalogCache(catalog_sessions or session_factory, redis, prefix)
    availability = AvailabilityService(
        session_factory, redis, settings, holds, events=events, catalog=catalog
    )
    waitlist = WaitlistService(session_factory, settings, availability, holds)
    booking = BookingService(
        session_factory, settings, availability, holds, events=events, waitlist=waitlist
    )
    return Services(
        availability=availability,
        booking=booking,
        catalog=catalog,
        holds=holds,
        wallet=WalletService(session_factory),
        waitlist=waitlist,
        events=events,
    )
