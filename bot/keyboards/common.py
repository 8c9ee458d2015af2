"""Main menu and language keyboards. Callback data carries an action or a language code only;
the handlers re-validate it (an unknown value fails to parse and is treated as a stale button).
"""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import SUPPORTED_LANGUAGES, Translator, translate
from bot.keyboards.builder import KeyboardBuilder

# Client commands shown in Telegram's menu (the client commands of README's booking flow);
# descriptions come from the catalogs.
BOT_COMMANDS = ("start", "book", "my", "wallet", "language", "help", "cancel")


def command_menu(locale: str) -> list[BotCommand]:
    """Telegram's slash-command menu in `locale`."""
    return [
        BotCommand(command=name, description=translate(f"commands.{name}", locale))
        for name in BOT_COMMANDS
    ]


class MenuAction(str, Enum):
    book = "book"
    my = "my"
    wallet = "wallet"
    language = "language"
    help = "help"
    phone = "phone"
    settings = "settings"  # language and phone
    home = "home"  # back to the main menu


class MenuCb(CallbackData, prefix="menu"):
    action: MenuAction


class LanguageCb(CallbackData, prefix="lang"):
    language: str


def main_menu(i18n: Translator, *, appointments: int = 0) -> InlineKeyboardMarkup:
    """Book; My appointments (with their count when there are some), Wallet; Help, Settings."""
    my = i18n("menu.btn.my")
    if appointments > 0:
        my = i18n("menu.btn.my_count", label=my, count=appointments)
    kb = KeyboardBuilder()
    kb.button(text=i18n("menu.btn.book"), callback_data=MenuCb(action=MenuAction.book))
    kb.button(text=my, callback_data=MenuCb(action=MenuAction.my))
    kb.button(text=i18n("menu.btn.wallet"), callback_data=MenuCb(action=MenuAction.wallet))
    kb.button(text=i18n("menu.btn.help"), callback_data=MenuCb(action=MenuAction.help))
    kb.button(text=i18n("menu.btn.settings"), callback_data=MenuCb(action=MenuAction.settings))
    kb.adjust(1, 2, 2)
    return kb.as_markup()


def settings_menu(i18n: Translator) -> InlineKeyboardMarkup:
    """⚙️ Settings: language and phone, and the way back to the main menu."""
    kb = KeyboardBuilder()
    kb.button(text=i18n("menu.btn.language"), callback_data=MenuCb(action=MenuAction.language))
    kb.button(text=i18n("menu.btn.phone"), callback_data=MenuCb(action=MenuAction.phone))
    kb.button(text=i18n("menu.btn.home"), callback_data=MenuCb(action=MenuAction.home))
    kb.adjust(2, 1)
    return kb.as_markup()


def with_home(markup: InlineKeyboardMarkup | None, i18n: Translator) -> InlineKeyboardMarkup:
    """`markup` (or nothing) plus the "« Menu" row below it."""
    rows = list(markup.inline_keyboard) if markup is not None else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [home_button(i18n)]])


def home_button(i18n: Translator) -> InlineKeyboardButton:
    """Back to the main menu, under a screen the menu opened in place."""
    return InlineKeyboardButton(
        text=i18n("menu.btn.home"), callback_data=MenuCb(action=MenuAction.home).pack()
    )


def phone_keyboard(i18n: Translator) -> ReplyKeyboardMarkup:
    """Telegram's own "share my contact" button (only a reply keyboard can ask for it) and a
    way to say no."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=i18n("phone.btn.share"), request_contact=True)],
            [KeyboardButton(text=i18n("phone.btn.skip"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def language_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    for language in SUPPORTED_LANGUAGES:
        kb.button(
            text=i18n(f"language.btn.{language}"), callback_data=LanguageCb(language=language)
        )
    kb.adjust(len(SUPPORTED_LANGUAGES))
    return kb.as_markup()
