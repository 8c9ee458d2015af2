"""Graceful stop for long polling: let the updates in flight finish, start no new one.

On SIGTERM the app calls `DrainGate.close()` and waits for `idle`; only then does it stop
polling (which cancels whatever is still running). An update that arrives after `close()` is
held until the cancel: it is never acknowledged, so Telegram delivers it to the next process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class DrainGate(BaseMiddleware):
    """Outermost of our update middlewares: counts updates in flight."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

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
            return await handler(event, data)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()
