"""A tidy chat: the greeting names the next appointment and counts them on "My appointments (2)";
main-menu answers replace the menu message instead of stacking new ones ("« Menu" goes back);
language and phone live under "⚙️ Settings"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from tests.e2e.account_support import account_bot, book, local
from tests.e2e.booking_support import new_client, t
from tests.integration.factories import make_catalog

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_greeting_counts_and_the_menu_is_edited_in_place(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6301, lang=lang)
    async with account_bot(make_bot_settings()) as app:
        sooner = await book(app, client_id, catalog, local(1, 10))
        await book(app, client_id, catalog, local(3, 14))

        await user.send("/start")
        home = await user.wait_for_message()
        text = home.text or ""
        when = f"{t('formats.tomorrow', lang)} 10:00"
        assert (
            t(
                "start.next",
                lang,
                when=when,
                service=sooner.service_name,
                specialist=sooner.specialist_name,
            )
            in text
        )
        my = t("menu.btn.my_count", lang, label=t("menu.btn.my", lang), count=2)
        assert my in home.button_texts()
        # Language and phone are under Settings, not on the main menu.
        assert t("menu.btn.language", lang) not in home.button_texts()
        assert t("menu.btn.phone", lang) not in home.button_texts()

        screens = [
            (t("menu.btn.settings", lang), t("settings.title", lang)),
            (t("menu.btn.home", lang), t("start.greeting_back", lang, name=f"User{6301}")),
            (t("menu.btn.help", lang), t("help.text", lang)),
            (t("menu.btn.wallet", lang), "5"),
            (t("menu.btn.home", lang), my),
            (my, t("account.my.upcoming_title", lang)),
            (t("menu.btn.home", lang), my),
        ]
        for press, expect in screens:
            await user.press(press)
            shown = await user.wait_for_message(
                lambda m, e=expect: e in (m.text or "") or e in m.button_texts()  # type: ignore[misc]
            )
            # Every answer replaced the menu's own message.
            assert shown.message_id == home.message_id, press
        assert len([m for m in user.messages if m.message_id != home.message_id]) == 0
