"""Scale-out, proven with real processes: the emulator posts every update to nginx (Debian's
package, the repository's `deploy/nginx.conf`), which balances them round robin over two
`python -m bot` webhook instances; two `python -m bot worker` processes send the
notifications; one PostgreSQL database and one Redis behind them all.

`SCALE_CLIENTS` clients (32 here; `bench/scale.py` runs 200) book at once, every fifth racing
for the first hour; one instance is killed (SIGKILL) half-way. Afterwards: every client booked
exactly once and every start of the day is taken, no update was handled twice, every update
was answered, each notification was sent once, and `balance == sum(ledger)`.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import BotAPIEmulator
from tests.e2e.scale_support import (
    appointments_per_client,
    book,
    due_unsent,
    handled_updates,
    make_world,
    money_broken,
    nginx_binary,
    run_cluster,
    sent_rows,
    target_hour,
    unique_prefix,
    until,
)
from tests.emulator.fixtures import REDIS_URL

CLIENTS = int(os.environ.get("SCALE_CLIENTS", "32"))
SPECIALISTS = 4

pytestmark = pytest.mark.skipif(
    nginx_binary() is None, reason="nginx is not installed (.ci/run installs it)"
)


async def test_two_instances_behind_nginx_book_everyone_once_and_survive_a_kill(
    clean_db: Any,
    emulator: BotAPIEmulator,
    database_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    world = await make_world(session_factory, clients=CLIENTS, specialists=SPECIALISTS)
    users = [emulator.user(tg, f"Client{tg}", language_code="en") for tg in world.clients]
    async with run_cluster(
        emulator,
        database_url=database_url,
        redis_url=REDIS_URL,
        prefix=unique_prefix(),
        instances=2,
        workers=2,
        workdir=tmp_path,
    ) as cluster:
        done = 0
        half = asyncio.Event()
        flows: dict[int, int] = {}

        async def client(index: int) -> None:
            nonlocal done
            outcome = await book(users[index], world, target_hour(index, world))
            flows[outcome.tg_id] = outcome.flows
            done += 1
            if done >= CLIENTS // 2:
                half.set()

        tasks = [asyncio.create_task(client(i)) for i in range(CLIENTS)]
        await half.wait()
        cluster.instances[0].kill()  # mid-run: the others are between their steps
        await asyncio.gather(*tasks)
        assert cluster.instances[0].proc.returncode is not None
        assert cluster.instances[1].proc.returncode is None

        # Every update was answered (none pending, none dropped after its retries).
        await emulator.wait_for(lambda: not emulator.pending_updates(), timeout=120)
        answered = {d["update_id"] for d in emulator.webhook_deliveries if d["status"] == 200}
        sent_ids = {d["update_id"] for d in emulator.webhook_deliveries}
        assert sent_ids == answered
        # The notifications (the client's confirmation, the specialist's notice) go out once.
        await until(lambda: _none_due(session_factory))
        logs = cluster.logs()

    per_client = await appointments_per_client(session_factory)
    assert sorted(per_client) == sorted(world.clients.values())
    assert set(per_client.values()) == {1}
    # Every start of the day is taken: as many bookings as specialists times hours.
    assert sum(per_client.values()) == SPECIALISTS * len(world.hours) == CLIENTS
    assert await money_broken(session_factory) == []

    handled = handled_updates(logs)
    assert handled, "no update lines in the instances' logs"
    assert [u for u, n in handled.items() if n > 1] == []
    # An update the killed instance finished just before the kill (marked done in Redis, its
    # log line not yet written) is delivered again and answered by the live instance as a
    # duplicate: the dedupe found it done, so it was handled, once.
    assert answered <= set(handled) | set(handled_updates(logs, skipped=True))

    rows = await sent_rows(session_factory)
    messages: Counter[int] = Counter(
        c.chat_id for c in emulator.calls_to("sendMessage") if c.completed and c.error is None
    )
    specialists = {tg for tg in rows if tg not in world.clients}
    assert specialists, "no specialist notice was sent"
    for chat in specialists:  # a specialist gets nothing but notifications
        assert messages[chat] == rows[chat], chat
    for tg in world.clients:  # each /book's answer, then exactly its notifications
        assert messages[tg] == flows[tg] + rows[tg], tg
    print(f"scale-out: {CLIENTS} clients, retried deliveries: "
          f"{sum(d['attempt'] > 1 for d in emulator.webhook_deliveries)}, flows started over "
          f"for want of a free time: {sum(flows.values()) - CLIENTS}")  # fmt: skip


async def _none_due(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return await due_unsent(sessions) == 0
