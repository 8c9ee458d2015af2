"""Per-user throttling in Redis: at most `rate` updates per second per user, counted over a fixed
window that starts with the user's first update (so no boundary lets a burst through twice).

An update over the limit is dropped; the user is told once per window.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from redis.asyncio import Redis

from bot.i18n import DEFAULT_LANGUAGE, Translator

log = logging.getLogger(__name__)

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class ThrottlingMiddleware(BaseMiddleware):
    """Outer update middleware. Needs `event_from_user` (aiogram's user context middleware)."""

    def __init__(self, redis: Redis, prefix: str, *, rate_per_second: float) -> None:
        self.redis = redis
        self.prefix = prefix
        # A rate below 1/s becomes "1 per N seconds"; above, "N per second".
        self.window_seconds = max(1, math.ceil(1 / rate_per_second))
        self.limit = max(1, math.floor(rate_per_second * self.window_seconds))
        self._hit = redis.register_script(_HIT)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update) or _is_payment(event):
            return await handler(event, data)
        key = f"{self.prefix}:throttle:{user.id}"
        count = int(await self._hit(keys=[key], args=[self.window_seconds * 1000]))
        if count <= self.limit:
            return await handler(event, data)
        log.info("throttled user %s (update %s)", user.id, event.update_id)
        first_drop = await self.redis.set(f"{key}:told", b"1", nx=True, ex=self.window_seconds)
        if first_drop:
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
