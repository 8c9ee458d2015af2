"""Moving an appointment from its admin card: the admin types `DD.MM HH:MM` (the location's
local time) and optionally another specialist's name; the move is the client's reschedule use
case (same slot engine, one transaction, price difference settled, both told). A date beyond
the booking horizon (docs/rules.md#slot-grid) is told so before the engine is asked."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from dishka import FromDishka

from bot import formats
from bot.config import Settings
from bot.domain.admin_input import parse_day
from bot.domain.errors import (
    DomainError,
    InputProblem,
    InsufficientFunds,
    InvalidInput,
    InvalidState,
    InvalidStateReason,
    SlotTaken,
    SlotUnavailable,
)
from bot.domain.horizon import DateRefusal, date_refusal
from bot.domain.statuses import AppointmentStatus
from bot.handlers.admin import screens
from bot.handlers.admin.render import refusal_text
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.services.admin.clients import ClientDesk
from bot.services.admin.day import DayDesk
from bot.services.booking import Actor, BookingService

_MOVE = re.compile(r"^\s*(\S+)\s+(\d{1,2}):(\d{2})\s*(.*)$")


def parse_move(text: str, today: datetime, timezone: str) -> tuple[datetime, str]:
    """`DD.MM[.YYYY] HH:MM [specialist]` -> (the aware start, the specialist's name or "").
    `InvalidInput` names the part that is wrong: `DATE_FORMAT` for the date, else
    `TIME_FORMAT` (no time, or one such as 24:00 or 10:60)."""
    match = _MOVE.match(text)
    if not match:
        first = text.split(maxsplit=1)[0] if text.strip() else ""
        parse_day(first, today.date())  # a wrong date is told first
        raise InvalidInput(InputProblem.TIME_FORMAT)
    day = parse_day(match.group(1), today.date())
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise InvalidInput(InputProblem.TIME_FORMAT)
    start = datetime.combine(day, time(hour, minute), ZoneInfo(timezone))
    return start, match.group(4).strip()


async def on_move_to(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    booking: FromDishka[BookingService],
    desk: FromDishka[ClientDesk],
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None:
        return
    data = await state.get_data()
    appointment_id = data.get("appointment_id")
    if not isinstance(appointment_id, int):
        await state.clear()
        return
    admin = message.from_user.id
    actor = Actor(kind="admin", id=admin)
    try:
        current = await booking.get(appointment_id, actor=actor)
        if current.status != AppointmentStatus.BOOKED:
            raise InvalidState(InvalidStateReason.NOT_BOOKED)
        zone = ZoneInfo(current.timezone)
        local_now = now.astimezone(zone)
        start, name = parse_move(message.text or "", local_now, current.timezone)
        horizon = settings.booking_horizon_days
        if date_refusal(start.date(), local_now.date(), horizon) is DateRefusal.HORIZON:
            day = formats.day(start.date(), i18n.locale, today=local_now.date())
            await message.answer(i18n("admin.move.horizon", date=day, days=horizon))
            return
        specialist_id = None
        if name:
            _, found = await day_desk.find(admin, name, i18n.locale)
            if len(found) != 1:
                await message.answer(i18n("admin.specialists.none", query=name))
                return
            specialist_id = found[0].id
        view = await booking.reschedule(
            appointment_id, actor=actor, new_start=start, now=now, specialist_id=specialist_id
        )
    except InvalidInput as exc:
        if exc.reason is InputProblem.TIME_FORMAT:  # the move's own form, not the catalog's
            await message.answer(i18n("admin.move.time_format"))
        else:
            await message.answer(f"{refusal_text(exc, i18n)}\n{i18n('admin.move.ask')}")
        return
    except (SlotTaken, SlotUnavailable):
        await message.answer(i18n("admin.move.taken"))
        return
    except InsufficientFunds as exc:
        await state.clear()
        await message.answer(
            i18n(
                "admin.move.insufficient",
                missing=formats.money(exc.missing, settings.currency, i18n.locale),
            )
        )
        return
    except DomainError as exc:
        await state.clear()
        # Cancelled or marked meanwhile: nothing moved; the card as it is now.
        card = screens.ApptCard(booking, desk, admin, i18n, settings, now)
        await screens.refuse_action(message, exc, card, appointment_id)
        return
    await state.clear()
    view = view.in_language(i18n.locale)
    local = view.local_start
    await message.answer(
        i18n(
            "admin.move.done",
            date=formats.day(local.date(), i18n.locale),
            time=formats.hhmm(local, view.timezone),
            specialist=view.specialist_name,
            workplace=view.workplace_name,
        )
    )
