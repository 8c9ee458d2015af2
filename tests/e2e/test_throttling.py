"""Throttling through the real Dispatcher and the Bot API emulator, with the default limits
(THROTTLE_RATE_PER_SECOND=3, THROTTLE_BURST=8).

The throttle's clock is frozen (injected into the app's middleware), so every update of a test
arrives "in the same instant": the hardest case for a burst, and no dependence on how fast the
machine delivers them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotApp
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.users import SimUser
from bot.i18n import translate
from bot.middlewares.throttling import ThrottlingMiddleware
from db.models import Service, ServiceSpecialist, Specialist, WorkplaceService
from tests.e2e.booking_support import booking_bot, new_client, t
from tests.emulator.fixtures import running_bot
from tests.integration.factories import make_catalog

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

DEFAULTS = {"throttle_rate_per_second": 3.0}  # and THROTTLE_BURST's default, 8


def freeze_throttle_clock(app: BotApp) -> None:
    middlewares = app.dispatcher.update.outer_middleware
    [throttle] = [m for m in middlewares if isinstance(m, ThrottlingMiddleware)]
    assert (throttle.rate_per_second, throttle.burst) == (3.0, 8)
    throttle.clock = lambda: 1_700_000_000.0


def throttled(user: SimUser, lang: str) -> list[str]:
    notice = translate("common.throttled", lang)
    return [m.text or "" for m in user.messages if m.text == notice]


async def two_services(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
    """One location, two services (so the flow asks for one), two specialists for the first;
    returns the first service's and the first specialist's names."""
    catalog = await make_catalog(sessions, specialists=2)
    async with sessions() as s, s.begin():
        extra = Service(name="Coloring", duration_min=90, price=Decimal("2500"))
        s.add(extra)
        await s.flush()
        s.add(WorkplaceService(workplace_id=catalog.workplace_ids[0], service_id=extra.id))
        s.add(ServiceSpecialist(service_id=extra.id, specialist_id=catalog.specialist_ids[0]))
        service = await s.scalar(select(Service.name).where(Service.id == catalog.service_id))
        specialist = await s.scalar(
            select(Specialist.name).where(Specialist.id == catalog.specialist_ids[0])
        )
    assert service is not None and specialist is not None
    return service, specialist


async def test_quick_taps_start_book_service_specialist_all_answered(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Issue: the fourth of four quick taps was dropped by a fixed window of 3 per second."""
    service, specialist = await two_services(session_factory)
    user, _ = await new_client(emulator, session_factory, 7001, lang="en")

    async with booking_bot(make_bot_settings, **DEFAULTS) as app:
        freeze_throttle_clock(app)
        await user.send("/start")
        await user.send("/book")
        await user.wait_for_message(t("booking.ask.service", "en"))
        await user.press(service)
        await user.wait_for_message(t("booking.ask.specialist", "en"))
        await user.press(specialist)
        await user.wait_for_message(t("booking.ask.date", "en"))
        await emulator.wait_for(lambda: not emulator.pending_updates())
    assert throttled(user, "en") == []


async def test_a_flood_of_300_is_limited_with_one_notice(
    emulator: BotAPIEmulator, make_bot_settings: Callable[..., Settings]
) -> None:
    flooder = emulator.user(7002, "Flood", language_code="en")
    neighbour = emulator.user(7003, "Calm", language_code="en")
    help_text = translate("help.text", "en")

    async with running_bot(make_bot_settings(**DEFAULTS)) as app:
        freeze_throttle_clock(app)
        for _ in range(300):
            await flooder.send("/help")
        await neighbour.send("/help")
        await emulator.wait_for(lambda: not emulator.pending_updates(), timeout=120)

    answers = [m.text for m in flooder.messages]
    assert answers.count(help_text) == 8  # the burst; the frozen clock refills nothing
    assert throttled(flooder, "en") == [translate("common.throttled", "en")]
    assert len(answers) == 9
    assert [m.text for m in neighbour.messages] == [help_text]
