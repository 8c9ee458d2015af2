"""Rendering outbox rows: language, local time across DST, money format, buttons."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.domain import notification_kinds as kinds
from bot.i18n import translate
from bot.keyboards.notify import AgendaCb, AgendaMark, ReminderAction, ReminderCb, WaitlistTakeCb
from bot.notify.render import UnknownKind, render, render_agenda
from bot.services.agenda import AgendaLine
from tests.money import rub

UTC = dt.UTC


def payload(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "appointment_id": 42,
        "start": dt.datetime(2026, 3, 28, 9, 30, tzinfo=UTC).isoformat(),
        "end": dt.datetime(2026, 3, 28, 10, 30, tzinfo=UTC).isoformat(),
        "tz": "Europe/Berlin",
        "location": "Center",
        "address": "Main st. 1",
        "service": "Haircut",
        "specialist": "Anna",
        "workplace": "Chair 1",
        "price": "1500.00",
        "client_name": "Ivan",
        "client_phone": "",
        "lang": "ru",
    }
    base.update(extra)
    return base


def test_confirmation_shows_local_time_address_and_price_in_russian() -> None:
    text = render(kinds.CLIENT_CONFIRM, payload(), currency="RUB").text
    # 09:30 UTC on Saturday 28.03.2026 is 10:30 in Berlin (still winter time, UTC+1).
    assert "Haircut — сб, 28 мар. в 10:30" in text
    assert "Main st. 1" in text and "Center" in text
    assert rub(1500, "ru") in text and "Anna" in text
    assert "Вы записаны" in text


def test_local_time_after_the_spring_change() -> None:
    start = dt.datetime(2026, 3, 29, 9, 30, tzinfo=UTC).isoformat()
    text = render(kinds.CLIENT_CONFIRM, payload(start=start, lang="en"), currency="EUR").text
    # After the last Sunday of March Berlin is UTC+2.
    assert "Haircut — Sun 29 Mar at 11:30" in text
    assert "€1,500" in text


def test_reminder_has_come_and_cancel_buttons_with_ids_only() -> None:
    rendered = render(kinds.CLIENT_REMINDER, payload(offset_min=120, lang="en"), currency="RUB")
    assert "in 2 h" in rendered.text
    assert rendered.reply_markup is not None
    buttons = [b for row in rendered.reply_markup.inline_keyboard for b in row]
    parsed = [ReminderCb.unpack(str(b.callback_data)) for b in buttons]
    assert [p.action for p in parsed] == [ReminderAction.come, ReminderAction.cancel]
    assert all(p.appointment_id == 42 for p in parsed)
    assert "I'll come" in buttons[0].text


def test_cancel_by_admin_tells_refund() -> None:
    text = render(
        kinds.CLIENT_CANCELLED, payload(refund="1500.00", by="admin", lang="en"), currency="RUB"
    ).text
    assert "by the administrator" in text and rub(1500, "en") in text


def test_move_shows_old_and_new_time() -> None:
    old = dt.datetime(2026, 3, 27, 8, 0, tzinfo=UTC).isoformat()
    text = render(kinds.SPECIALIST_MOVED, payload(old_start=old, by="client"), currency="RUB").text
    assert "пт, 27 мар. 09:00 → сб, 28 мар. в 10:30" in text
    english = payload(old_start=old, by="client", lang="en")
    text = render(kinds.CLIENT_MOVED, english, currency="RUB").text
    assert "Haircut: Fri 27 Mar 09:00 → Sat 28 Mar at 10:30" in text


def test_waitlist_offer_button_carries_the_entry_id() -> None:
    rendered = render(
        kinds.CLIENT_WAITLIST_OFFER,
        payload(waitlist_id=9, expires=dt.datetime(2026, 3, 28, 9, 0, tzinfo=UTC).isoformat()),
        currency="RUB",
    )
    assert "Haircut — сб, 28 мар. в 10:30" in rendered.text
    assert "Предложение действует до 10:00." in rendered.text  # 09:00 UTC in Berlin
    assert rendered.reply_markup is not None
    button = rendered.reply_markup.inline_keyboard[0][0]
    assert WaitlistTakeCb.unpack(str(button.callback_data)).waitlist_id == 9


def test_unknown_language_falls_back_to_russian_and_unknown_kind_is_refused() -> None:
    assert "Вы записаны" in render(kinds.CLIENT_CONFIRM, payload(lang="de"), currency="RUB").text
    with pytest.raises(UnknownKind):
        render("client.unknown", payload(), currency="RUB")


def _line(appointment_id: int, start: dt.datetime, status: str = "booked") -> AgendaLine:
    return AgendaLine(
        appointment_id=appointment_id,
        start=start,
        tz="Europe/Berlin",
        client_name="Ivan",
        client_phone="+49 1",
        service="Haircut",
        workplace="Chair 1",
        location="Center",
        status=status,
    )


def test_agenda_marks_started_booked_appointments_and_undoes_todays_marks() -> None:
    now = dt.datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    past = _line(1, now - dt.timedelta(hours=1))
    future = _line(2, now + dt.timedelta(hours=1))
    done = _line(3, now - dt.timedelta(hours=2), status="completed")
    rendered = render_agenda(
        [(dt.date(2026, 3, 28), [future, past, done]), (dt.date(2026, 3, 29), [])],
        lang="en",
        now=now,
        with_buttons=True,
    )
    assert rendered.text.index("10:00") < rendered.text.index("12:00")  # sorted by time
    assert "+49 1" in rendered.text and "Tomorrow, Sun 29 Mar" in rendered.text
    assert "No appointments." in rendered.text
    assert rendered.reply_markup is not None
    marks = [
        AgendaCb.unpack(str(b.callback_data))
        for row in rendered.reply_markup.inline_keyboard
        for b in row
        if str(b.callback_data).startswith("agd:")
    ]
    # The started booked one gets its marks; the one marked today can have its mark undone.
    assert {(m.appointment_id, m.status) for m in marks} == {
        (1, AgendaMark.completed),
        (1, AgendaMark.no_show),
        (3, AgendaMark.undo),
    }


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_agenda_leaves_out_a_phone_the_client_never_gave(lang: str) -> None:
    day = dt.datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    without = dataclasses.replace(_line(1, day), client_phone=None)
    rendered = render_agenda(
        [(day.date(), [without, _line(2, day)])], lang=lang, now=None, with_buttons=False
    )
    header = {"ru": "📋 Записи на сб, 28 мар.", "en": "📋 Appointments on Sat 28 Mar"}[lang]
    assert rendered.text.splitlines()[0] == header
    first, second = rendered.text.splitlines()[1:3]
    assert "Ivan," in first and "(" not in first
    assert "Ivan (+49 1)," in second
    assert translate("notify.phone.hidden", lang) not in rendered.text
