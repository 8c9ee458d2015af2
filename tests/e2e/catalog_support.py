"""Shared steps of the catalog e2e tests (the editor in /admin and the catalog file)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.app import BotApp
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.types import EmuMessage
from bot.emulator.users import SimUser
from tests.e2e.booking_support import pinned, t
from tests.emulator.fixtures import running_bot


@asynccontextmanager
async def editor(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    lang: str,
    admin_id: int,
) -> AsyncIterator[tuple[SimUser, BotApp]]:
    """The running bot with its clock pinned and `admin_id` its only admin: (the admin speaking
    `lang`, the app)."""
    admin = emulator.user(admin_id, "Owner", language_code=lang)
    async with running_bot(make_bot_settings(admin_ids=[admin_id]), setup=pinned) as app:
        yield admin, app


async def catalog_screen(admin: SimUser, lang: str) -> EmuMessage:
    """/admin, then its Catalog button: the catalog screen."""
    await admin.send("/admin")
    await admin.wait_for_message(t("admin.menu.title", lang))
    await admin.press(t("catalog.menu", lang))
    return await admin.wait_for_message(t("catalog.screen", lang))
