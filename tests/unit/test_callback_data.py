"""Callback data factories: what the keyboards pack parses back to the same values, fits
Telegram's 64 bytes, and out-of-range or malformed fields are refused while parsing (so no
handler, and no query, ever sees them)."""

from __future__ import annotations

from datetime import date

import pytest
from aiogram.filters.callback_data import CallbackData

import bot.handlers  # noqa: F401  (registers every CallbackData factory)
from bot.keyboards.account import (
    AppointmentAction,
    AppointmentCb,
    RescheduleConfirmCb,
    RescheduleDateCb,
    RescheduleTimeCb,
    TopUpCb,
)
from bot.keyboards.booking import BookAction, BookCb, BookStep, _cb
from bot.keyboards.fields import END_TIMESTAMP, INT32_MAX, is_db_id
from bot.keyboards.notify import AgendaCb, AgendaMark, ReminderAction, ReminderCb, WaitlistTakeCb
from bot.keyboards.stats import StatsAction, StatsCb

LARGEST = [
    AppointmentCb(action=AppointmentAction.cancel_confirm, appointment_id=INT32_MAX),
    RescheduleDateCb(appointment_id=INT32_MAX, day=date(2099, 12, 31)),
    RescheduleTimeCb(appointment_id=INT32_MAX, ts=END_TIMESTAMP - 1),
    RescheduleConfirmCb(appointment_id=INT32_MAX, ts=END_TIMESTAMP - 1),
    TopUpCb(amount=5000),
    BookCb(flow="ffffffff", step=BookStep.TIME, action=BookAction.JOIN_WAITLIST, value=10**9),
    ReminderCb(action=ReminderAction.cancel_yes, appointment_id=INT32_MAX),
    WaitlistTakeCb(waitlist_id=INT32_MAX),
    AgendaCb(status=AgendaMark.no_show, appointment_id=INT32_MAX),
    StatsCb(action=StatsAction.specialists, period="20310101-20311231", location_id=INT32_MAX),
    StatsCb(action=StatsAction.show, period="30d", specialist_id=INT32_MAX),
]


@pytest.mark.parametrize("data", LARGEST, ids=lambda d: type(d).__name__)
def test_packed_data_round_trips_and_fits(data: CallbackData) -> None:
    packed = data.pack()
    assert len(packed.encode()) <= 64
    assert type(data).unpack(packed) == data


def test_dates_keep_their_wire_format() -> None:
    packed = RescheduleDateCb(appointment_id=7, day=date(2031, 3, 5)).pack()
    assert packed == "rsd:7:20310305"
    assert RescheduleDateCb.unpack(packed).day == date(2031, 3, 5)


@pytest.mark.parametrize(
    ("factory", "raw"),
    [
        (WaitlistTakeCb, "wlt:9223372036854775808"),
        (WaitlistTakeCb, "wlt:253402300800"),
        (WaitlistTakeCb, "wlt:0"),
        (AppointmentCb, "appt:cancel:2147483648"),
        (AppointmentCb, "appt:resched:99999999999999999999999999999999"),
        (AppointmentCb, "appt:view:1.5"),
        (ReminderCb, "rem:cancel:-2147483649"),
        (AgendaCb, "agd:completed:-1"),
        (RescheduleTimeCb, "rst:1:253402300800"),
        (RescheduleTimeCb, "rst:1:-1"),
        (RescheduleConfirmCb, "rsc:1:9999999999999"),
        (RescheduleDateCb, "rsd:1:99991231"),
        (RescheduleDateCb, "rsd:1:20310230"),
        (RescheduleDateCb, "rsd:1:2031-03-05"),
        (RescheduleDateCb, "rsd:1:١٢٣٤٥٦٧٨"),
        (TopUpCb, "top:-500"),
        (StatsCb, "st:show:month:2147483648:0"),
        (StatsCb, "st:show:month:0:-1"),
        (StatsCb, "st:show:99991231-99991231:0:0"),
        (StatsCb, "st:show:custom:0:0"),
        (BookCb, "bk:ABC:l:pick:1"),
        (BookCb, "bk:abc:l:pick:-1"),
        (BookCb, "bk:abc:l:pick:253402300800"),
    ],
)
def test_out_of_range_fields_are_refused_while_parsing(
    factory: type[CallbackData], raw: str
) -> None:
    with pytest.raises(ValueError):
        factory.unpack(raw)


@pytest.mark.parametrize(
    ("value", "ok"), [(0, False), (1, True), (INT32_MAX, True), (INT32_MAX + 1, False), (-1, False)]
)
def test_db_id_is_a_positive_int32(value: int, ok: bool) -> None:
    assert is_db_id(value) is ok


def test_every_button_factory_has_its_own_prefix() -> None:
    """One prefix, one factory: a shared prefix leaves which handler takes a press to the
    number of fields and the order of the routers."""

    def factories(cls: type[CallbackData]) -> list[type[CallbackData]]:
        found = []
        for sub in cls.__subclasses__():
            found += [sub, *factories(sub)]
        return found

    owners: dict[str, list[str]] = {}
    for factory in factories(CallbackData):
        owners.setdefault(factory.__prefix__, []).append(factory.__name__)
    assert {p: names for p, names in owners.items() if len(names) > 1} == {}


@pytest.mark.parametrize("step", list(BookStep))
@pytest.mark.parametrize("action", list(BookAction))
@pytest.mark.parametrize("value", [0, INT32_MAX, END_TIMESTAMP - 1])
@pytest.mark.parametrize("flow", ["0", "f" * 16])
def test_the_booking_buttons_written_directly_match_the_model(
    flow: str, step: BookStep, action: BookAction, value: int
) -> None:
    """The booking keyboards format their callback data without the model (`_cb`): it must be
    exactly what `BookCb.pack()` writes, and parse back to the same values."""
    packed = _cb(flow, step, action, value)
    assert packed == BookCb(flow=flow, step=step, action=action, value=value).pack()
    assert BookCb.unpack(packed) == BookCb(flow=flow, step=step, action=action, value=value)


@pytest.mark.parametrize(
    ("flow", "value"),
    [("A1", 1), ("", 1), ("f" * 17, 1), ("ab:cd", 1), ("ab", -1), ("ab", END_TIMESTAMP)],
)
def test_a_booking_button_outside_the_fields_rules_is_refused_as_by_the_model(
    flow: str, value: int
) -> None:
    with pytest.raises(ValueError):
        _cb(flow, BookStep.TIME, BookAction.PICK, value)
