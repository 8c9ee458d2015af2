"""Process each Telegram `update_id` once (docs/rules.md#idempotency; aiogram has no dedupe of its
own, docs/rules.md#pitfalls-we-design-around).

Per update a Redis key `{prefix}:update:{update_id}`:
- `run:<instance>` while a handler works on it: a short lease, renewed by a heartbeat, so the
  lease of a crashed process expires within `lease_seconds`;
- `done` for a day after the handler returned (Telegram keeps an update at most 24 h);
- removed when the handler raised, so a redelivery (webhook retry, polling after a restart) is
  processed again instead of being lost.

A duplicate that finds a running lease waits until the lease is released or expires: after a
crash the redelivered update arrives before the dead lease has expired, and must not be skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

log = logging.getLogger(__name__)

# KEYS[1] = update key; ARGV[1] = lease value, ARGV[2] = lease ms.
# Returns "acquired", "done" or the running owner's value.
_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'acquired'
end
return current
"""
# Only the owner may extend, finish or drop its lease.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_FINISH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

DONE_TTL_SECONDS = 24 * 3600


class DedupeMiddleware(BaseMiddleware):
    """Outer update middleware: skips an update already handled, re-admits one that failed."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        lease_seconds: float = 10.0,
        wait_poll_seconds: float = 0.2,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lease_ms = int(lease_seconds * 1000)
        self.wait_poll_seconds = wait_poll_seconds
        self.instance = uuid.uuid4().hex
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._finish = redis.register_script(_FINISH)
        self._release = redis.register_script(_RELEASE)

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:update:{update_id}"

    async def _claim(self, key: str, lease: str) -> bool:
        """True when this call owns the update now; False when it was already handled."""
        # Waiting for a running lease is bounded by its expiry (plus one renewal's slack).
        deadline = asyncio.get_running_loop().time() + 2 * self.lease_ms / 1000
        while True:
            state = await self._acquire(keys=[key], args=[lease, self.lease_ms])
            state = state.decode() if isinstance(state, bytes) else str(state)
            if state == "acquired":
                return True
            if state == "done":
                return False
            if asyncio.get_running_loop().time() >= deadline:
                log.warning("update %s is still running elsewhere (%s); skipping", key, state)
                return False
            # Production wait for another process's lease to clear, not a test synchronisation.
            await asyncio.sleep(self.wait_poll_seconds)

    async def _heartbeat(self, key: str, lease: str) -> None:
        interval = self.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                await self._renew(keys=[key], args=[lease, self.lease_ms])
            except Exception as exc:  # a lost renewal only shortens the lease
                log.warning("could not renew the lease of %s: %r", key, exc)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        key = self._key(event.update_id)
        lease = f"run:{self.instance}:{uuid.uuid4().hex[:8]}"
        if not await self._claim(key, lease):
            log.info("skipping duplicate update %s", event.update_id)
            return None
        heartbeat = asyncio.create_task(self._heartbeat(key, lease))
        try:
            result = await handler(event, data)
        except BaseException:
            heartbeat.cancel()
            # Re-admit the update: a retry or a redelivery after restart must run it again.
            with contextlib.suppress(Exception):
                await self._release(keys=[key], args=[lease])
            raise
        heartbeat.cancel()
        try:
            await self._finish(keys=[key], args=[lease, DONE_TTL_SECONDS])
        except Exception as exc:
            # The user already has the answer; failing now would add an error message to it.
            # Unmarked, the lease expires and a redelivery (rare) would run the handler again.
            # One line, no trace: during a Redis outage this happens on every update.
            log.warning("could not mark update %s done: %r", event.update_id, exc)
        return result
