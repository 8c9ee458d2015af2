"""Small catalog factory for integration tests: ORM inserts, committed, ids returned.

`make_catalog` builds one location open every day, its workplaces, one service and specialists
who work there every day and can do the service on every workplace. `make_client` creates a
client with a wallet whose balance is backed by a ledger row, so the money invariant
`balance == sum(wallet_transactions.amount)` holds from the start.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.domain.walltime import WallTime
from bot.services.availability import AvailabilityService
from bot.services.booking import BookingRequest, BookingService
from bot.services.events import EventBus
from bot.services.holds import Hold, HoldStore
from bot.services.waitlist import WaitlistService
from bot.services.wallet import WalletService
from db.models import (
    Client,
    ClientWallet,
    Location,
    LocationSchedule,
    Service,
    ServiceSpecialist,
    Specialist,
    SpecialistSchedule,
    WalletTransaction,
    Workplace,
    WorkplaceService,
)

# A Monday 09:00 in Moscow (UTC+3 all year, no DST): far from any real booking.
NOW = datetime(2031, 3, 3, 6, 0, tzinfo=UTC)
# Tuesday 10:00 in Moscow, 25 h after NOW (outside the 24 h free-cancel window).
START = datetime(2031, 3, 4, 7, 0, tzinfo=UTC)
TZ = "Europe/Moscow"
# The Telegram id of the admin the tests act as (in ADMIN_IDS of every engine built here).
DESK_ADMIN = 1

_seq = itertools.count(1)


def unique(name: str) -> str:
    return f"{name} {next(_seq)}"


@dataclass(frozen=True)
class Catalog:
    location_id: int
    service_id: int
    workplace_ids: tuple[int, ...]
    specialist_ids: tuple[int, ...]
    price: Decimal
    duration_min: int
    break_min: int
    timezone: str


async def make_catalog(
    sessions: async_sessionmaker[AsyncSession],
    *,
    specialists: int = 1,
    workplaces: int = 1,
    capacity: int | None = None,
    price: Decimal = Decimal("1000.00"),
    duration_min: int = 60,
    break_min: int = 0,
    opens: time | WallTime = time(8, 0),
    closes: time | WallTime = time(22, 0),
    timezone: str = TZ,
    specialist_prices: dict[int, Decimal] | None = None,
    specialist_tg_ids: bool = True,
) -> Catalog:
    """One location open every day `opens`..`closes`; `specialist_prices` maps a specialist's
    index to a custom price for the service."""
    async with sessions() as s, s.begin():
        location = Location(name=unique("Location"), capacity=capacity, timezone=timezone)
        service = Service(
            name=unique("Service"), duration_min=duration_min, break_min=break_min, price=price
        )
        s.add_all([location, service])
        await s.flush()
        for day in range(1, 8):
            s.add(
                LocationSchedule(
                    location_id=location.id, day_of_week=day, start_time=opens, end_time=closes
                )
            )
        wps = [Workplace(location_id=location.id, name=f"Chair {i + 1}") for i in range(workplaces)]
        s.add_all(wps)
        await s.flush()
        for wp in wps:
            s.add(WorkplaceService(workplace_id=wp.id, service_id=service.id))
        specs = [
            Specialist(
                name=unique("Specialist"),
                tg_id=(900_000_000 + next(_seq)) if specialist_tg_ids else None,
            )
            for _ in range(specialists)
        ]
        s.add_all(specs)
        await s.flush()
        for index, spec in enumerate(specs):
            custom = (specialist_prices or {}).get(index)
            s.add(
                ServiceSpecialist(service_id=service.id, specialist_id=spec.id, custom_price=custom)
            )
            for day in range(1, 8):
                s.add(
                    SpecialistSchedule(
                        specialist_id=spec.id,
                        location_id=location.id,
                        day_of_week=day,
                        start_time=opens,
                        end_time=closes,
                    )
                )
    return Catalog(
        location_id=location.id,
        service_id=service.id,
        workplace_ids=tuple(w.id for w in wps),
        specialist_ids=tuple(sp.id for sp in specs),
        price=price,
        duration_min=duration_min,
        break_min=break_min,
        timezone=timezone,
    )


async def make_client(
    sessions: async_sessionmaker[AsyncSession],
    *,
    balance: Decimal = Decimal("0"),
    discount_percent: Decimal = Decimal("0"),
    tg_id: int | None = None,
) -> int:
    """A client with a wallet; a non-zero `balance` comes with its 'topup' ledger row."""
    async with sessions() as s, s.begin():
        client = Client(
            tg_id=tg_id if tg_id is not None else 700_000_000 + next(_seq),
            first_name=unique("Client"),
            discount_percent=discount_percent,
        )
        s.add(client)
        await s.flush()
        s.add(ClientWallet(client_id=client.id, balance=balance))
        await s.flush()
        if balance:
            s.add(
                WalletTransaction(
                    client_id=client.id, amount=balance, kind="topup", description="test"
                )
            )
    return client.id


async def make_clients(
    sessions: async_sessionmaker[AsyncSession], count: int, *, balance: Decimal
) -> list[int]:
    """`count` clients with `balance` each, in one transaction (fast for load tests)."""
    async with sessions() as s, s.begin():
        rows = await s.execute(
            text(
                "INSERT INTO clients (tg_id, first_name) "
                "SELECT 600000000 + g + :base, 'Load ' || g FROM generate_series(1, :n) g "
                "RETURNING id"
            ),
            {"n": count, "base": next(_seq) * 100_000},
        )
        ids = [int(r[0]) for r in rows]
        await s.execute(
            text(
                "INSERT INTO client_wallets (client_id, balance) "
                "SELECT unnest(CAST(:ids AS int[])), :b"
            ),
            {"ids": ids, "b": balance},
        )
        if balance:
            await s.execute(
                text(
                    "INSERT INTO wallet_transactions (client_id, amount, kind, description) "
                    "SELECT unnest(CAST(:ids AS int[])), :b, 'topup', 'load test'"
                ),
                {"ids": ids, "b": balance},
            )
    return ids


async def money_invariant_violations(session: AsyncSession) -> list[tuple[int, Decimal, Decimal]]:
    """Wallets whose balance is negative or differs from the ledger sum: (client, balance, sum)."""
    rows = await session.execute(
        text(
            "SELECT w.client_id, w.balance, coalesce(sum(t.amount), 0) AS total "
            "FROM client_wallets w LEFT JOIN wallet_transactions t ON t.client_id = w.client_id "
            "GROUP BY w.client_id, w.balance "
            "HAVING w.balance < 0 OR w.balance <> coalesce(sum(t.amount), 0)"
        )
    )
    return [(int(r[0]), Decimal(r[1]), Decimal(r[2])) for r in rows]


async def overlapping_active_appointments(session: AsyncSession) -> dict[str, int]:
    """Pairs of active appointments that overlap, per resource (all should be 0)."""
    checks = {
        "specialist": ("specialist_id", "blocked_until"),
        "workplace": ("workplace_id", "blocked_until"),
        "client": ("client_id", "end_time"),
    }
    result: dict[str, int] = {}
    for name, (column, until) in checks.items():
        count = await session.execute(
            text(
                f"SELECT count(*) FROM appointments a JOIN appointments b "
                f"ON a.{column} = b.{column} AND a.id < b.id "
                f"AND a.start_time < b.{until} AND b.start_time < a.{until} "
                f"WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"
            )
        )
        result[name] = int(count.scalar_one())
    return result


@dataclass
class Engine:
    """The booking engine wired like the application wires it, on the test DB and Redis."""

    settings: Settings
    holds: HoldStore
    availability: AvailabilityService
    events: EventBus
    booking: BookingService
    wallet: WalletService
    waitlist: WaitlistService


def build_engine(
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    prefix: str,
    *,
    hold_ttl_seconds: int | None = None,
    **overrides: Any,
) -> Engine:
    overrides.setdefault("admin_ids", [DESK_ADMIN])
    settings = load_settings(bot_token="1:test", redis_prefix=prefix, **overrides)
    holds = HoldStore(
        redis, prefix=prefix, ttl_seconds=hold_ttl_seconds or settings.hold_ttl_seconds
    )
    availability = AvailabilityService(sessions, redis, settings, holds)
    events = EventBus(redis, prefix)
    waitlist = WaitlistService(sessions, settings, availability, holds)
    booking = BookingService(
        sessions, settings, availability, holds, events=events, waitlist=waitlist
    )
    return Engine(
        settings=settings,
        holds=holds,
        availability=availability,
        events=events,
        booking=booking,
        wallet=WalletService(sessions),
        waitlist=waitlist,
    )


def booking_request(
    cat: Catalog,
    client: int,
    *,
    start: datetime = START,
    specialist: int | None = None,
    hold_id: str | None = None,
) -> BookingRequest:
    """A confirm of the catalog's service at `start`; a fresh hold id unless one is given."""
    return BookingRequest(
        client_id=client,
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=specialist,
        start=start,
        hold_id=hold_id or uuid.uuid4().hex,
    )


async def hold_start(
    eng: Engine, cat: Catalog, client: int, *, specialist: int | None = None
) -> Hold:
    """The client's hold on the catalog's service at START."""
    return await eng.booking.hold(
        client_id=client,
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=specialist,
        start=START,
        now=NOW,
    )
