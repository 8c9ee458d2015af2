"""The drain gate's cap on updates handled at once (`bot.middlewares.drain.DrainGate`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.types import TelegramObject

from bot.middlewares.drain import DrainGate


async def test_no_more_updates_run_at_once_than_the_limit() -> None:
    gate = DrainGate(limit=2)
    running: list[int] = []
    done: list[int] = []
    release = {n: asyncio.Event() for n in range(3)}
    changed = asyncio.Condition()

    def handler_for(n: int) -> Any:
        async def handler(event: TelegramObject, data: dict[str, Any]) -> int:
            running.append(n)
            async with changed:
                changed.notify_all()
            await release[n].wait()
            done.append(n)
            return n

        return handler

    async def until(check: Any) -> None:
        async with changed:
            await asyncio.wait_for(changed.wait_for(check), 5)

    tasks = [asyncio.create_task(gate(handler_for(n), TelegramObject(), {})) for n in range(3)]
    await until(lambda: len(running) == 2)
    assert running == [0, 1]
    assert gate.in_flight == 3  # the third waits its turn, in flight
    assert not gate.idle.is_set()

    release[1].set()
    await until(lambda: len(running) == 3)
    assert running == [0, 1, 2] and done == [1]
    release[0].set()
    release[2].set()
    assert await asyncio.gather(*tasks) == [0, 1, 2]
    assert gate.in_flight == 0 and gate.idle.is_set()


async def test_without_a_limit_every_update_runs_at_once() -> None:
    gate = DrainGate()
    started = 0
    go = asyncio.Event()

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        nonlocal started
        started += 1
        if started == 50:
            go.set()
        await go.wait()

    await asyncio.wait_for(
        asyncio.gather(*(gate(handler, TelegramObject(), {}) for _ in range(50))), 5
    )
    assert started == 50


def test_the_limit_must_allow_an_update() -> None:
    with pytest.raises(ValueError, match="limit"):
        DrainGate(limit=0)
