"""Per-user throttling in Redis: a token bucket, so human bursts pass and floods do not.

Each user has a bucket of `burst` tokens that refills at `rate_per_second` (continuously, up
to `burst`); an update takes one token, and an update finding less than one is dropped. A
person tapping `/start`, `/book`, a service and a specialist within a second spends four of
the eight default tokens and is never dropped; a flood of hundreds gets `burst` updates
through, then `rate_per_second` a second.

The user is told once per flood: the first dropped update answers "too many requests", later
ones are dropped quietly (a pressed button still gets an empty answer) until no update has been
dropped for as long as the bucket takes to refill completely.

Bucket, refill and notice are one Lua script on one hash, so concurrent updates of one user
(several bot instances) never both take the last token. Time is Redis `TIME`, the same clock
for every instance, unless a clock is injected (tests).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from redis.asyncio import Redis

from bot.config import Settings
from bot.i18n import DEFAULT_LANGUAGE, Translator

log = logging.getLogger(__name__)

PASSED, DROPPED, DROPPED_TELL = 1, 0, -1

# KEYS[1] hash {tokens, ts (ms), told_until (ms)}.
# ARGV: refill rate in tokens per ms, burst, key TTL in ms, now in ms ('' = Redis TIME).
# Returns 1 (passed), 0 (dropped) or -1 (dropped, the first of this flood: tell the user).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local now
if ARGV[4] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[4])
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'told_until')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
local told_until = tonumber(state[3]) or 0
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local result = 1
if tokens >= 1 then
  tokens = tokens - 1
else
  if now >= told_until then result = -1 else result = 0 end
  -- A flood ends once nothing was dropped for a full refill.
  told_until = now + math.ceil(burst / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', ts, 'told_until', told_until)
redis.call('PEXPIRE', KEYS[1], ttl)
return result
"""


class ThrottlingMiddleware(BaseMiddleware):
    """Outer update middleware. Needs `event_from_user` (aiogram's user context middleware).

    `rate_per_second` (> 0) refills the bucket, `burst` (>= 1) is its size; `clock`, if given,
    returns the current time in seconds and replaces Redis `TIME` (tests).
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        rate_per_second: float,
        burst: int = 8,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate_per_second must be > 0 and burst >= 1")
        self.redis = redis
        self.prefix = prefix
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.clock = clock
        refill_ms = math.ceil(burst / rate_per_second * 1000)
        # An idle bucket is full again after refill_ms; keep the state a minute beyond that.
        self._ttl_ms = refill_ms + 60_000
        self._take = redis.register_script(_TAKE)

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> ThrottlingMiddleware:
        """THROTTLE_RATE_PER_SECOND and THROTTLE_BURST, keys under REDIS_PREFIX."""
        return cls(
            redis,
            settings.redis_prefix,
            rate_per_second=settings.throttle_rate_per_second,
            burst=settings.throttle_burst,
        )

    async def take(self, user_id: int) -> int:
        """Take one token of `user_id`'s bucket: PASSED, DROPPED or DROPPED_TELL."""
        now = "" if self.clock is None else str(math.floor(self.clock() * 1000))
        key = f"{self.prefix}:throttle:bucket:{user_id}"
        args: list[str | int] = [repr(self.rate_per_second / 1000), self.burst, self._ttl_ms, now]
        return int(await self._take(keys=[key], args=args))

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update) or _is_payment(event):
            return await handler(event, data)
        verdict = await self.take(user.id)
        if verdict == PASSED:
            return await handler(event, data)
        log.info("throttled user %s (update %s)", user.id, event.update_id)
        if verdict == DROPPED_TELL:
            await self._tell(event, data)
        elif event.callback_query is not None:
            # A pressed button always needs an answer, or the client spins.
            await event.callback_query.answer()
        return None

    @staticmethod
    async def _tell(event: Update, data: dict[str, Any]) -> None:
        i18n: Translator = data.get("i18n") or Translator(DEFAULT_LANGUAGE)
        text = i18n("common.throttled")
        if isinstance(event.callback_query, CallbackQuery):
            await event.callback_query.answer(text)
        elif isinstance(event.message, Message):
            await event.message.answer(text)


def _is_payment(update: Update) -> bool:
    """Payment updates come from Telegram's checkout, not from a user's typing, and must never
    be dropped: an unanswered pre-checkout fails the payment, and a dropped successful payment
    would take the client's money without crediting the wallet."""
    if update.pre_checkout_query is not None:
        return True
    return update.message is not None and update.message.successful_payment is not None
