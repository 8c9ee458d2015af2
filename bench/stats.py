"""Statistics latency on the benchmark catalog: a month's figures, next to the raw SQL aggregate.

    python bench/stats.py [--scale 1.0] [--samples 30] [--seed 1]

1. A throw-away database, migrated with Alembic, is filled by `bench/catalog_gen.py` (default
   20 000 appointments over 90 past days and the 30-day horizon, each paid from a wallet, the
   cancelled ones refunded, every wallet topped up: about 21 000 ledger rows) and ANALYZEd.
2. For the last 30 days it times, alternating so load hits both alike:
   - `StatsService.figures` for the whole business, a random location and a random specialist
     (every figure: counts, revenue, top-ups, clients, per-day series, and occupancy with the
     working minutes from the schedules);
   - the baseline: one raw SQL aggregate (held appointments and booked minutes over the same
     window, the whole business) sent straight through asyncpg.
3. Prints p50/p95/max in milliseconds, the load average before and after, and drops the
   database.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from datetime import date
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import CatalogSize, generate  # noqa: E402
from bench.common import ADMIN_URL, db_url, migrate, throwaway_database  # noqa: E402
from bench.common import summary as _summary  # noqa: E402
from bot.domain.periods import PeriodKind, named_period  # noqa: E402
from bot.services.stats import Scope, StatsService  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402

TODAY = date(2031, 3, 3)

BASELINE = """
SELECT count(*) FILTER (WHERE a.status <> 'cancelled'),
       sum(extract(epoch FROM a.end_time - a.start_time) / 60)
           FILTER (WHERE a.status <> 'cancelled')
FROM appointments a
WHERE a.start_time >= $1 AND a.start_time < $2
"""


def summary(label: str, samples: list[float]) -> str:
    return _summary(label, samples, width=34)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


async def measure(url: str, size: CatalogSize, samples: int, seed: int) -> list[str]:
    started = time.perf_counter()
    catalog = await generate(url, size, today=TODAY, seed=seed)
    conn = await asyncpg.connect(url)
    await conn.execute("ANALYZE")
    ledger = await conn.fetchval("SELECT count(*) FROM wallet_transactions")
    lines = [
        f"catalog: {len(catalog.location_ids)} locations, {len(catalog.specialist_ids)} "
        f"specialists, {catalog.appointments} appointments, {ledger} ledger rows "
        f"(generated in {time.perf_counter() - started:.1f} s)",
        f"load average before: {load()}",
    ]
    period = named_period(PeriodKind.LAST_30, TODAY)
    lines.append(f"period: {period.first} .. {period.last} (last 30 days)")
    async_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(async_url, pool_size=4)
    service = StatsService(make_session_factory(engine), "Europe/Moscow")
    rnd = random.Random(seed)
    results: dict[str, list[float]] = {
        k: [] for k in ("business", "location", "specialist", "baseline")
    }
    try:
        lo, hi = (
            await conn.fetchrow(
                "SELECT $1::date::timestamptz - interval '1 day', "
                "$2::date::timestamptz + interval '2 days'",
                period.first,
                period.last,
            )
        ).values()
        figures = await service.figures(Scope(), period)  # warm the pool and the plan cache
        for _ in range(samples):
            scopes = {
                "business": Scope(),
                "location": Scope(location_id=rnd.choice(catalog.location_ids)),
                "specialist": Scope(specialist_id=rnd.choice(catalog.specialist_ids)),
            }
            for label, scope in scopes.items():
                t0 = time.perf_counter()
                await service.figures(scope, period)
                results[label].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await conn.fetchrow(BASELINE, lo, hi)
            results["baseline"].append(time.perf_counter() - t0)
        lines.append(
            f"business figures: {figures.held} held, revenue {figures.revenue}, occupancy "
            f"{100 * (figures.occupancy or 0):.1f}%"
        )
        lines.append(summary("figures, whole business", results["business"]))
        lines.append(summary("figures, one location", results["location"]))
        lines.append(summary("figures, one specialist", results["specialist"]))
        lines.append(summary("baseline: one raw SQL aggregate", results["baseline"]))
        lines.append(f"load average after: {load()}")
        return lines
    finally:
        await conn.close()
        await engine.dispose()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="catalog size factor")
    parser.add_argument("--samples", type=int, default=30, help="rounds of measurements")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    size = CatalogSize().scaled(args.scale)
    async with throwaway_database(ADMIN_URL, "bench_stats") as name:
        await migrate(db_url(ADMIN_URL, name, driver="postgresql+asyncpg"))
        for line in await measure(db_url(ADMIN_URL, name), size, args.samples, args.seed):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
