"""The buttons under a catalog file's preview: apply keeping the touched appointments, apply
cancelling them with a full refund, or drop the file. The file itself waits in the admin's
conversation data, never in the button."""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.keyboards.builder import KeyboardBuilder


class CatalogFileAction(str, Enum):
    keep = "keep"  # apply; touched appointments stay as they are
    cancel = "cancel"  # apply; touched appointments are cancelled with a full refund
    drop = "drop"  # forget the file
    screen = "screen"  # the catalog screen: how to load a file, and Export
    export = "export"  # send the current catalog as a YAML document
    holiday = "holiday"  # close a date at a location: pick the location
    specialists = "specs"  # list the specialists to deactivate or reactivate one


class CatalogFileCb(CallbackData, prefix="cf"):
    action: CatalogFileAction


class HolidayLocationCb(CallbackData, prefix="cfh"):
    """The location a holiday is for; the date is typed next."""

    location_id: int


class SpecialistActiveCb(CallbackData, prefix="cfs"):
    """Deactivate (`active` False) or reactivate a specialist: shows the impact first."""

    specialist_id: int
    active: bool


def specialists_keyboard(specialists: list[tuple[int, str, bool]]) -> InlineKeyboardMarkup:
    """Each specialist marked active (✅) or not (⛔); pressing one offers the opposite."""
    kb = KeyboardBuilder()
    for specialist_id, name, active in specialists:
        kb.button(
            text=f"{'✅' if active else '⛔'} {name}",
            callback_data=SpecialistActiveCb(specialist_id=specialist_id, active=not active),
        )
    kb.adjust(2)
    return kb.as_markup()


def locations_keyboard(locations: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    for location_id, name in locations:
        kb.button(text=name, callback_data=HolidayLocationCb(location_id=location_id))
    kb.adjust(2)
    return kb.as_markup()


def catalog_file_keyboard(touched: int, i18n: Translator) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
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


def catalog_screen_keyboard(
    i18n: Translator,
    back: InlineKeyboardButton | None = None,
    entries: list[InlineKeyboardButton] | None = None,
) -> InlineKeyboardMarkup:
    """The editor's lists (`entries`), close a date, specialists, Export, and the way back to
    the menu that opened the screen (if any)."""
    kb = KeyboardBuilder()
    for entry in entries or []:
        kb.add(entry)
    kb.button(
        text=i18n("catalog.btn.holiday"),
        callback_data=CatalogFileCb(action=CatalogFileAction.holiday),
    )
    kb.button(
        text=i18n("catalog.btn.specialists"),
        callback_data=CatalogFileCb(action=CatalogFileAction.specialists),
    )
    kb.button(
        text=i18n("catalog.btn.export"),
        callback_data=CatalogFileCb(action=CatalogFileAction.export),
    )
    if back is not None:
        kb.add(back)
    kb.adjust(1)
    return kb.as_markup()
