"""Fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.emulator import BotAPIEmulator


@pytest.fixture
async def bot(emulator: BotAPIEmulator) -> AsyncIterator[Bot]:
    """A bare aiogram Bot talking to the emulator (no application around it)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.url))
    client = Bot(emulator.token, session=session)
    yield client
    await client.session.close()
