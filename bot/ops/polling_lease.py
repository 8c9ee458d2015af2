"""Long polling by one instance at a time: a lease in Redis.

Telegram serves one `getUpdates` consumer per bot. A second one (two compose `bot` services, an
instance started twice) makes Telegram end the other's long poll with 409 Conflict, and each
update goes to whichever happened to poll. So an instance polls only while it holds the lease:

- the lease is the key `<REDIS_PREFIX>:polling:<bot id>` (the bot id is the number before the
  token's colon) holding the holder's name (`host:pid:random`), with a TTL of
  `POLLING_LEASE_SECONDS`;
- taking it and renewing it are one script: the key is set (with a fresh TTL) when it is free or
  already ours, otherwise the holder's name is answered;
- the holder renews it every third of the TTL; an instance that finds another holder logs one
  line ("another instance is polling ...; waiting to take over") and tries again every
  `retry_seconds` as a standby. A holder that dies without a word (kill -9) stops renewing, so
  its lease expires within the TTL and a standby takes over then;
- a holder that stops (SIGTERM) deletes the lease if it is still its own, so a standby takes
  over at its next try;
- a renewal that finds another holder (the holder was paused past its TTL, or Redis lost its
  data and a standby was quicker) ends the holder's polling: it finishes the updates in flight,
  stops and waits as a standby again;
- while Redis does not answer, the holder keeps polling (updates are then answered
  "temporarily unavailable", as without the lease): no other instance can take the lease while
  Redis is away. An instance that starts while Redis does not answer polls too, without the
  lease (one log line), so that users are answered; its first renewal once Redis answers takes
  the lease, or finds another holder and stops. Two instances poll at once only in these two
  cases: both started during a Redis outage, or a network split cut the holder alone off Redis
  for longer than the TTL; either ends at the first renewal once Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from redis.asyncio import Redis

from bot.ops.redis import FAILURES

log = logging.getLogger(__name__)

# Take the key when free or ours (fresh TTL); answer the holder either way.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if not holder or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return holder
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def polling_lease_key(redis_prefix: str, bot_id: int) -> str:
    """`<prefix>:polling:<bot id>`: one lease per bot, whatever token secret it runs with."""
    return f"{redis_prefix}:polling:{bot_id}"


def instance_name() -> str:
    """`host:pid:random`: who holds the lease, as the standbys' log line names it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class PollingLease:
    """The right to long-poll, held by one instance at a time (module docstring).

    `ttl_seconds`: how long the lease outlives its holder's last renewal (the longest a standby
    waits after the holder died); renewed every `ttl_seconds / 3`; a standby tries again every
    `retry_seconds` (default: a fifth of the TTL, at most 1 s).
    """

    def __init__(
        self,
        redis: Redis,
        key: str,
        *,
        ttl_seconds: float,
        name: str | None = None,
        retry_seconds: float | None = None,
    ) -> None:
        self.key = key
        self.name = name or instance_name()
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.renew_seconds = ttl_seconds / 3
        self.retry_seconds = (
            retry_seconds if retry_seconds is not None else min(1.0, ttl_seconds / 5)
        )
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)
        # Whether Redis ever answered this instance: until then nobody can be known to poll.
        self._reached = False

    async def try_take(self) -> str:
        """Take or renew the lease; returns the holder's name (ours if taken). Redis failing
        raises (`bot.ops.redis.FAILURES`)."""
        holder = await self._take(keys=[self.key], args=[self.name, self.ttl_ms])
        self._reached = True
        return holder.decode() if isinstance(holder, bytes) else str(holder)

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until the lease is ours (True) or `stop` is set (False). While another instance
        holds it, says so once, naming the holder. Also True, without the lease, when Redis has
        not answered this instance since it started (the first renewal in `keep` takes it)."""
        told = False
        while not stop.is_set():
            try:
                holder = await self.try_take()
            except FAILURES:
                if not self._reached:
                    log.warning(
                        "Redis does not answer: polling without the polling lease until it does"
                    )
                    return True
                holder = None  # Redis away: the breaker has said so; try again
            if holder == self.name:
                if told:
                    log.info("polling lease taken over (%s); polling", self.name)
                return True
            if holder is not None and not told:
                log.info(
                    "another instance is polling (%s); waiting to take over (lease %s, %.0f s)",
                    holder,
                    self.key,
                    self.ttl_ms / 1000,
                )
                told = True
            await _wait(stop, self.retry_seconds)
        return False

    async def keep(self, lost: asyncio.Event) -> None:
        """Renew the lease every `renew_seconds` until cancelled; set `lost` and return when
        another instance holds it. A renewal Redis does not answer is tried again later."""
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                holder = await self.try_take()
            except FAILURES:
                continue
            if holder != self.name:
                log.warning(
                    "the polling lease went to another instance (%s); stopping polling and "
                    "waiting to take over",
                    holder,
                )
                lost.set()
                return

    async def release(self) -> None:
        """Give the lease up if it is still ours (a standby takes over at its next try)."""
        with contextlib.suppress(*FAILURES):
            await self._release(keys=[self.key], args=[self.name])


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
