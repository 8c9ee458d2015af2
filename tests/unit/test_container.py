"""The container resolves what the handlers ask for: a factory missing from the providers (or in
the wrong scope) fails here, not on the first update in production."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
from aiogram.types import TelegramObject
from dishka.integrations.aiogram import AiogramMiddlewareData
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.handlers.account.context import AccountDeps
from bot.handlers.booking.context import Deps
from bot.i18n import Translator
from bot.ioc.providers import make_container
from bot.ioc.types import Clock, Now
from bot.services.booking_flow import BookingFlow
from bot.services.clients import ClientService
from bot.services.factory import Services
from bot.services.reschedule_flow import RescheduleFlow


@pytest.mark.parametrize("wanted", [Deps, AccountDeps, BookingFlow, RescheduleFlow, Now])
async def test_request_scope_resolves_the_handler_dependencies(wanted: type[Any]) -> None:
    container = make_container(
        settings=MagicMock(spec=Settings),
        redis=MagicMock(spec=Redis),
        session_factory=MagicMock(spec=async_sessionmaker[AsyncSession]),
        clock=Clock(),
        clients=MagicMock(spec=ClientService),
        services=MagicMock(spec=Services),
    )
    data = {"profile": MagicMock(client_id=7, language="en"), "i18n": Translator("en")}
    try:
        async with container({TelegramObject: object(), AiogramMiddlewareData: data}) as request:
            assert await request.get(wanted) is not None
    finally:
        await container.close()


async def test_app_scope_objects_are_made_once() -> None:
    container = make_container(
        settings=MagicMock(spec=Settings),
        redis=MagicMock(spec=Redis),
        session_factory=MagicMock(spec=async_sessionmaker[AsyncSession]),
        clock=Clock(),
        clients=MagicMock(spec=ClientService),
        services=MagicMock(spec=Services),
    )
    data = {"profile": MagicMock(client_id=7, language="en"), "i18n": Translator("en")}
    flows = []
    try:
        for _ in range(2):
            async with container({TelegramObject: object(), AiogramMiddlewareData: data}) as req:
                flows.append(await req.get(Deps))
    finally:
        await container.close()
    assert flows[0] is not flows[1]  # a bundle per update
    assert flows[0].flow is flows[1].flow  # the service itself once per process
