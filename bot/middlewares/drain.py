"""Graceful stop for long polling: let the updates in flight finish, start no new one; and a
cap on the updates handled at once.

On SIGTERM the app calls `DrainGate.close()` and waits for `idle`; only then does it stop
polling (which cancels whatever is still running). An update that arrives after `close()` is
held until the cancel: it is never acknowledged, so Telegram delivers it to the next process.

With `limit`, at most that many updates run their handlers at once; the others wait here, in
flight, before the per-user lock (so a lock's holder always has its turn). The bot sets it to
its database pool's size: a webhook gets up to 40 deliveries at once from Telegram, and each
update beyond the pool's connections would open one and close it when returned (a connect,
a server process and fresh statement preparations each time; docs/bench-stack.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class DrainGate(BaseMiddleware):
    """Outermost of our update middlewares: counts updates in flight, and lets at most `limit`
    (None: any number) run at once (see the module)."""

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        self.stopping = asyncio.Event()
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self._turns = asyncio.Semaphore(limit) if limit is not None else None

    def close(self) -> None:
        self.stopping.set()

    def reopen(self) -> None:
        """Let updates through again (polling resumes after a pause, not a stop)."""
        self.stopping.clear()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if self.stopping.is_set():
            # Wait for the cancel that stops polling; the update stays unacknowledged.
            await asyncio.Event().wait()
        self.in_flight += 1
        self.idle.clear()
        try:
            if self._turns is None:
                return await handler(event, data)
            async with self._turns:
                return await handler(event, data)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()
