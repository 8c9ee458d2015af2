"""Main menu and language keyboards. Callback data carries an action or a language code only;
the handlers re-validate it (an unknown value fails to parse and is treated as a stale button).
"""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import BotCommand, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import SUPPORTED_LANGUAGES, Translator, translate

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


class MenuCb(CallbackData, prefix="menu"):
    action: MenuAction


class LanguageCb(CallbackData, prefix="lang"):
    language: str


def main_menu(i18n: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=i18n("menu.btn.book"), callback_data=MenuCb(action=MenuAction.book))
    kb.button(text=i18n("menu.btn.my"), callback_data=MenuCb(action=MenuAction.my))
    kb.button(text=i18n("menu.btn.wallet"), callback_data=MenuCb(action=MenuAction.wallet))
    kb.button(text=i18n("menu.btn.language"), callback_data=MenuCb(action=MenuAction.language))
    kb.button(text=i18n("menu.btn.help"), callback_data=MenuCb(action=MenuAction.help))
    kb.button(text=i18n("menu.btn.phone"), callback_data=MenuCb(action=MenuAction.phone))
    kb.adjust(1, 2, 2, 1)
    return kb.as_markup()


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
    kb = InlineKeyboardBuilder()
    for language in SUPPORTED_LANGUAGES:
        kb.button(
            text=i18n(f"language.btn.{language}"), callback_data=LanguageCb(language=language)
        )
    kb.adjust(len(SUPPORTED_LANGUAGES))
    return kb.as_markup()
