"""Outbox row (kind + payload) -> localized text and optional inline keyboard.

Pure: everything a message shows is in its payload (a snapshot taken when it was queued) plus,
for the daily agenda, the lines the worker loads just before sending. Times are shown in the
location's zone, 24-hour (`formats.hhmm`), dates with their weekday (`formats.day`: `Wed 2 Dec`,
`ср, 2 дек.`) and money (`formats.money`) in the recipient's language, read from the payload when
the row is sent. A notice stays in the chat, so its dates are absolute, never "today".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from bot import formats
from bot.domain import notification_kinds as kinds
from bot.domain.statuses import AppointmentStatus, mark_undoable
from bot.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, translate
from bot.keyboards.notify import (
    agenda_keyboard,
    book_again_keyboard,
    open_schedule_keyboard,
    reminder_keyboard,
    waitlist_offer_keyboard,
)
from bot.services.agenda import AgendaLine


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    reply_markup: InlineKeyboardMarkup | None = None


class UnknownKind(ValueError):
    """A row whose kind this version cannot render (it is marked failed, never retried)."""


def local(instant: dt.datetime | str, tz: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    return moment.astimezone(ZoneInfo(tz))


def language(payload: Mapping[str, Any]) -> str:
    lang = payload.get("lang")
    return lang if isinstance(lang, str) and lang in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def _details(payload: Mapping[str, Any], lang: str, currency: str) -> dict[str, str]:
    tz = str(payload.get("tz") or "UTC")
    start = local(payload["start"], tz)
    values = {
        "date": formats.day(start.date(), lang),
        "time": formats.hhmm(start, tz),
        "location": str(payload.get("location", "")),
        "address": str(payload.get("address", "")),
        "service": str(payload.get("service", "")),
        "specialist": str(payload.get("specialist", "")),
        "workplace": str(payload.get("workplace", "")),
        "client": str(payload.get("client_name", "")),
        "phone": str(payload.get("client_phone", "")) or translate("notify.phone.hidden", lang),
        "price": formats.money(payload.get("price", "0"), currency, lang),
        "refund": formats.money(payload.get("refund", "0"), currency, lang),
    }
    if payload.get("old_start"):
        old = local(payload["old_start"], tz)
        values["old_date"] = formats.day(old.date(), lang)
        values["old_time"] = formats.hhmm(old, tz)
    if payload.get("old_workplace"):
        values["workplace"] = f"{payload['old_workplace']} → {values['workplace']}"
    if payload.get("expires"):
        values["expires"] = formats.hhmm(local(payload["expires"], tz), tz)
    by = payload.get("by")
    if isinstance(by, str):
        values["by"] = translate(f"notify.by.{by}", lang)
    if "offset_min" in payload:
        values["before"] = _before(int(payload["offset_min"]), lang)
    return values


def _before(minutes: int, lang: str) -> str:
    if minutes % 60 == 0:
        return translate("notify.before.hours", lang, hours=minutes // 60)
    return translate("notify.before.minutes", lang, minutes=minutes)


# Notices to a specialist carry an "Open schedule" button.
SPECIALIST_PREFIX = "specialist."

_SIMPLE = {
    kinds.CLIENT_CONFIRM: "notify.client.confirm",
    kinds.CLIENT_CANCELLED: "notify.client.cancelled",
    kinds.CLIENT_MOVED: "notify.client.moved",
    kinds.SPECIALIST_NEW: "notify.specialist.new",
    kinds.SPECIALIST_MOVED: "notify.specialist.moved",
    kinds.SPECIALIST_CANCELLED: "notify.specialist.cancelled",
    kinds.SPECIALIST_REASSIGNED: "notify.specialist.reassigned",
    kinds.SPECIALIST_WORKPLACE_MOVED: "notify.specialist.workplace_moved",
    kinds.SPECIALIST_REMINDER: "notify.specialist.reminder",
}


def render(
    kind: str,
    payload: Mapping[str, Any],
    *,
    currency: str,
    agenda: Sequence[AgendaLine] | None = None,
    now: dt.datetime | None = None,
) -> Rendered:
    """The message for one outbox row, in the recipient's language (`payload["lang"]`)."""
    lang = language(payload)
    if kind == kinds.SPECIALIST_AGENDA:
        day = dt.date.fromisoformat(str(payload["date"]))
        daily = render_agenda([(day, list(agenda or []))], lang=lang, now=now, with_buttons=False)
        return Rendered(daily.text, open_schedule_keyboard(lang))
    if kind in _SIMPLE:
        text = translate(_SIMPLE[kind], lang, **_details(payload, lang, currency))
        reason = payload.get("reason")
        if isinstance(reason, str) and reason:
            text += "\n" + translate("notify.reason", lang, reason=reason)
        if kind.startswith(SPECIALIST_PREFIX):
            return Rendered(text, open_schedule_keyboard(lang))
        return Rendered(text)
    if kind == kinds.CLIENT_REMINDER:
        text = translate("notify.client.reminder", lang, **_details(payload, lang, currency))
        return Rendered(text, reminder_keyboard(int(payload["appointment_id"]), lang))
    if kind == kinds.CLIENT_THANKS:
        text = translate("notify.client.thanks", lang, **_details(payload, lang, currency))
        return Rendered(text, book_again_keyboard(int(payload["appointment_id"]), lang))
    if kind == kinds.CLIENT_WAITLIST_OFFER:
        values = _details(payload, lang, currency)
        key = "notify.client.waitlist_offer"
        if values["specialist"]:
            key = "notify.client.waitlist_offer_specialist"
        return Rendered(
            translate(key, lang, **values),
            waitlist_offer_keyboard(int(payload["waitlist_id"]), lang),
        )
    raise UnknownKind(kind)


def render_agenda(
    days: Sequence[tuple[dt.date, Sequence[AgendaLine]]],
    *,
    lang: str,
    now: dt.datetime | None,
    with_buttons: bool,
    today: dt.date | None = None,
) -> Rendered:
    """The agenda for one or more local dates. With buttons, every booked appointment whose start
    has passed gets "came" / "no-show", and one marked today "undo" (the server checks again
    when pressed), and the Today / Tomorrow / Week row follows; `today` (default: the first
    day) names today and tomorrow."""
    parts: list[str] = []
    marks: list[tuple[int, str]] = []
    undos: list[tuple[int, str]] = []
    if with_buttons and today is None and days:
        today = days[0][0]
    for day, lines in days:
        offset = (day - today).days if today is not None else None
        date = formats.day(day, lang)
        if offset == 0:
            parts.append(translate("notify.agenda.today", lang, date=date))
        elif offset == 1:
            parts.append(translate("notify.agenda.tomorrow", lang, date=date))
        else:
            parts.append(translate("notify.agenda.header", lang, date=date))
        if not lines:
            parts.append(translate("notify.agenda.empty", lang))
        for line in sorted(lines, key=lambda x: x.start):
            time = formats.hhmm(line.start, line.tz)
            parts.append(
                translate(
                    "notify.agenda.line",
                    lang,
                    time=time,
                    client=line.client_name,
                    # No phone given: nothing in its place (docs/rules.md#notifications).
                    phone=f" ({line.client_phone})" if line.client_phone else "",
                    service=line.service,
                    workplace=line.workplace,
                    location=line.location,
                    status=translate(f"notify.status.{line.status}", lang),
                )
            )
            if (
                with_buttons
                and now is not None
                and line.status == AppointmentStatus.BOOKED
                and line.start <= now
            ):
                marks.append((line.appointment_id, time))
            if (
                with_buttons
                and now is not None
                and mark_undoable(line.status, line.start, line.tz, now)
            ):
                undos.append((line.appointment_id, time))
        parts.append("")
    markup = agenda_keyboard(marks, lang, navigation=True, undos=undos) if with_buttons else None
    return Rendered("\n".join(parts).strip(), markup)


def render_home(lines: Sequence[AgendaLine], *, now: dt.datetime, lang: str) -> str:
    """The specialist's day in one line: `📋 Today: 3 appointments, next at 12:15`."""
    booked = [line for line in lines if line.status != AppointmentStatus.CANCELLED]
    if not booked:
        return translate("notify.home.empty", lang)
    count = formats.count(len(booked), "notify.home.count", lang)
    upcoming = sorted(
        (line for line in booked if line.start >= now and line.status == AppointmentStatus.BOOKED),
        key=lambda line: line.start,
    )
    if not upcoming:
        return translate("notify.home.done", lang, count=count)
    nxt = upcoming[0]
    return translate("notify.home.next", lang, count=count, time=formats.hhmm(nxt.start, nxt.tz))
