"""The whole-stack benchmark runs end to end at a reduced size: the echo bot and the real
`python -m bot` process against the emulator, every client books, and every figure it promises
is printed (so `bench/stack.py` cannot rot unnoticed). Timing values are not asserted."""

from __future__ import annotations

import re

import pytest

from bench import stack
from tests.conftest import ADMIN_URL, REDIS_URL

CLIENTS = 10


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_every_client_books_through_the_whole_stack(
    monkeypatch: pytest.MonkeyPatch, webhook: bool
) -> None:
    monkeypatch.setattr(stack, "REDIS_URL", REDIS_URL)
    admin_url = ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    lines, echo, bot = await stack.run(CLIENTS, 2, admin_url=admin_url, webhook=webhook)
    assert bot.failures == [], bot.failures
    assert bot.bookings == CLIENTS
    assert bot.updates == echo.updates == CLIENTS * stack.STEPS
    # The bot process counted its own work, and saw every update and booking.
    assert bot.counters["bot_updates_total"] == CLIENTS * stack.STEPS
    assert bot.counters["bot_bookings_total"] == CLIENTS
    assert bot.counters["bot_sql_statements_total"] > 0
    assert bot.counters["bot_db_checkouts_total"] > 0
    assert bot.counters["bot_redis_commands_total"] > 0
    out = "\n".join(lines)
    labels = ("echo bot", "bot", "ratio bot/echo", "bot CPU", "per booking", "throttle")
    for label in (*labels, "Bot API calls", "driver CPU"):
        assert re.search(rf"^{re.escape(label)}\s", out, re.MULTILINE), out
    assert re.search(r"^step latency \(bot\)\s+p50=.*n=70$", out, re.MULTILINE), out
    # CPU per update as a multiple of the echo bot's too, which a slower or faster host keeps.
    times = re.search(r"^bot CPU .* per update \(([\d.]+) x the echo bot's", out, re.MULTILINE)
    assert times is not None and float(times.group(1)) > 1, out
    assert f"booked             {CLIENTS}/{CLIENTS}" in out
    assert ("bot mode           webhook" in out) is webhook, out
    # Every booking's Confirm answered with an edit, so the Bot API calls were counted.
    assert bot.api_calls["editMessageText"] >= CLIENTS


@pytest.mark.parametrize("days", [0, stack.MAX_DAYS + 1])
async def test_days_beyond_the_date_pickers_first_page_are_refused(
    days: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its clients pick their date from the picker's first page: today may take its first
    place, so a run over more days would leave the clients of the last ones unbooked."""
    assert stack.MAX_DAYS == 11
    with pytest.raises(SystemExit) as refused:
        await stack.main(["--days", str(days)])
    assert refused.value.code == 2
    assert "--days must be 1-11" in capsys.readouterr().err


async def test_a_profile_without_py_spy_is_refused_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(stack, "py_spy", lambda: None)
    with pytest.raises(SystemExit) as refused:
        await stack.main(["--profile", "profile.txt"])
    assert refused.value.code == 2
    assert "--profile needs py-spy" in capsys.readouterr().err
