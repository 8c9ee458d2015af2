"""A one-statement use case on a quiet pool: what a read costs when its connection sat idle.

    python bench/quiet_pool.py [--uses 3000]

On a quiet bot (a salon between clients) nearly every checkout finds its connection idle for
over `IDLE_PING_SECONDS`, so `make_engine` pings it first. This times `SELECT 1` use cases on
a pool of one connection through `make_engine`, four ways: pinged at every checkout
(`idle_ping_seconds=0`, a quiet pool) or never (a busy pool), each in a read session
(`read_session`: no transaction) and in a plain session (BEGIN, the statement, ROLLBACK).
It prints, per use case, the wall time (p50) and this process's CPU, and the BEGINs asyncpg
sent (`Transaction.start`), with the load average. The busy pool's read session is the floor:
one round trip.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.begins import count_begins  # noqa: E402
from bench.common import ADMIN_URL  # noqa: E402
from bot.services.transaction import read_session  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402


async def measure(ping_every_checkout: bool, in_read_session: bool, uses: int) -> str:
    """One line: the use case `uses` times on a pool of one connection."""
    url = ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
    idle_ping = 0.0 if ping_every_checkout else 3600.0
    engine = make_engine(url, pool_size=1, max_overflow=0, idle_ping_seconds=idle_ping)
    sessions = make_session_factory(engine)
    with count_begins() as begins:
        try:
            async with sessions() as warm:  # the connection opened, the statement prepared
                await warm.execute(text("SELECT 1"))
            begins.reset()
            walls: list[float] = []
            cpu = time.process_time()
            for _ in range(uses):
                started = time.perf_counter()
                async with read_session(sessions) if in_read_session else sessions() as session:
                    await session.execute(text("SELECT 1"))
                walls.append(time.perf_counter() - started)
            cpu = time.process_time() - cpu
        finally:
            await engine.dispose()
    pool = "quiet pool (pinged)" if ping_every_checkout else "busy pool (no ping)"
    kind = "read session" if in_read_session else "transaction"
    return (
        f"{pool:<20} {kind:<13} wall p50 {1000 * statistics.median(walls):6.3f} ms  "
        f"CPU {1000 * cpu / uses:6.3f} ms  BEGINs {begins.count / uses:.1f} per use"
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--uses", type=int, default=3000)
    args = parser.parse_args(argv)
    one, five, _ = os.getloadavg()
    print(f"load average at the start: {one:.1f} (1 min) / {five:.1f} (5 min)", flush=True)
    for ping in (True, False):
        for reads in (True, False):
            print(await measure(ping, reads, args.uses), flush=True)
    one, five, _ = os.getloadavg()
    print(f"load average at the end: {one:.1f} (1 min) / {five:.1f} (5 min)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
