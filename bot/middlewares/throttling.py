"""Per-user throttling in Redis: a token bucket, so human bursts pass and floods do not.

Each user has a bucket of `burst` tokens that refills at `rate_per_second` (continuously, up
to `burst`); an update takes one token, and an update finding less than one is dropped. A
person tapping `/start`, `/book`, a service and a specialist within a second spends four of
the eight default tokens and is never dropped; a flood of hundreds gets `burst` updates
through, then `rate_per_second` a second.

The user is told once per flood: the first dropped update answers "too many requests", later
ones are dropped quietly (a pressed button still gets an empty answer) until no update has been
dropped for as long as the bucket takes to refill completely.

Bucket, refill and notice are one Lua function on one hash per user,
`{prefix}:throttle:bucket:{user_id}` (fields `tokens`, `ts`, `told_until`), so concurrent
updates of one user (several bot instances) never both take the last token. The update gate
(`bot.middlewares.gate`) runs it in its one opening script and puts the verdict into the
update's data; this middleware acts on it after the language is known. Time is Redis `TIME`,
the same clock for every instance, unless a clock is injected (tests).
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

# throttle_take(key, rate per ms, burst, key TTL in ms, now in ms or '' for Redis TIME) -> 1
# (passed), 0 (dropped) or -1 (dropped, the first of this flood: tell the user). The key is a
# hash {tokens, ts (ms), told_until (ms)}.
THROTTLE_TAKE_LUA = """
local function throttle_take(key, rate_arg, burst_arg, ttl, now_arg)
  local rate = tonumber(rate_arg)
  local burst = tonumber(burst_arg)
  local now
  if now_arg == '' then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  else
    now = tonumber(now_arg)
  end
  local state = redis.call('HMGET', key, 'tokens', 'ts', 'told_until')
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
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', ts, 'told_until', told_until)
  redis.call('PEXPIRE', key, ttl)
  return result
end
"""
_TAKE = THROTTLE_TAKE_LUA + "return throttle_take(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])"
# Where the gate leaves its verdict in the update's data.
VERDICT = "throttle_verdict"


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

    def key(self, user_id: int) -> str:
        """`{prefix}:throttle:bucket:{user_id}`: the user's bucket."""
        return f"{self.prefix}:throttle:bucket:{user_id}"

    def take_args(self) -> list[str | int]:
        """ARGV of `throttle_take` after the key: rate per ms, burst, the key's TTL, now."""
        now = "" if self.clock is None else str(math.floor(self.clock() * 1000))
        return [repr(self.rate_per_second / 1000), self.burst, self._ttl_ms, now]

    async def take(self, user_id: int) -> int:
        """Take one token of `user_id`'s bucket on its own (one script call): PASSED, DROPPED
        or DROPPED_TELL. The bot takes it inside the update gate's script instead."""
        return int(await self._take(keys=[self.key(user_id)], args=self.take_args()))

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update) or not takes_token(event):
            return await handler(event, data)
        verdict = data.get(VERDICT)
        if verdict is None:  # no gate in front (a narrowed test dispatcher)
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


def takes_token(update: Update) -> bool:
    """Whether `update` is throttled: everything but payments.

    Payment updates come from Telegram's checkout, not from a user's typing, and must never
    be dropped: an unanswered pre-checkout fails the payment, and a dropped successful payment
    would take the client's money without crediting the wallet."""
    if update.pre_checkout_query is not None:
        return False
    return update.message is None or update.message.successful_payment is None
