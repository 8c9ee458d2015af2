"""The /book conversation across failures and abandonment: an abandoned flow expiring (FSM TTL)
after its hold, a restart of the bot between picking a time and
confirming it (a new application instance on the same Redis and database), and Redis going down
in the middle of the flow (a clear "temporarily unavailable", nothing written, and the flow goes
on once Redis is back). Redis is reached through a proxy the test stops; the shared Redis is
never touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from tests.e2e.booking_support import (
    Services,
    appointments_of,
    assert_money_invariant,
    booking_bot,
    button_data,
    wallet_of,
)
from tests.e2e.test_booking_flow import TEN, booked, is_summary, new_client, t, to_summary, to_times
from tests.emulator.redis_proxy import RedisProxy
from tests.integration.factories import make_catalog
from tests.servers import pin_breaker

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


@pytest.mark.parametrize(("lang", "tg_id"), [("ru", 5301), ("en", 5302)])
async def test_restart_between_time_and_confirm_still_books(
    lang: str,
    tg_id: int,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, tg_id, lang=lang)

    async with booking_bot(make_bot_settings) as app:
        summary = await to_summary(user, lang)
        assert await Services(app).hold_of(client_id) is not None

    # A new instance of the application: the flow (FSM in Redis) and the hold survived it.
    async with booking_bot(make_bot_settings) as app:
        assert await Services(app).hold_of(client_id) is not None
        confirm = button_data(summary, t("booking.btn.confirm", lang))
        await user.press_data(confirm, message_id=summary.message_id)
        await user.wait_for_message(booked(lang))
        assert await Services(app).hold_of(client_id) is None

    [appointment] = await appointments_of(session_factory, client_id)
    assert (appointment.status, appointment.start_time) == ("booked", TEN)
    assert (await wallet_of(session_factory, client_id))[0] == Decimal("4000.00")
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize(("lang", "tg_id"), [("ru", 5303), ("en", 5304)])
async def test_redis_down_mid_flow_is_temporarily_unavailable_then_goes_on(
    lang: str,
    tg_id: int,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis_proxy: RedisProxy,
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, tg_id, lang=lang)

    async with booking_bot(make_bot_settings, redis_url=redis_proxy.url) as app:
        clock = pin_breaker(app)
        times = await to_times(user, lang)

        await redis_proxy.stop()
        await user.press_data(button_data(times, "10:00"), message_id=times.message_id)
        down = await user.wait_for_message(edits=False, timeout=30)
        assert down.text == t("errors.unavailable", lang)
        assert await appointments_of(session_factory, client_id) == []

        await redis_proxy.start()
        clock.pass_pause()  # the breaker's pause is over: the next update asks Redis again
        # The times are still on screen and still the current step: the flow goes on.
        await user.press_data(button_data(times, "10:00"), message_id=times.message_id)
        await user.wait_for_message(is_summary(lang), timeout=30)
        assert await Services(app).hold_of(client_id) is not None
        await user.press(t("booking.btn.confirm", lang))
        await user.wait_for_message(booked(lang))

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == TEN
    assert (await wallet_of(session_factory, client_id))[0] == Decimal("4000.00")
    await assert_money_invariant(session_factory)


async def test_abandoned_flow_expires_after_its_hold(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 5305)

    async with booking_bot(make_bot_settings, fsm_ttl_seconds=900) as app:
        await to_summary(user, "ru")
        hold = await Services(app).hold_of(client_id)
        assert hold is not None

        # The conversation (state and data in one hash) carries the FSM TTL...
        prefix = app.settings.redis_prefix
        keys = [k async for k in app.redis.scan_iter(match=f"{prefix}:fsm:*")]
        assert len(keys) == 1
        assert set(await app.redis.hkeys(keys[0])) == {b"state", b"data"}
        ttls = [await app.redis.pttl(k) for k in keys]
        assert all(0 < ttl <= 900_000 for ttl in ttls), ttls
        # ...and the hold taken in it lapses first, so nothing outlives an abandoned flow.
        hold_left = (hold.expires_at - datetime.now(UTC)).total_seconds() * 1000
        assert 0 < hold_left <= app.settings.hold_ttl_seconds * 1000 < min(ttls)
