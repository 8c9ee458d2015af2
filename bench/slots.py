"""Slot query latency on a big catalog: a day's slots and a month's calendar, cold and cached.

    python bench/slots.py [--scale 1.0] [--samples 200] [--seed 1] [--holds 0] [--assignment-only]

1. A throw-away database, migrated with Alembic, is filled by `bench/catalog_gen.py`
   (default 5 locations, 50 specialists, 20 services, 20 000 appointments; `--scale 0.1` for a
   quick run).
2. For random (location, service, specialist-or-any, date) queries it times, through the real
   `AvailabilityService` (PostgreSQL + Redis cache + Redis hold store):
   - `day_slots` cold (the location's cache version bumped right before; the catalog in
     memory, as in a running bot: what a booking or a cancellation leaves) and cached: in the
     process that built the entry (kept parsed, `_remember_entry`) and as another process
     reads it (the parsed entries forgotten first: the text is parsed and grouped again);
   - `available_dates` (the month calendar) cold and cached;
   - `candidates` (the authoritative per-start check booking runs; never cached);
   - then, for the same queries, `day_slots` right after a catalog change (the catalog
     version bumped: the query's part of the catalog is read again, then the day).
   With `--holds N`, N live holds of other clients are spread across the business first
   (`spread_holds`), so every read overlays the holds that bear on it.
3. In the same loop, on the same database, Redis and sampled queries, times two baselines:
   - a raw asyncpg fetch of the day's busy intervals: the active appointments meeting the
     location-local date that the engine reads for it (at the location on a workplace hosting
     the service, or of a qualified specialist anywhere): id, start, end, blocked end,
     specialist, workplace, location, client, hold id;
   - a Redis GET of a small key, on the engine's own client (the bot's, `make_redis`), and
     the same GET on redis-py's stock client (`Redis.from_url`: its own pool, no deadline
     or breaker). The bot's client spends less per command than the stock one
     (`bot.ops.redis.LeanConnectionPool`): that lowers a cached read's time and raises its
     ratio to the bot's own GET, so the cached day is shown against both;
   and prints each figure's ratio to its baseline at p50 and p95 (cold figures against the
   busy-interval fetch, cached ones against the GET).
4. Times the workplace re-assignment check alone (`Rearrangement.moves_for`, pure Python) on
   busy synthetic days: 4 interchangeable workplaces, 40 movable appointments packed
   greedily, one new appointment per check at a start where its workplace is taken. Then, on
   full synthetic days (10 workplaces busy from 08:00 to 20:00, services hosted by 2-7 of
   them, one day per 40 samples), every question a day's grid asks (`full_house_case`).
5. Prints p50/p95/max in milliseconds, one line per measurement, the ratios, the load average
   at the start and at the end, and drops the database.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import CatalogSize, GeneratedCatalog, generate  # noqa: E402
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
from bot.domain.types import HeldInterval  # noqa: E402
from bot.domain.tz import day_bounds  # noqa: E402
from bot.ops.redis import make_redis  # noqa: E402
from bot.services.availability import AvailabilityService, forget_parsed  # noqa: E402
from bot.services.holds import HoldStore, member_of  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402

TODAY = date(2031, 3, 3)  # a Monday
NOW = datetime(2031, 3, 3, 5, 0, tzinfo=UTC)


async def timed(call: Awaitable[object], cpu: list[float] | None = None) -> float:
    """The call's wall-clock time (seconds); its CPU time in this process goes to `cpu`."""
    started, used = time.perf_counter(), time.process_time()
    await call
    if cpu is not None:
        cpu.append(time.process_time() - used)
    return time.perf_counter() - started


async def settled(service: AvailabilityService) -> None:
    """Untimed: the cache write a cold read left in flight (`AvailabilityService.settle`).
    A reader has its answer before the write (the latency timed); the next read of the same
    entry comes from a person seconds later, when the write is long done. Without this, the
    cached read timed next would wait for the write (`_written`)."""
    await service.settle()


# The day's busy intervals as the engine reads them for a cold day (`busy_condition`, no
# capacity): active appointments meeting the window, at the location on a workplace hosting
# the service or of one of the qualified specialists anywhere, in start order.
BUSY_SQL = """
SELECT id, location_id, specialist_id, workplace_id, client_id, start_time, end_time,
       blocked_until, booking_key
FROM appointments
WHERE status <> 'cancelled'
  AND start_time < $2::timestamptz AND blocked_until > $1::timestamptz
  AND start_time > $1::timestamptz - interval '1 day'
  AND ((location_id = $3 AND workplace_id = ANY($4::int[])) OR specialist_id = ANY($5::int[]))
ORDER BY start_time, id
"""


def _quantiles(samples: list[float]) -> tuple[float, float]:
    if len(samples) < 2:
        return samples[0], samples[0]
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94]


def ratio(label: str, samples: list[float], base: list[float], base_label: str) -> str:
    """One line: `samples`' p50 and p95 each divided by the baseline's."""
    (p50, p95), (b50, b95) = _quantiles(samples), _quantiles(base)
    return f"{label:<24} / {base_label}: p50 x{p50 / b50:5.1f}  p95 x{p95 / b95:5.1f}"


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min) / {five:.1f} (5 min)"


def assignment_case(samples: int, seed: int) -> str:
    """The re-assignment check on a busy day (see the module docstring, step 4)."""
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


def full_house_day(rnd: random.Random) -> WorkplaceDay:
    """A location's day with every workplace busy from 08:00 to 20:00 (step 5): 10 workplaces,
    20 services each hosted by 2-7 of them, and on each workplace back-to-back appointments of
    30-120 minutes (a 0-15 minute gap between some), each of a service that workplace hosts,
    none started or pinned, so each may move to any host of its service."""
    t0 = datetime(2031, 3, 4, 8, 0, tzinfo=UTC)
    workplaces = list(range(1, 11))
    hosts = {svc: frozenset(rnd.sample(workplaces, rnd.randint(2, 7))) for svc in range(1, 21)}
    served = {w: [svc for svc, ws in hosts.items() if w in ws] for w in workplaces}
    placed = []
    for w in workplaces:
        at = t0 + timedelta(minutes=rnd.choice((0, 15, 30)))
        while at < t0 + timedelta(hours=12) and served[w]:
            end = at + timedelta(minutes=rnd.choice((30, 45, 60, 75, 90, 120)))
            placed.append(PlacedAppointment(len(placed) + 1, rnd.choice(served[w]), w, at, end))
            at = end + timedelta(minutes=rnd.choice((0, 0, 0, 15)))
    placed.sort(key=lambda a: (a.start, a.appointment_id))
    window = (t0 - timedelta(hours=2), t0 + timedelta(hours=14))
    return WorkplaceDay(window, hosts, tuple(placed))


def full_house_case(samples: int, seed: int) -> str:
    """The re-assignment work a cold day asks of a full day (`full_house_day`): for each start
    of the 15-minute grid and each workplace taken then, whether a new 60-minute appointment
    fits there if the others move (`Rearrangement.fits`, one check per day, as a day's build
    makes it). One sample is one day's questions."""
    rnd = random.Random(seed)
    times: list[float] = []
    asked = found = 0
    for _ in range(samples):
        day = full_house_day(rnd)
        check = Rearrangement(day, now=day.window[0] - timedelta(hours=1))
        questions = []
        for quarter in range(48):
            start = day.window[0] + timedelta(hours=2, minutes=15 * quarter)
            end = start + timedelta(minutes=60)
            busy = {
                a.workplace_id
                for a in day.appointments
                if a.start < end and start < a.blocked_until
            }
            questions += [(start, end, w) for w in sorted(busy)]
        started = time.perf_counter()
        answers = [check.fits(*question) for question in questions]
        times.append(time.perf_counter() - started)
        asked += len(questions)
        found += sum(answers)
    line = summary("re-assignment, full day", times)
    return f"{line}  ({asked / samples:.0f} questions a day, {100 * found / asked:.0f} % fit)"


async def spread_holds(
    redis: Redis,
    holds: HoldStore,
    catalog: GeneratedCatalog,
    hosting: dict[tuple[int, int], list[int]],
    count: int,
) -> None:
    """`count` live holds of other clients across the business, in the form the hold script
    writes them (`bot.services.holds`: one member in the specialist's, the location's and
    the all-holds sorted set, scored by its expiry, 10 minutes from Redis' clock), though
    not through it (no hold record, nothing checked: a specialist may hold overlapping
    times): each for a random bookable (location, service), one of its specialists, on one
    of the workplaces hosting the service and free to move among them, one hour (and a
    15-minute break) at a random hour of days 1-13."""
    seconds, micros = await redis.time()
    expires = seconds * 1000 + micros // 1000 + 600_000
    rnd = random.Random(count)
    bookable = sorted(catalog.qualified)
    prefix = holds.key_prefix
    for n in range(count):
        loc, svc = rnd.choice(bookable)
        start = datetime.combine(TODAY + timedelta(days=rnd.randrange(1, 14)), dtime(), UTC)
        start += timedelta(hours=rnd.randrange(6, 16))
        hold = HeldInterval(
            client_id=10**9 + n,
            location_id=loc,
            specialist_id=rnd.choice(catalog.qualified[(loc, svc)]),
            workplace_id=rnd.choice(hosting[(loc, svc)]),
            start=start,
            end=start + timedelta(minutes=60),
            blocked_until=start + timedelta(minutes=75),
            hold_id=f"bench{n}",
            workplace_ids=frozenset(hosting[(loc, svc)]),
        )
        member = member_of(hold)
        for key in (f"s:{hold.specialist_id}", f"l:{loc}", "a"):
            await redis.zadd(prefix + key, {member: expires})


async def scoped_against_all(
    service: AvailabilityService, asked: list[tuple[dict[str, int | None], date]]
) -> str:
    """Untimed: each asked day read as the bot reads it (only the holds bearing on it) and
    with every live hold read (`_hold_scope` answering None), the answers compared. The
    generated catalog has each specialist at one location, so this guards the common path
    only; the cases across locations are tests (tests/integration/test_availability.py)."""
    scoped = [await service.day_slots(**which, day=day, now=NOW) for which, day in asked]
    real = service._hold_scope
    service._hold_scope = lambda query, cached: None  # type: ignore[method-assign]
    try:
        every = [await service.day_slots(**which, day=day, now=NOW) for which, day in asked]
    finally:
        service._hold_scope = real  # type: ignore[method-assign]
    differ = sum(a != b for a, b in zip(scoped, every, strict=True))
    return f"holds: {differ} of {len(asked)} days differ from a read of every live hold"


async def measure(
    url: str, size: CatalogSize, samples: int, seed: int, live_holds: int = 0
) -> list[str]:
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
    # The bot's own client (per-command deadline, breaker), as `python -m bot` builds it: for
    # the engine and for the baseline's GET alike.
    redis = make_redis(REDIS_URL, timeout=settings.redis_timeout_seconds)
    stock: Redis = Redis.from_url(REDIS_URL)
    raw = await asyncpg.connect(url)
    try:
        zones = dict(await raw.fetch("SELECT id, timezone FROM locations"))
        hosting: dict[tuple[int, int], list[int]] = {}
        for loc, svc, wps in await raw.fetch(
            "SELECT w.location_id, ws.service_id, array_agg(w.id) FROM workplace_services ws "
            "JOIN workplaces w ON w.id = ws.workplace_id "
            "WHERE w.is_active AND ws.is_active GROUP BY 1, 2"
        ):
            hosting[(loc, svc)] = list(wps)
        small_key = f"{prefix}:baseline"
        await redis.set(small_key, "x" * 64)
        # Prepared once before timing, as the engine's statements are after its first query.
        await raw.fetch(BUSY_SQL, NOW, NOW, 0, [], [])
        holds = HoldStore(redis, prefix=prefix, ttl_seconds=settings.hold_ttl_seconds)
        service = AvailabilityService(sessions, redis, settings, holds)
        if live_holds:
            await spread_holds(redis, holds, catalog, hosting, live_holds)
            lines.append(
                f"live holds: {live_holds} of other clients across the business (each read "
                "overlays those bearing on it)"
            )
        rnd = random.Random(seed)
        bookable = sorted(catalog.qualified)
        results: dict[str, list[float]] = {
            k: []
            for k in (
                "day_catalog",
                "day",
                "day_cached",
                "day_elsewhere",
                "month",
                "month_cached",
                "check",
                "busy",
                "get",
                "stock_get",
            )
        }
        cpu: dict[str, list[float]] = {k: [] for k in results}
        # The catalog in memory, as in a running bot (`CatalogCache`: read once per catalog
        # version): each (location, service)'s part of it read before anything is timed, on
        # today, a date no query asks for. Else the first cold day of each would read it too,
        # which only the first read after a catalog change does (timed apart, below). A
        # snapshot lives `CATALOG_MAX_AGE_SECONDS` (120 s); a full run takes about 30.
        for loc, svc in bookable:
            await service.day_slots(
                location_id=loc, service_id=svc, specialist_id=None, day=TODAY, now=NOW
            )
        await settled(service)
        offered = 0
        asked = []
        for _ in range(samples):
            loc, svc = rnd.choice(bookable)
            spec = None if rnd.random() < 0.5 else rnd.choice(catalog.qualified[(loc, svc)])
            day = TODAY + timedelta(days=rnd.randrange(1, 14))
            which = {"location_id": loc, "service_id": svc, "specialist_id": spec}
            asked.append((which, day))
            window = day_bounds(day, ZoneInfo(zones[loc]))
            specs = catalog.qualified[(loc, svc)] if spec is None else [spec]
            busy_args = (*window, loc, hosting.get((loc, svc), []), specs)
            results["busy"].append(await timed(raw.fetch(BUSY_SQL, *busy_args), cpu["busy"]))
            results["get"].append(await timed(redis.get(small_key), cpu["get"]))
            results["stock_get"].append(await timed(stock.get(small_key), cpu["stock_get"]))
            await service.invalidate(location_id=loc)
            results["day"].append(
                await timed(service.day_slots(**which, day=day, now=NOW), cpu["day"])
            )
            await settled(service)
            results["day_cached"].append(
                await timed(service.day_slots(**which, day=day, now=NOW), cpu["day_cached"])
            )
            # The same entry as another process reads it: its text not parsed yet.
            forget_parsed()
            results["day_elsewhere"].append(
                await timed(service.day_slots(**which, day=day, now=NOW), cpu["day_elsewhere"])
            )
            await service.invalidate(location_id=loc)
            results["month"].append(
                await timed(service.available_dates(**which, now=NOW), cpu["month"])
            )
            await settled(service)
            results["month_cached"].append(
                await timed(service.available_dates(**which, now=NOW), cpu["month_cached"])
            )
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
        # The first read after a catalog change: the query's part of the catalog is read
        # again (every process drops its snapshot at the version's bump), then the day.
        for which, day in asked:
            await service.invalidate()
            results["day_catalog"].append(
                await timed(service.day_slots(**which, day=day, now=NOW), cpu["day_catalog"])
            )
            await settled(service)
        lines.append(
            f"queries: {samples} random (location, service, specialist or any, date); "
            f"{offered} days had free times"
        )
        if live_holds:
            lines.append(await scoped_against_all(service, asked))
        lines.append(summary("busy intervals (asyncpg)", results["busy"]))
        lines.append(summary("Redis GET", results["get"]))
        lines.append(summary("GET, stock client", results["stock_get"]))
        lines.append(summary("day_slots cold", results["day"]))
        lines.append(summary("day, catalog changed", results["day_catalog"]))
        lines.append(summary("day_slots cached", results["day_cached"]))
        lines.append(summary("cached, other process", results["day_elsewhere"]))
        lines.append(summary("month calendar cold", results["month"]))
        lines.append(summary("month calendar cached", results["month_cached"]))
        if results["check"]:
            lines.append(summary("candidates (database)", results["check"]))
        busy, get = results["busy"], results["get"]
        lines.append(ratio("day_slots cold", results["day"], busy, "busy intervals"))
        day_catalog = results["day_catalog"]
        lines.append(ratio("day, catalog changed", day_catalog, busy, "busy intervals"))
        lines.append(ratio("day_slots cached", results["day_cached"], get, "Redis GET"))
        elsewhere = results["day_elsewhere"]
        lines.append(ratio("cached, other process", elsewhere, get, "Redis GET"))
        lines.append(ratio("month calendar cold", results["month"], busy, "busy intervals"))
        lines.append(ratio("month calendar cached", results["month_cached"], get, "Redis GET"))
        stock_get = results["stock_get"]
        lines.append(ratio("day_slots cached", results["day_cached"], stock_get, "stock GET"))
        if results["check"]:
            lines.append(ratio("candidates (database)", results["check"], busy, "busy intervals"))
        median_cpu = ", ".join(
            f"{label} {1000 * statistics.median(cpu[k]):.2f}"
            for k, label in (
                ("busy", "busy intervals"),
                ("get", "Redis GET"),
                ("stock_get", "GET on the stock client"),
                ("day", "day cold"),
                ("day_catalog", "day after a catalog change"),
                ("day_cached", "day cached"),
                ("day_elsewhere", "day cached in another process"),
                ("month", "month cold"),
                ("month_cached", "month cached"),
            )
        )
        lines.append(f"CPU of this process per call, median ms: {median_cpu}")
        lines.append(assignment_case(samples, seed))
        lines.append(full_house_case(max(1, samples // 40), seed))
        lines.append(f"load average at the end: {load_average()}")
        return lines
    finally:
        await raw.close()
        await stock.aclose()
        await discard_redis(redis, prefix)
        await redis.aclose()
        await engine.dispose()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="catalog size factor")
    parser.add_argument("--samples", type=int, default=200, help="queries per measurement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--holds",
        type=int,
        default=0,
        help="live holds of other clients spread across the business before timing",
    )
    parser.add_argument(
        "--assignment-only",
        action="store_true",
        help="only the workplace re-assignment check (no database)",
    )
    args = parser.parse_args(argv)
    if args.assignment_only:
        print(assignment_case(args.samples, args.seed), flush=True)
        print(full_house_case(max(1, args.samples // 40), args.seed), flush=True)
        print(f"load average at the end: {load_average()}", flush=True)
        return 0
    print(f"load average at the start: {load_average()}", flush=True)
    size = CatalogSize().scaled(args.scale)
    async with throwaway_database(ADMIN_URL, "bench_slots") as name:
        await migrate(db_url(ADMIN_URL, name, driver="postgresql+asyncpg"))
        url = db_url(ADMIN_URL, name)
        for line in await measure(url, size, args.samples, args.seed, args.holds):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
