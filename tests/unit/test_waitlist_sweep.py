"""The worker's waitlist sweep: runs on the given clock, survives a failing sweep, stops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from bot.notify.runner import sweep_waitlist_offers
from bot.services.waitlist import WaitlistService

NOW = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


class FakeWaitlist:
    def __init__(self, stop: asyncio.Event, outcomes: list[Any]) -> None:
        self.stop = stop
        self.outcomes = outcomes
        self.calls: list[datetime] = []

    async def expire_offers(self, *, now: datetime) -> int:
        self.calls.append(now)
        outcome = self.outcomes.pop(0)
        if not self.outcomes:
            self.stop.set()
        if isinstance(outcome, Exception):
            raise outcome
        return int(outcome)


async def test_sweep_keeps_going_after_a_failure_and_stops_on_request() -> None:
    stop = asyncio.Event()
    fake = FakeWaitlist(stop, [RuntimeError("database restarting"), 2])
    await asyncio.wait_for(
        sweep_waitlist_offers(
            cast(WaitlistService, fake), stop, every_seconds=0.01, clock=lambda: NOW
        ),
        timeout=5,
    )
    assert fake.calls == [NOW, NOW]


async def test_sweep_does_nothing_once_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    fake = FakeWaitlist(stop, [0])
    await asyncio.wait_for(
        sweep_waitlist_offers(cast(WaitlistService, fake), stop, clock=lambda: NOW), timeout=5
    )
    assert fake.calls == []
