"""The in-process limiter's arithmetic, on a fake clock: even global spacing, per-chat interval,
busy chats not blocking others, penalties, and the lease deadline."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.notify.ratelimit import LocalRateLimiter, Reservation, acquire


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_global_rate_spaces_sends_evenly() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(global_rate=30, chat_interval=1.0, clock=clock)
    delays = [(await limiter.reserve(chat)).delay for chat in range(90)]
    assert delays[0] == 0
    assert delays[-1] == pytest.approx(89 / 30)
    # 90 sends to distinct chats take three seconds: never more than 30 in any second.
    assert all(b - a == pytest.approx(1 / 30) for a, b in pairwise(delays))


async def test_same_chat_waits_the_interval_without_reserving_global_time() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(global_rate=30, chat_interval=1.0, clock=clock)
    assert await limiter.reserve(7) == Reservation(delay=0.0, granted=True)
    busy = await limiter.reserve(7)
    assert not busy.granted
    assert busy.delay == pytest.approx(1.0)
    # Another chat is not held back by chat 7's wait: it gets the next global slot.
    other = await limiter.reserve(8)
    assert other.granted and other.delay == pytest.approx(1 / 30)


async def test_penalty_keeps_a_chat_quiet() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(global_rate=30, chat_interval=1.0, clock=clock)
    await limiter.penalize(5, 7.0)
    reservation = await limiter.reserve(5)
    assert not reservation.granted and reservation.delay == pytest.approx(7.0)
    clock.now += 7.0
    assert (await limiter.reserve(5)).granted


async def test_acquire_refuses_when_the_wait_would_pass_the_deadline() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(global_rate=30, chat_interval=10.0, clock=clock)
    assert await acquire(limiter, 1, deadline=clock.now + 5, clock=clock)
    # The chat is busy for 10 s and the lease ends in 5 s: give the message back.
    assert not await acquire(limiter, 1, deadline=clock.now + 5, clock=clock)


@settings(max_examples=50, deadline=None)
@given(
    chats=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=60),
    rate=st.sampled_from([5.0, 30.0]),
)
async def test_property_no_window_exceeds_the_limits(chats: list[int], rate: float) -> None:
    """Replaying granted send times: any 1 s window holds at most `rate` sends in total and
    every chat's sends are at least the interval apart."""
    clock = FakeClock()
    limiter = LocalRateLimiter(global_rate=rate, chat_interval=1.0, clock=clock)
    sent: list[tuple[float, int]] = []
    for chat in chats:
        while True:
            r = await limiter.reserve(chat)
            clock.now += r.delay
            if r.granted:
                sent.append((clock.now, chat))
                break
    times = sorted(t for t, _ in sent)
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + 1.0 - 1e-9]
        assert len(in_window) <= rate
    for chat in set(chats):
        mine = [t for t, c in sent if c == chat]
        assert all(b - a >= 1.0 - 1e-9 for a, b in pairwise(mine))
