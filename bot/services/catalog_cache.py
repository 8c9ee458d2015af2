"""The catalog in memory: read once per catalog version, not on every step of every update.

The catalog (locations, services, specialists, workplaces, their links, weekly hours,
schedules, holidays and breaks) changes rarely and only through the catalog import and the
catalog changes, which both bump the catalog version counter in Redis
(`bot.services.availability.catalog_version_key`) after their commit. Each use asks Redis for
that counter (one GET) and gets a `CatalogSnapshot` for it: parts already read under that
version come from memory; a new version starts an empty snapshot, so a change made by any
process is seen by every process at its next use (docs/rules.md#redis).

One update sees one snapshot: inside `pinned()` (the dispatcher enters it around every update)
the first use asks Redis and the later ones reuse its answer, so an update costs one GET; in
the bot not even that: the update gate reads the counter in its opening script and hands it
over (`adopt`), before any part is loaded.

A snapshot is also dropped after `max_age_seconds`, the safety net behind the counter (a change
whose bump was lost to a Redis failure), like the slot cache's TTL. Without Redis (a failed
GET) every use gets a fresh, unshared snapshot: the database is read as before the cache.

The order matters: the counter is read before any part is loaded, so a part read after a change
committed can at worst sit under the older version (and be dropped at the next use), never
the reverse. Values kept in a snapshot are shared: callers must not modify them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.transaction import read_session

log = logging.getLogger(__name__)

T = TypeVar("T")

# The safety net behind the version counter (seconds); the slot cache uses the same.
CATALOG_MAX_AGE_SECONDS = 120.0


class CatalogSnapshot:
    """The catalog parts read under one catalog version. `get(key, load)` returns the part
    `key`, calling `load(session)` the first time: in the caller's `session` when given (a
    transaction that holds a pooled connection never waits for a second one), else in a
    session of its own, one load shared by concurrent first uses. A failed load is forgotten,
    so the next use retries."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], version: str | None, born: float
    ) -> None:
        self.version = version
        self.born = born
        self._sessions = sessions
        self._parts: dict[Hashable, asyncio.Future[Any]] = {}
        self._derived: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per snapshot (a view derived from parts already read)."""
        if key not in self._derived:
            self._derived[key] = compute()
        return cast(T, self._derived[key])

    def peek(self, key: Hashable) -> tuple[bool, Any]:
        """(True, the part `key`) when it is read already, else (False, None): no load."""
        part = self._parts.get(key)
        if part is None or not part.done() or part.cancelled() or part.exception():
            return False, None
        return True, part.result()

    def memoized(self, key: Hashable) -> Any | None:
        """What `memo` keeps under `key`, or None when nothing was computed for it yet."""
        return self._derived.get(key)

    async def get(
        self,
        key: Hashable,
        load: Callable[[AsyncSession], Awaitable[T]],
        session: AsyncSession | None = None,
    ) -> T:
        found, value = self.peek(key)
        if found:
            return cast(T, value)
        if session is not None:
            value = await load(session)
            if key not in self._parts:
                done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                done.set_result(value)
                self._parts[key] = done
            return value
        part = self._parts.get(key)  # a load under way, or none
        if part is None:
            part = asyncio.ensure_future(self._load(load))
            self._parts[key] = part
            part.add_done_callback(lambda finished: self._forget_failed(key, finished))
        # Shielded: one caller's cancellation does not cancel the load the others wait for.
        return cast(T, await asyncio.shield(part))

    async def _load(self, load: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with read_session(self._sessions) as session:  # reads only: no BEGIN, no ROLLBACK
            return await load(session)

    def _forget_failed(self, key: Hashable, part: asyncio.Future[Any]) -> None:
        failed = part.cancelled() or part.exception() is not None
        if failed and self._parts.get(key) is part:
            del self._parts[key]


class _Pin:
    """The snapshot one update uses (None until its first use)."""

    __slots__ = ("snapshot",)

    def __init__(self) -> None:
        self.snapshot: CatalogSnapshot | None = None


_PIN: ContextVar[_Pin | None] = ContextVar("catalog_pin", default=None)


class CatalogCache:
    """Process-wide holder of the current `CatalogSnapshot` (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        redis_prefix: str,
        *,
        max_age_seconds: float = CATALOG_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        # The same key as `availability.catalog_version_key` (not imported: no cycle).
        self._key = f"{redis_prefix}:slots:ver:catalog"
        self._max_age = max_age_seconds
        self._clock = clock
        self._current: CatalogSnapshot | None = None

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Inside the block, `snapshot()` asks Redis once and then returns the same snapshot
        (one update, one catalog version)."""
        token = _PIN.set(_Pin())
        try:
            yield
        finally:
            _PIN.reset(token)

    async def snapshot(self) -> CatalogSnapshot:
        """The snapshot of the catalog version in Redis now (one GET; none again inside the
        same `pinned()` block). Never raises for Redis: without it the snapshot is fresh and
        not kept."""
        pin = _PIN.get()
        if pin is not None and pin.snapshot is not None:
            return pin.snapshot
        snapshot = await self._snapshot()
        if pin is not None:
            pin.snapshot = snapshot
        return snapshot

    def known(self) -> CatalogSnapshot | None:
        """The snapshot a read would use now if it asked nothing of Redis: the update's pinned
        one, else the process's current one while it is young enough to be kept; None when
        there is neither. Its version may be behind Redis: a caller compares it with the
        version it reads."""
        pin = _PIN.get()
        if pin is not None and pin.snapshot is not None:
            return pin.snapshot
        current = self._current
        return current if current is not None and self._young(current, self._clock()) else None

    def _young(self, snapshot: CatalogSnapshot, now: float) -> bool:
        """Whether `snapshot` may still be used at `now` (`max_age_seconds`)."""
        return now - snapshot.born <= self._max_age

    @property
    def version_key(self) -> str:
        """The Redis key of the catalog's version counter."""
        return self._key

    def adopt(self, raw: bytes | str | None) -> None:
        """Pin, for the current `pinned()` block, the snapshot of a version value already read
        (`raw`: the counter's value, None when unset), so the update asks Redis no GET of its
        own (the update gate reads it in its opening script). Outside a block: nothing."""
        pin = _PIN.get()
        if pin is not None and pin.snapshot is None:
            pin.snapshot = self._for_version(raw, self._clock())

    def snapshot_of(self, raw: bytes | str | None) -> CatalogSnapshot:
        """`snapshot()` for a counter value read just now along with something else (`raw`,
        None when unset): no GET of its own. Inside a `pinned()` block whose snapshot is
        taken already, that one."""
        pin = _PIN.get()
        if pin is not None and pin.snapshot is not None:
            return pin.snapshot
        snapshot = self._for_version(raw, self._clock())
        if pin is not None:
            pin.snapshot = snapshot
        return snapshot

    async def _snapshot(self) -> CatalogSnapshot:
        now = self._clock()
        try:
            raw = await self._redis.get(self._key)
        except (RedisError, OSError) as exc:
            log.warning("catalog version unavailable, reading the catalog afresh: %s", exc)
            return CatalogSnapshot(self._sessions, None, now)
        return self._for_version(raw, now)

    def _for_version(self, raw: bytes | str | None, now: float) -> CatalogSnapshot:
        version = "0" if raw is None else (raw.decode() if isinstance(raw, bytes) else str(raw))
        current = self._current
        if current is None or current.version != version or not self._young(current, now):
            current = CatalogSnapshot(self._sessions, version, now)
            self._current = current
        return current

    def fresh(self) -> CatalogSnapshot:
        """A snapshot of its own (nothing shared, nothing kept): for callers that must see the
        database as it is now."""
        return CatalogSnapshot(self._sessions, None, self._clock())
