"""Shared steps of the catalog e2e tests (the editor in /admin and the catalog file)."""

from __future__ import annotations

from bot.emulator.types import EmuMessage
from bot.emulator.users import SimUser
from tests.e2e.booking_support import t


async def catalog_screen(admin: SimUser, lang: str) -> EmuMessage:
    """/admin, then its Catalog button: the catalog screen."""
    await admin.send("/admin")
    await admin.wait_for_message(t("admin.menu.title", lang))
    await admin.press(t("catalog.menu", lang))
    return await admin.wait_for_message(t("catalog.screen", lang))
