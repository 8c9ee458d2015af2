"""The polling bot's per-user lock: one user's updates run one at a time, other users' do not
wait, and a user's lock is forgotten once nobody holds or waits for it (the process does not
keep one per user ever seen)."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.middlewares.isolation import LocalEventIsolation


def key(user: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=user, user_id=user)


async def test_one_users_updates_run_one_at_a_time() -> None:
    isolation = LocalEventIsolation()
    order: list[str] = []
    first_in = asyncio.Event()
    let_first_go = asyncio.Event()

    async def first() -> None:
        async with isolation.lock(key(7)):
            order.append("first in")
            first_in.set()
            await let_first_go.wait()
            order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with isolation.lock(key(7)):
            order.append("second in")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_in.wait()
    # One loop turn: the second task runs up to the held lock and waits there.
    await asyncio.sleep(0)
    assert order == ["first in"]
    assert len(isolation) == 1
    let_first_go.set()
    await asyncio.gather(*tasks)
    assert order == ["first in", "first out", "second in"]
    assert len(isolation) == 0


async def test_another_users_update_does_not_wait() -> None:
    isolation = LocalEventIsolation()
    async with isolation.lock(key(1)), asyncio.timeout(1), isolation.lock(key(2)):
        assert len(isolation) == 2
    assert len(isolation) == 0


async def test_ten_thousand_users_leave_no_lock_behind() -> None:
    isolation = LocalEventIsolation()
    for user in range(10_000):
        async with isolation.lock(key(user)):
            pass
    assert len(isolation) == 0


async def test_a_failed_or_cancelled_update_leaves_the_lock_usable_and_forgotten() -> None:
    isolation = LocalEventIsolation()
    with pytest.raises(RuntimeError):
        async with isolation.lock(key(3)):
            raise RuntimeError("handler failed")
    assert len(isolation) == 0

    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with isolation.lock(key(3)):
            held.set()
            await release.wait()

    async def waiter() -> None:
        async with isolation.lock(key(3)):
            raise AssertionError("a cancelled waiter never gets the lock")

    holding = asyncio.create_task(holder())
    await held.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # one loop turn: the waiter runs up to the held lock
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert len(isolation) == 1  # the holder's
    release.set()
    await holding
    assert len(isolation) == 0
    async with asyncio.timeout(1), isolation.lock(key(3)):
        pass
