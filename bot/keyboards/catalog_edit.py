"""Buttons of the admin's catalog editor: lists, cards, fields, weekly hours, holidays, service
links, schedules and breaks of locations, workplaces, services and specialists.

Callback data carries enum values and range-checked ids only (a forged value fails to parse
and is answered as a stale button); the handler checks the admin role on the server and reads
every row again before acting.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from pydantic import Field

from bot.i18n import Translator
from bot.keyboards.fields import DbId, OptionalDbId

IsoWeekday = Annotated[int, Field(ge=0, le=7)]  # 0: none
FieldKey = Annotated[str, Field(pattern=r"^[a-z_]{1,16}$")]


class CatKind(str, Enum):
    """The kinds of catalog rows the editor shows (values as `db.repositories.catalog_edit`
    names them: `KIND_NAMES`)."""

    location = "loc"
    workplace = "wp"
    service = "svc"
    specialist = "sp"
    workplace_service = "wps"  # a service a workplace hosts
    service_specialist = "sps"  # a service a specialist does


KIND_NAMES = {kind: kind.name for kind in CatKind}


class CatView(str, Enum):
    list = "ls"  # the kind's entries (`sub`: page)
    card = "c"  # one entry with its fields
    new = "new"  # create one (a workplace: pick its location first, `sub`)
    toggle = "tg"  # deactivate (`sub` 0) or reactivate (`sub` 1)
    hours = "h"  # a location's weekly hours
    day = "d"  # type a weekday's hours (`day`; a specialist's at location `sub`)
    holidays = "hol"  # a location's holidays from today
    add_holiday = "ah"  # type a holiday
    drop_holiday = "dh"  # remove holiday `sub`
    links = "lk"  # the services a workplace hosts / a specialist does
    link = "l"  # host / do service `sub` (or open the link when it is already on)
    schedule = "sch"  # a specialist's weekly hours at location `sub` (0: pick one)
    breaks = "br"  # a specialist's breaks from today
    add_break = "ab"  # type a break
    drop_break = "db"  # remove break `sub`
    move = "mv"  # move a workplace to location `sub` (0: pick one)


class AdmCatalogCb(CallbackData, prefix="admk"):
    """A screen or action of the catalog editor (see `CatView` for what `sub` and `day` mean)."""

    view: CatView
    kind: CatKind
    id: OptionalDbId = 0
    sub: OptionalDbId = 0
    day: IsoWeekday = 0


class AdmCatalogFieldCb(CallbackData, prefix="admkf"):
    """Type a new value of one field of a catalog entry."""

    kind: CatKind
    id: DbId
    field: FieldKey


CATALOG_EDIT_CALLBACKS: tuple[type[CallbackData], ...] = (AdmCatalogCb, AdmCatalogFieldCb)


def editor_buttons(i18n: Translator) -> list[InlineKeyboardButton]:
    """The catalog screen's way into the editor: one list per entry kind."""
    return [
        InlineKeyboardButton(
            text=i18n(f"catalog_edit.list.{KIND_NAMES[kind]}"),
            callback_data=AdmCatalogCb(view=CatView.list, kind=kind).pack(),
        )
        for kind in (CatKind.location, CatKind.workplace, CatKind.service, CatKind.specialist)
    ]
