"""Updates per second of two webhook instances against one, in the same run.

    python bench/scale.py [--clients 200] [--specialists 10] [--rounds 1]

Each round runs the same booking load twice, alternating: nginx in front of ONE `python -m bot`
webhook instance, then in front of TWO (each with two `python -m bot worker` processes), over
the Bot API emulator, each time on a fresh throw-away database with `--clients` funded clients
booking at once through the conversation (`tests/e2e/scale_support.py`: every fifth client
races for the first hour and, losing, takes a time still free). Throughput = updates the
emulator delivered (answered 200) / wall time from the first /book to the last booking.
Printed per run, with the load average before and after it, then the ratio two/one per round.
After each run every client must have exactly one appointment and `balance == sum(ledger)`;
a run that breaks that is reported as a failure.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0). Needs nginx (`apt-get install nginx`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ADMIN_URL, REDIS_URL, db_url, migrate, throwaway_database  # noqa: E402
from bot.emulator import BotAPIEmulator  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402
from tests.e2e.scale_support import (  # noqa: E402
    appointments_per_client,
    book,
    make_world,
    money_broken,
    run_cluster,
    target_hour,
    unique_prefix,
)


async def one_run(instances: int, clients: int, specialists: int, workdir: Path) -> float:
    """Updates/s of one run with `instances` webhook instances (2 workers)."""
    async with throwaway_database(ADMIN_URL, "bench_scale") as name:
        url = db_url(ADMIN_URL, name, driver="postgresql+asyncpg")
        await migrate(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        emulator = BotAPIEmulator()
        await emulator.start()
        try:
            world = await make_world(sessions, clients=clients, specialists=specialists)
            users = [emulator.user(tg, f"Client{tg}", language_code="en") for tg in world.clients]
            async with run_cluster(
                emulator,
                database_url=url,
                redis_url=REDIS_URL,
                prefix=unique_prefix(),
                instances=instances,
                workers=2,
                workdir=workdir,
            ):
                first = len(emulator.webhook_deliveries)
                started = time.perf_counter()
                await asyncio.gather(
                    *(book(u, world, target_hour(i, world)) for i, u in enumerate(users))
                )
                elapsed = time.perf_counter() - started
                delivered = sum(d["status"] == 200 for d in emulator.webhook_deliveries[first:])
            per_client = await appointments_per_client(sessions)
            if set(per_client.values()) != {1} or len(per_client) != clients:
                raise SystemExit(f"FAILED: appointments per client {dict(per_client)}")
            if broken := await money_broken(sessions):
                raise SystemExit(f"FAILED: balance != sum(ledger) for clients {broken}")
        finally:
            await emulator.stop()
            await engine.dispose()
    return delivered / elapsed


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--specialists", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"clients={args.clients} specialists={args.specialists} cpus={os.cpu_count()}")
    ratios = []
    for round_no in range(1, args.rounds + 1):
        rates = {}
        for instances in (1, 2):
            with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
                load_before = os.getloadavg()[0]
                rate = await one_run(instances, args.clients, args.specialists, Path(tmp))
                load_after = os.getloadavg()[0]
            rates[instances] = rate
            print(
                f"round {round_no}: {instances} instance(s): {rate:7.2f} updates/s  "
                f"(load average {load_before:.1f} before, {load_after:.1f} after)"
            )
        ratios.append(rates[2] / rates[1])
        print(f"round {round_no}: two/one = {ratios[-1]:.2f}")
    print("ratios two/one: " + ", ".join(f"{r:.2f}" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
