"""The shell over HTTP: the real Dispatcher (built as `python -m bot` builds it) against the
Bot API emulator, the test database and Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotApp
from bot.i18n import translate
from bot.keyboards.common import MenuAction, MenuCb
from bot.states import BookingStates
from db.models import Client, ClientWallet
from tests.emulator import BotAPIEmulator


async def _count(session_factory: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_start_registers_once_and_shows_menu(
    bot_app: BotApp, emulator: BotAPIEmulator, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    anna = emulator.user(1001, "Анна", language_code="ru")
    await anna.send("/start")
    greeting = await anna.wait_for_message()
    assert greeting.text == translate("start.greeting", "ru", name="Анна")
    assert greeting.button_texts() == [
        translate(f"menu.btn.{a.value}", "ru") for a in MenuAction
    ]
    await anna.send("/start")
    again = await anna.wait_for_message()
    assert again.text == translate("start.greeting_back", "ru", name="Анна")
    assert await _count(session_factory, Client) == 1
    assert await _count(session_factory, ClientWallet) == 1
