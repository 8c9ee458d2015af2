"""One user's updates one at a time inside one process, with memory only for users being served.

aiogram's `SimpleEventIsolation` keeps an `asyncio.Lock` per user for the life of the process
(its own source says an unused-locks cleaner is still to be written): a polling bot that has
seen 10,000 users holds 10,000 locks and their keys forever. `LocalEventIsolation` keeps a lock
only while some update of that user holds it or waits for it, so what it holds is bounded by
the updates in flight, not by the users ever seen. Across processes (webhook instances) the
lock lives in Redis instead (`bot.middlewares.lease.LeasedEventIsolation`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Hashable
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # updates holding or waiting for the lock


class LocalEventIsolation(BaseEventIsolation):
    """A per-key `asyncio.Lock` for one event loop, forgotten when its last holder or waiter
    leaves (released, failed or cancelled). `len()` is the number of keys held or waited for."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]

    async def close(self) -> None:
        """Nothing to release: a lock exists only while an update uses it."""
