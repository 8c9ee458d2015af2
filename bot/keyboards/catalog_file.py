"""The buttons under a catalog file's preview: apply keeping the touched appointments, apply
cancelling them with a full refund, or drop the file. The file itself waits in the admin's
conversation data, never in the button."""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import Translator


class CatalogFileAction(str, Enum):
    keep = "keep"  # apply; touched appointments stay as they are
    cancel = "cancel"  # apply; touched appointments are cancelled with a full refund
    drop = "drop"  # forget the file


class CatalogFileCb(CallbackData, prefix="cf"):
    action: CatalogFileAction


def catalog_file_keyboard(touched: int, i18n: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if touched:
        kb.button(
            text=i18n("catalog.btn.keep"),
            callback_data=CatalogFileCb(action=CatalogFileAction.keep),
        )
        kb.button(
            text=i18n("catalog.btn.cancel"),
            callback_data=CatalogFileCb(action=CatalogFileAction.cancel),
        )
    else:
        kb.button(
            text=i18n("catalog.btn.apply"),
            callback_data=CatalogFileCb(action=CatalogFileAction.keep),
        )
    kb.button(
        text=i18n("catalog.btn.drop"), callback_data=CatalogFileCb(action=CatalogFileAction.drop)
    )
    kb.adjust(1)
    return kb.as_markup()
