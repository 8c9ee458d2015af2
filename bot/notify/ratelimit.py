"""Telegram send pacing: a global messages-per-second budget per bot, a minimum interval per chat.

The Redis limiter is shared by every worker of every instance (one bot token = one budget). It
hands out send times instead of counting a window: each call reserves the next free moment
(`global_next` advances by 1/rate, the chat's `chat_next` by the chat interval), so sends are
spread evenly and a burst never crosses Telegram's limits. A chat that is not yet free reserves
nothing: the caller waits and asks again, so one busy chat never holds back the others.

If Redis fails, the limiter falls back to the same algorithm in process memory (still correct
for one process; several processes may then briefly exceed the global rate, and Telegram's 429
handling covers that).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Sends leave our process a few milliseconds apart from when they reach Telegram (network and
# event-loop jitter), so perfectly spaced sends can still land 31 in one second. Spacing them 5%
# wider than the limit keeps a sliding-window counter on the other side satisfied.
SAFETY_MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class Reservation:
    """`delay` seconds to wait; `granted` False means the chat is busy: wait, then ask again."""

    delay: float
    granted: bool


class RateLimiter(Protocol):
    async def reserve(self, chat_id: int) -> Reservation: ...
    async def penalize(self, chat_id: int, seconds: float) -> None: ...


async def acquire(
    limiter: RateLimiter,
    chat_id: int,
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Wait until a message to `chat_id` may be sent. False if that would pass `deadline`
    (a `clock()` value): the caller gives the message back rather than overrun its lease."""
    while True:
        reservation = await limiter.reserve(chat_id)
        if deadline is not None and clock() + reservation.delay > deadline:
            return False
        if reservation.delay > 0:
            await asyncio.sleep(reservation.delay)
        if reservation.granted:
            return True


class LocalRateLimiter:
    """The limiter in process memory (one process, or the fallback when Redis is down)."""

    def __init__(
        self,
        *,
        global_rate: float,
        chat_interval: float,
        clock: Callable[[], float] = time.monotonic,
        margin: float = 0.0,
    ) -> None:
        self._step = (1.0 / global_rate) * (1 + margin)
        self._chat_interval = chat_interval * (1 + margin)
        self._clock = clock
        self._global_next = 0.0
        self._chat_next: dict[int, float] = {}

    async def reserve(self, chat_id: int) -> Reservation:
        now = self._clock()
        chat_next = self._chat_next.get(chat_id, 0.0)
        global_at = max(now, self._global_next)
        if chat_next > global_at:
            return Reservation(delay=chat_next - now, granted=False)
        self._global_next = global_at + self._step
        self._chat_next[chat_id] = global_at + self._chat_interval
        if len(self._chat_next) > 10_000:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        return Reservation(delay=global_at - now, granted=True)

    async def penalize(self, chat_id: int, seconds: float) -> None:
        now = self._clock()
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), now + seconds)


# "Now" in microseconds: the Redis server clock, so every instance agrees on it, unless the
# caller passes one (an injected clock, in tests) as the last argument.
_NOW = """
local now
if ARGV[#ARGV] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[#ARGV])
end
"""

# KEYS[1] global next-free time, KEYS[2] the chat's next-free time (both in microseconds of
# that clock). ARGV[1] global step, ARGV[2] chat interval, both microseconds; ARGV[3] now or ''.
# Returns {delay_us, granted}.
_RESERVE = (
    _NOW
    + """
local step = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local global_next = tonumber(redis.call('GET', KEYS[1]) or '0')
local chat_next = tonumber(redis.call('GET', KEYS[2]) or '0')
local at = math.max(now, global_next)
if chat_next > at then
  return {chat_next - now, 0}
end
-- Keys outlive their moment by 10 s: a past next-free time changes nothing, and a caller
-- stalled between reservations (or a test's frozen clock) never finds them gone too early.
local ttl = math.floor((at - now + step) / 1000) + 10000
redis.call('SET', KEYS[1], string.format('%d', at + step), 'PX', ttl)
if interval > 0 then
  ttl = math.floor((at - now + interval) / 1000) + 10000
  redis.call('SET', KEYS[2], string.format('%d', at + interval), 'PX', ttl)
end
return {at - now, 1}
"""
)

# KEYS[1] the chat's next-free time; ARGV[1] the penalty in microseconds, ARGV[2] now or ''.
_PENALIZE = (
    _NOW
    + """
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  local ttl = math.floor(tonumber(ARGV[1]) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', ttl)
end
return 1
"""
)


class RedisRateLimiter:
    """The limiter shared through Redis by all workers using the same bot token and prefix.

    Time is Redis `TIME`; `clock` (seconds), if given, replaces it (tests: a fake clock makes
    every delay exact; all users of one budget must then share that clock)."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        global_rate: float,
        chat_interval: float,
        fallback: LocalRateLimiter | None = None,
        margin: float = SAFETY_MARGIN,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._global_key = f"{prefix}:tg:rate:global"
        self._chat_prefix = f"{prefix}:tg:rate:chat:"
        self._step_us = int(1_000_000 / global_rate * (1 + margin))
        self._interval_us = int(chat_interval * 1_000_000 * (1 + margin))
        self._reserve = redis.register_script(_RESERVE)
        self._penalize = redis.register_script(_PENALIZE)
        self._fallback = fallback or LocalRateLimiter(
            global_rate=global_rate, chat_interval=chat_interval, margin=margin
        )

    def _now_us(self) -> str:
        return "" if self._clock is None else str(round(self._clock() * 1_000_000))

    async def reserve(self, chat_id: int) -> Reservation:
        try:
            delay_us, granted = await self._reserve(
                keys=[self._global_key, f"{self._chat_prefix}{chat_id}"],
                args=[self._step_us, self._interval_us, self._now_us()],
            )
        except RedisError as exc:
            log.warning("rate limiter: Redis unavailable (%r), pacing in process", exc)
            return await self._fallback.reserve(chat_id)
        return Reservation(delay=int(delay_us) / 1_000_000, granted=bool(int(granted)))

    async def penalize(self, chat_id: int, seconds: float) -> None:
        await self._fallback.penalize(chat_id, seconds)
        try:
            await self._penalize(
                keys=[f"{self._chat_prefix}{chat_id}"],
                args=[int(seconds * 1_000_000), self._now_us()],
            )
        except RedisError as exc:
            log.warning("rate limiter: Redis unavailable for a penalty (%r)", exc)
