"""Long polling that handles a whole `getUpdates` batch at once and acknowledges it when done.

aiogram's polling either handles one update at a time (`handle_as_tasks=False`: every update
waits for the one before it, whoever sent it) or starts a task per update and acknowledges it
before its handler finished (`handle_as_tasks=True`: a crash loses updates;
docs/rules.md#pitfalls-we-design-around). `BatchDispatcher` does neither
(docs/rules.md#idempotency):

- each batch `getUpdates` returns (up to 100 updates) is split into lanes, one per user (the
  updates without a user share one lane); a lane's updates are handled one after another in
  `update_id` order, which the per-user dedupe watermark relies on (`bot.middlewares.dedupe`);
- up to `max_lanes` lanes run at once, so one client's slow step no longer holds up everyone
  else's, as with the webhook (the bot runs as many as its database pool keeps connections);
- the next `getUpdates`, whose offset acknowledges the batch to Telegram, is sent only when every
  update of the batch has been handled. A crash or kill in the middle of a batch leaves all of it
  unacknowledged; Telegram delivers it again and the dedupe skips what was already done.

Failed `getUpdates` calls are retried with `backoff_config` and logged with aiogram's own
messages, so `bot.ops.polling_log` folds them as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from aiogram import Bot, Dispatcher, loggers
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

# Lanes handled at once by default: Telegram's own default for concurrent webhook deliveries
# (`max_connections`). The bot passes its database pool's size instead (`bot.app`).
MAX_LANES = 40


def lanes_of(batch: Sequence[Update]) -> list[list[Update]]:
    """`batch` split by user, each lane in the batch's (`update_id`) order; the lanes in the
    order of their first update. Updates without a user (no kind the bot asks for today) form
    one lane of their own."""
    lanes: dict[int | None, list[Update]] = {}
    for update in batch:
        user = UserContextMiddleware.resolve_event_context(update).user
        lanes.setdefault(user.id if user is not None else None, []).append(update)
    return list(lanes.values())


class BatchDispatcher(Dispatcher):
    """A `Dispatcher` whose `start_polling` handles each batch by lanes and acknowledges it only
    once all of it is handled (see the module). `max_lanes` caps the lanes run at once; the
    `handle_as_tasks` and `tasks_concurrency_limit` arguments of `start_polling` are ignored."""

    def __init__(self, *args: Any, max_lanes: int = MAX_LANES, **kwargs: Any) -> None:
        if max_lanes < 1:
            raise ValueError("max_lanes must be at least 1")
        super().__init__(*args, **kwargs)
        self.max_lanes = max_lanes

    async def _polling(
        self,
        bot: Bot,
        polling_timeout: int = 30,
        handle_as_tasks: bool = True,
        backoff_config: BackoffConfig = DEFAULT_BACKOFF_CONFIG,
        allowed_updates: list[str] | None = None,
        tasks_concurrency_limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        user = await bot.me()
        loggers.dispatcher.info(
            "Run polling for bot @%s id=%d - %r", user.username, bot.id, user.full_name
        )
        try:
            async for batch in self._listen_batches(
                bot,
                polling_timeout=polling_timeout,
                backoff=Backoff(config=backoff_config),
                allowed_updates=allowed_updates,
            ):
                await self.handle_batch(bot, batch, **kwargs)
        finally:
            loggers.dispatcher.info(
                "Polling stopped for bot @%s id=%d - %r", user.username, bot.id, user.full_name
            )

    async def handle_batch(self, bot: Bot, batch: Sequence[Update], **kwargs: Any) -> None:
        """Handle every update of `batch`: by lanes (`lanes_of`), at most `max_lanes` at once.
        Returns when all are handled; a handler's error is logged by aiogram and ends only its
        own update. Cancelling this cancels every lane."""
        lanes = lanes_of(batch)
        if len(lanes) == 1:
            await self._run_lane(bot, lanes[0], kwargs)
            return
        queue = iter(lanes)

        async def worker() -> None:
            for lane in queue:  # the workers share one iterator: each lane is taken once
                await self._run_lane(bot, lane, kwargs)

        await asyncio.gather(*(worker() for _ in range(min(self.max_lanes, len(lanes)))))

    async def _run_lane(self, bot: Bot, lane: list[Update], kwargs: dict[str, Any]) -> None:
        for update in lane:
            await self._process_update(bot=bot, update=update, **kwargs)

    @staticmethod
    async def _listen_batches(
        bot: Bot,
        *,
        polling_timeout: int,
        backoff: Backoff,
        allowed_updates: list[str] | None,
    ) -> AsyncGenerator[list[Update], None]:
        """Batches from `getUpdates`, retried with `backoff` while it fails (aiogram's log
        lines); a batch is acknowledged by the next call, made when the consumer asks for the
        next batch."""
        get_updates = GetUpdates(timeout=polling_timeout, allowed_updates=allowed_updates)
        kwargs: dict[str, Any] = {}
        if bot.session.timeout:
            # The long poll itself takes up to polling_timeout: wait that much longer.
            kwargs["request_timeout"] = int(bot.session.timeout + polling_timeout)
        failed = False
        while True:
            try:
                updates = await bot(get_updates, **kwargs)
            except Exception as exc:  # polling outlives any error of Telegram's
                failed = True
                loggers.dispatcher.error(
                    "Failed to fetch updates - %s: %s", type(exc).__name__, exc
                )
                loggers.dispatcher.warning(
                    "Sleep for %f seconds and try again... (tryings = %d, bot id = %d)",
                    backoff.next_delay,
                    backoff.counter,
                    bot.id,
                )
                await backoff.asleep()
                continue
            if failed:
                loggers.dispatcher.info(
                    "Connection established (tryings = %d, bot id = %d)", backoff.counter, bot.id
                )
                backoff.reset()
                failed = False
            if updates:
                yield updates
                get_updates.offset = max(u.update_id for u in updates) + 1
