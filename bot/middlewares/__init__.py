"""Cross-cutting middlewares only (no business logic), installed in this order on updates:

1. aiogram's own: errors -> user context (its FSM middleware is replaced by the update gate);
1a. `bot.ops.observe`: log context, one log line and the metrics of each update (and, inside,
    the name of the handler that took it);
2. `DrainGate`: counts updates in flight, holds new ones while the process stops;
3. `UpdateGate`: the FSM context under aiogram's per-user lock, and in one Redis script each
   `update_id` once (`dedupe`), the throttle's token, the cached profile and the conversation
   (`fsm`); one more script at the end writes the conversation and marks the update done;
4. `I18nMiddleware`: profile (cached) and language -> `i18n`, `locale`, `profile`;
5. `ThrottlingMiddleware`: drops what the gate's token verdict says (answers in the user's
   language).

Two Redis commands per update in all, unless the profile is not cached (one more) or a handler
runs longer than a third of the dedupe lease (renewals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation
from redis.asyncio import Redis

from bot.config import Settings
from bot.middlewares.drain import DrainGate
from bot.middlewares.fsm import OneKeyRedisStorage
from bot.middlewares.gate import UpdateGate
from bot.middlewares.i18n import I18nMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.ops import observe
from bot.services.clients import ClientService

__all__ = [
    "DrainGate",
    "I18nMiddleware",
    "OneKeyRedisStorage",
    "ThrottlingMiddleware",
    "UpdateGate",
    "setup_middlewares",
]


def setup_middlewares(
    dp: Dispatcher,
    *,
    redis: Redis,
    settings: Settings,
    clients: ClientService,
    storage: OneKeyRedisStorage,
    events_isolation: BaseEventIsolation,
    also_read: tuple[str, Callable[[Any], None]] | None = None,
    max_in_flight: int | None = None,
) -> DrainGate:
    """Install the middlewares on a dispatcher made with `disable_fsm=True` (the gate is its
    FSM middleware); `also_read` is a key the gate's opening script reads too, and what to do
    with its value (see `UpdateGate`); `max_in_flight` caps the updates handled at once
    (`DrainGate`'s `limit`). Returns the drain gate the app closes on shutdown."""
    observe.install(dp)
    drain = DrainGate(max_in_flight)
    throttle = ThrottlingMiddleware.from_settings(redis, settings)
    dp.update.outer_middleware(drain)
    dp.update.outer_middleware(
        UpdateGate(
            redis,
            settings.redis_prefix,
            storage=storage,
            events_isolation=events_isolation,
            throttle=throttle,
            profile_key=clients.profile_key,
            also_read=also_read,
        )
    )
    dp.update.outer_middleware(I18nMiddleware(clients, settings))
    dp.update.outer_middleware(throttle)
    return drain
