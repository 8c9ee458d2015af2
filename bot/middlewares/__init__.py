"""Cross-cutting middlewares only (no business logic), installed in this order on updates:

1. aiogram's own: errors -> user context -> FSM context (Redis storage);
1a. `bot.ops.observe`: log context, one log line and the metrics of each update (and, inside,
    the name of the handler that took it);
2. `DrainGate`: counts updates in flight, holds new ones while the process stops;
3. `DedupeMiddleware`: each `update_id` once;
4. `I18nMiddleware`: profile (cached) and language -> `i18n`, `locale`, `profile`;
5. `ThrottlingMiddleware`: per-user rate limit (answers in the user's language).
"""

from __future__ import annotations

from aiogram import Dispatcher
from redis.asyncio import Redis

from bot.config import Settings
from bot.middlewares.dedupe import DedupeMiddleware
from bot.middlewares.drain import DrainGate
from bot.middlewares.i18n import I18nMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.ops import observe
from bot.services.clients import ClientService

__all__ = [
    "DedupeMiddleware",
    "DrainGate",
    "I18nMiddleware",
    "ThrottlingMiddleware",
    "setup_middlewares",
]


def setup_middlewares(
    dp: Dispatcher, *, redis: Redis, settings: Settings, clients: ClientService
) -> DrainGate:
    """Install the middlewares; returns the drain gate the app closes on shutdown."""
    prefix = settings.redis_prefix
    observe.install(dp)
    gate = DrainGate()
    dp.update.outer_middleware(gate)
    dp.update.outer_middleware(DedupeMiddleware(redis, prefix))
    dp.update.outer_middleware(I18nMiddleware(clients, settings))
    dp.update.outer_middleware(ThrottlingMiddleware.from_settings(redis, settings))
    return gate
