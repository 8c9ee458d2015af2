"""Short leases in Redis, renewed while their holder works: what a process holds dies with it
within one lease, not after a long fixed timeout (docs/rules.md#idempotency).

- `Heartbeat` renews a lease every third of its length while a handler runs; a handler shorter
  than that costs one timer and no Redis command.
- `LeasedEventIsolation` serialises one user's updates across webhook instances, in the place
  of aiogram's `RedisEventIsolation`. That one holds a lock for a fixed 60 s: when an instance
  is killed mid-update, the user's next updates (and Telegram's redelivery of the one that was
  running) wait up to a minute on every other instance, long enough for a proxy's read timeout
  to mark the healthy instance down too. Here the lock lives `lease_seconds` (10 s by default)
  and is renewed while held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)

LOCK_LEASE_SECONDS = 10.0


class Heartbeat:
    """Calls `beat()` every `interval` seconds, first after one interval, until `stop()`.

    A failed beat is logged (`what` names the lease) and the next one tried: a lost renewal only
    shortens the lease.
    """

    def __init__(self, beat: Callable[[], Awaitable[Any]], interval: float, what: str) -> None:
        self._beat = beat
        self._interval = interval
        self._what = what
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(interval, self._start)

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self._beat()
            except Exception as exc:
                log.warning("could not renew the lease of %s: %r", self._what, exc)
            # The renewal period of a lease, not a test synchronisation.
            await asyncio.sleep(self._interval)

    def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()


class LeasedEventIsolation(BaseEventIsolation):
    """A per-user lock across processes (`{key_builder}:lock`, redis-py's `Lock`) that expires
    `lease_seconds` after its holder stops renewing it; renewed every third of that while held.

    Waiting for the lock polls every `poll_seconds`. A lock lost while held (Redis unreachable
    for longer than a lease) is logged on release, not raised: the update's answer is already out.
    """

    def __init__(
        self,
        redis: Redis,
        key_builder: KeyBuilder,
        *,
        lease_seconds: float = LOCK_LEASE_SECONDS,
        poll_seconds: float = 0.05,
    ) -> None:
        self.redis = redis
        self.key_builder = key_builder
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        name = self.key_builder.build(key, "lock")
        lock = self.redis.lock(
            name, timeout=self.lease_seconds, sleep=self.poll_seconds, thread_local=False
        )
        await lock.acquire()
        heartbeat = Heartbeat(lock.reacquire, self.lease_seconds / 3, name)
        try:
            yield None
        finally:
            heartbeat.stop()
            try:
                await lock.release()
            except LockError as exc:
                log.warning("the lock %s expired while held: %r", name, exc)

    async def close(self) -> None:
        """Nothing to close: the Redis client belongs to the caller."""
