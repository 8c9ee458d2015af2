"""Slot query latency on a big catalog: a day's slots and a month's calendar, cold and cached.

    python bench/slots.py [--scale 1.0] [--samples 200] [--seed 1] [--assignment-only]

1. A throw-away database, migrated with Alembic, is filled by `bench/catalog_gen.py`
   (default 5 locations, 50 specialists, 20 services, 20 000 appointments; `--scale 0.1` for a
   quick run).
2. For random (location, service, specialist-or-any, date) queries it times, through the real
   `AvailabilityService` (PostgreSQL + Redis cache + Redis hold store):
   - `day_slots` cold (the location's cache version bumped right before) and cached;
   - `available_dates` (the month calendar) cold and cached;
   - `candidates` (the authoritative per-start check booking runs; never cached).
3. Times the workplace re-assignment check alone (`Rearrangement.moves_for`, pure Python) on
   busy synthetic days: 4 interchangeable workplaces, 40 movable appointments packed
   greedily, one new appointment per check at a start where its workplace is taken.
4. Prints p50/p95/max in milliseconds, one line per measurement, the load average, and drops
   the database.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import CatalogSize, generate  # noqa: E402
from bench.common import (  # noqa: E402
    ADMIN_URL,
    REDIS_URL,
    db_url,
    discard_redis,
    migrate,
    summary,
    throwaway_database,
)
from bot.config import load_settings  # noqa: E402
from bot.domain.assignment import PlacedAppointment, Rearrangement, WorkplaceDay  # noqa: E402
from bot.services.availability import AvailabilityService  # noqa: E402
from bot.services.holds import HoldStore  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402

TODAY = date(2031, 3, 3)  # a Monday
NOW = datetime(2031, 3, 3, 5, 0, tzinfo=UTC)


async def timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    await call
    return time.perf_counter() - started


def assignment_case(samples: int, seed: int) -> str:
    """The re-assignment check on a busy day (see the module docstring, step 3)."""
    rnd = random.Random(seed)
    t0 = datetime(2031, 3, 4, 6, 0, tzinfo=UTC)
    workplaces = frozenset({1, 2, 3, 4})
    times: list[float] = []
    for _ in range(samples):
        free = dict.fromkeys(workplaces, t0)
        placed = []
        starts = sorted(rnd.randrange(0, 48) for _ in range(60))
        for n, quarter in enumerate(starts):
            if len(placed) == 40:
                break
            start = t0 + timedelta(minutes=15 * quarter)
            end = start + timedelta(minutes=rnd.choice((45, 60, 75, 90)))
            # Greedy, in start order: the lowest-numbered workplace free at `start`, if any.
            spot = next((w for w in sorted(workplaces) if free[w] <= start), None)
            if spot is None:
                continue
            free[spot] = max(free[spot], end)
            placed.append(PlacedAppointment(n, 1, spot, start, end))
        day = WorkplaceDay((t0, t0 + timedelta(days=1)), {1: workplaces}, tuple(placed))
        check = Rearrangement(day, now=t0 - timedelta(hours=1))
        start = t0 + timedelta(minutes=15 * rnd.randrange(0, 48))
        started = time.perf_counter()
        check.moves_for(start, start + timedelta(minutes=75), 1)
        times.append(time.perf_counter() - started)
    return summary("re-assignment check", times)


async def measure(url: str, size: CatalogSize, samples: int, seed: int) -> list[str]:
    started = time.perf_counter()
    catalog = await generate(url, size, today=TODAY, seed=seed)
    lines = [
        f"catalog: {len(catalog.location_ids)} locations, {len(catalog.specialist_ids)} "
        f"specialists, {len(catalog.service_ids)} services, {catalog.appointments} appointments "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    ]
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    async_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    settings = load_settings(bot_token="1:bench", redis_prefix=prefix, database_url=async_url)
    engine = make_engine(async_url, pool_size=4)
    sessions = make_session_factory(engine)
    redis = Redis.from_url(REDIS_URL)
    try:
        holds = HoldStore(redis, prefix=prefix, ttl_seconds=settings.hold_ttl_seconds)
        service = AvailabilityService(sessions, redis, settings, holds)
        rnd = random.Random(seed)
        bookable = sorted(catalog.qualified)
        results: dict[str, list[float]] = {
            k: [] for k in ("day", "day_cached", "month", "month_cached", "check")
        }
        offered = 0
        for _ in range(samples):
            loc, svc = rnd.choice(bookable)
            spec = None if rnd.random() < 0.5 else rnd.choice(catalog.qualified[(loc, svc)])
            day = TODAY + timedelta(days=rnd.randrange(1, 14))
            which = {"location_id": loc, "service_id": svc, "specialist_id": spec}
            await service.invalidate(location_id=loc)
            results["day"].append(await timed(service.day_slots(**which, day=day, now=NOW)))
            results["day_cached"].append(await timed(service.day_slots(**which, day=day, now=NOW)))
            await service.invalidate(location_id=loc)
            results["month"].append(await timed(service.available_dates(**which, now=NOW)))
            results["month_cached"].append(await timed(service.available_dates(**which, now=NOW)))
            offers = await service.day_slots(**which, day=day, now=NOW)
            if not offers:
                continue
            offered += 1
            start = rnd.choice(offers).start
            async with sessions() as session:
                check = service.candidates(
                    session, **which, start=start, now=NOW, client_id=catalog.client_ids[0]
                )
                results["check"].append(await timed(check))
        lines.append(
            f"queries: {samples} random (location, service, specialist or any, date); "
            f"{offered} days had free times"
        )
        lines.append(summary("day_slots cold", results["day"]))
        lines.append(summary("day_slots cached", results["day_cached"]))
        lines.append(summary("month calendar cold", results["month"]))
        lines.append(summary("month calendar cached", results["month_cached"]))
        if results["check"]:
            lines.append(summary("candidates (database)", results["check"]))
        lines.append(assignment_case(samples, seed))
        one, five, _ = os.getloadavg()
        lines.append(f"load average at the end: {one:.1f} (1 min) / {five:.1f} (5 min)")
        return lines
    finally:
        await discard_redis(redis, prefix)
        await engine.dispose()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="catalog size factor")
    parser.add_argument("--samples", type=int, default=200, help="queries per measurement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--assignment-only",
        action="store_true",
        help="only the workplace re-assignment check (no database)",
    )
    args = parser.parse_args(argv)
    if args.assignment_only:
        print(assignment_case(args.samples, args.seed), flush=True)
        one, five, _ = os.getloadavg()
        print(f"load average at the end: {one:.1f} (1 min) / {five:.1f} (5 min)", flush=True)
        return 0
    size = CatalogSize().scaled(args.scale)
    async with throwaway_database(ADMIN_URL, "bench_slots") as name:
        await migrate(db_url(ADMIN_URL, name, driver="postgresql+asyncpg"))
        for line in await measure(db_url(ADMIN_URL, name), size, args.samples, args.seed):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
