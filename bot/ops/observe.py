"""Per-update observation: the log context, one log line and the metrics of every update.

`UpdateObserver` (outer update middleware, right after aiogram's own) sets the log context
(`update_id`, `user_id`; see `bot.ops.logs`), times the update and, when it ends, counts it in
`bot_updates_total{type, outcome}` and `bot_handler_seconds{handler}` and logs one line with
`latency_ms`. `HandlerName` (inner middleware of every event observer) records which handler
took the update, so every log line made by the handler names it.

Outcomes: `ok`; `unavailable` (PostgreSQL or Redis did not answer, `bot.ops.outage`);
`error` (anything else). Nothing about the update's content (text, phone, payment) is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.types import TelegramObject, Update, User

from bot.ops import metrics
from bot.ops.logs import UpdateContext, current_update
from bot.ops.outage import classify

log = logging.getLogger("bot.updates")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
NO_HANDLER = "none"


class UpdateObserver(BaseMiddleware):
    """Outer update middleware: log context, one line per update, update metrics."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        user: User | None = data.get("event_from_user")
        context = UpdateContext(update_id=event.update_id, user_id=user.id if user else None)
        token = current_update.set(context)
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "ok"
            return result
        except Exception as exc:
            outcome = "unavailable" if classify(exc) is not None else "error"
            raise
        finally:
            seconds = time.perf_counter() - started
            name = context.handler or NO_HANDLER
            metrics.UPDATES.labels(type=event.event_type, outcome=outcome).inc()
            metrics.HANDLER_SECONDS.labels(handler=name).observe(seconds)
            log.info(
                "update %s %s by %s in %.0f ms",
                event.event_type,
                outcome,
                name,
                seconds * 1000,
                extra={"latency_ms": round(seconds * 1000, 1), "outcome": outcome},
            )
            current_update.reset(token)


class HandlerName(BaseMiddleware):
    """Inner middleware: puts the chosen handler's name into the update's log context."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context = current_update.get()
        chosen = data.get("handler")
        if context is not None and chosen is not None:
            context.handler = getattr(chosen.callback, "__name__", None)
        return await handler(event, data)


def install(dp: Dispatcher) -> None:
    """Register both middlewares; call before any other middleware of the bot's own."""
    dp.update.outer_middleware(UpdateObserver())
    names = HandlerName()
    for event_name, observer in dp.observers.items():
        if event_name not in ("update", "error"):
            observer.middleware(names)
