"""The memory benchmark runs end to end at a reduced size: the echo bot and the real
`python -m bot` process against the emulator, every new user answered and given a profile, and
every figure it promises printed (so `bench/memory.py` cannot rot unnoticed). Memory values are
not asserted: they live in the benchmark's report."""

from __future__ import annotations

import re

import pytest

from bench import memory, stack
from tests.conftest import ADMIN_URL, REDIS_URL

USERS = 20
WARMUP = 2


async def test_every_new_user_is_answered_and_the_figures_are_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stack, "REDIS_URL", REDIS_URL)
    admin_url = ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    lines, echo, bot = await memory.run(USERS, warmup=WARMUP, concurrency=10, admin_url=admin_url)
    assert echo.failures == bot.failures == [], echo.failures + bot.failures
    assert len(echo.latencies) == len(bot.latencies) == USERS
    for phase in (echo, bot):
        assert min(phase.rss_start, phase.rss_warm, phase.rss_after) > 0
    # Every new user left an update mark in Redis (kept for the day), and a throttle bucket
    # (kept a minute after its last update), all of them counted.
    assert bot.redis_keys["seen"][0] == USERS + WARMUP
    assert 0 < bot.redis_keys["throttle"][0] <= USERS + WARMUP
    assert all(size > 0 for _, size in bot.redis_keys.values())
    out = "\n".join(lines)
    for label in ("echo bot RSS", "bot RSS", "ratio bot/echo", "redis", "load average"):
        assert re.search(rf"^{re.escape(label)}\s", out, re.MULTILINE), out
    assert re.search(r"^bot RSS .* KiB per 1,000 users", out, re.MULTILINE), out
    assert re.search(r"^redis .* KiB per 1,000 users", out, re.MULTILINE), out
    assert f"answered           echo {USERS}/{USERS}, bot {USERS}/{USERS}" in out
