"""A came / no-show mark can be undone, by the specialist from the agenda and by an admin from
the appointment's card, in Russian and English: the appointment is booked again and can be
marked anew; only on the appointment's own day (a later undo is refused with its reason and
changes nothing); no money moves either way (`balance == sum(ledger)`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.keyboards.admin import AdminApptCb, ApptAction
from bot.keyboards.notify import AgendaCb, AgendaMark, ScheduleView
from db.models import AuditEntry
from tests.e2e.booking_support import assert_money_invariant, t, wallet_of
from tests.e2e.notify_support import NOW, notify_bot
from tests.e2e.test_admin import set_client
from tests.e2e.test_admin_desk import owner
from tests.e2e.test_specialist_agenda import status_of, tg_of
from tests.integration.factories import make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

TEN = NOW + dt.timedelta(hours=1)  # 10:00 Moscow, today
NEXT_DAY = NOW + dt.timedelta(days=1)  # 09:00 Moscow the day after


def nav(lang: str) -> list[str]:
    return [t(f"notify.schedule.{v.value}", lang) for v in ScheduleView]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_specialist_undoes_a_mark_from_the_agenda_on_its_day_only(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, price=Decimal("500"))
    client_id = await make_client(session_factory, balance=Decimal("5000"), tg_id=52_000)
    specialist_tg = await tg_of(session_factory, catalog.specialist_ids[0])
    anna = emulator.user(specialist_tg, "Anna", language_code=lang)
    came = t("notify.btn.completed", lang, time="10:00")
    no_show = t("notify.btn.no_show", lang, time="10:00")
    undo = t("notify.btn.undo", lang, time="10:00")

    async with notify_bot(make_bot_settings(throttle_rate_per_second=1000.0)) as bot:
        appt = await bot.book(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=catalog.specialist_ids[0],
            start=TEN,
        )
        ledger_before = (await wallet_of(session_factory, client_id))[1]
        bot.clock.now = TEN + dt.timedelta(minutes=30)
        await anna.send("/agenda")
        agenda = await anna.wait_for_message(lambda m: came in m.button_texts())
        assert undo not in agenda.button_texts()

        await anna.press(no_show)
        await anna.wait_for_callback_answer()
        assert await status_of(session_factory, appt) == "no_show"
        marked = await anna.wait_for_message(lambda m: undo in m.button_texts())
        assert marked.message_id == agenda.message_id
        assert marked.button_texts() == [undo, *nav(lang)]

        await anna.press(undo)
        answer = await anna.wait_for_callback_answer()
        assert answer.get("text") == t("notify.agenda.unmarked", lang, time="10:00")
        assert await status_of(session_factory, appt) == "booked"
        again = await anna.wait_for_message(lambda m: came in m.button_texts())
        assert again.button_texts() == [came, no_show, *nav(lang)]

        # Marked anew, then the day is over: the undo is refused with its reason.
        await anna.press(came)
        await anna.wait_for_callback_answer()
        assert await status_of(session_factory, appt) == "completed"
        bot.clock.now = NEXT_DAY
        await anna.press_data(AgendaCb(status=AgendaMark.undo, appointment_id=appt).pack())
        answer = await anna.wait_for_callback_answer()
        assert answer.get("text") == t("errors.undo_too_late", lang)
        assert await status_of(session_factory, appt) == "completed"
        await anna.send("/agenda")
        today = await anna.wait_for_message(lambda m: m.button_texts() == nav(lang))
        assert undo not in today.button_texts()

    # A mark moves no money, and neither does undoing it.
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("4500.00")
    assert [(r.kind, r.amount) for r in ledger] == [(r.kind, r.amount) for r in ledger_before]
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_an_admin_undoes_a_mark_from_the_card_on_its_day_only(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, price=Decimal("500"))
    admin = await owner(emulator, session_factory, lang)
    boris = await make_client(session_factory, balance=Decimal("1000"))
    await set_client(session_factory, boris, first_name="Boris")
    undo = t("admin.btn.undo_mark", lang)
    no_show = t("notify.status.no_show", lang)

    async with notify_bot(make_bot_settings(throttle_rate_per_second=1000.0)) as bot:
        appt = await bot.book(
            client_id=boris,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=None,
            start=TEN,
        )
        bot.clock.now = TEN + dt.timedelta(hours=2)
        await admin.send("/day 03.03")
        pick = await admin.wait_for_message(t("admin.day.pick_loc", lang, date="03.03.2031"))
        await admin.press(pick.button_texts()[0])  # the one location
        await admin.wait_for_message("Boris")
        await admin.press("Boris")
        card = await admin.wait_for_message(lambda m: m.find_button(no_show) is not None)
        assert card.find_button(undo) is None  # nothing to undo yet

        await admin.press(no_show)
        marked = await admin.wait_for_message(lambda m: m.find_button(undo) is not None)
        assert t("account.status.no_show", lang) in (marked.text or "")
        assert await status_of(session_factory, appt) == "no_show"

        await admin.press(undo)
        booked = await admin.wait_for_message(lambda m: m.find_button(undo) is None)
        assert t("account.status.booked", lang) in (booked.text or "")
        assert booked.find_button(no_show) is not None
        assert await status_of(session_factory, appt) == "booked"

        # Marked again; the next day the old undo button is refused and changes nothing.
        await admin.press(no_show)
        await admin.wait_for_message(lambda m: m.find_button(undo) is not None)
        bot.clock.now = NEXT_DAY
        await admin.press_data(
            AdminApptCb(action=ApptAction.undo_mark, appointment_id=appt).pack(),
            message_id=card.message_id,
        )
        answer = await admin.wait_for_callback_answer()
        assert t("errors.undo_too_late", lang) in str(answer.get("text"))
        assert await status_of(session_factory, appt) == "no_show"

    async with session_factory() as s:
        audit = (
            await s.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity_id == appt, AuditEntry.action == "appointment.marked")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [(a.before, a.after) for a in audit] == [
        ({"status": "booked"}, {"status": "no_show"}),
        ({"status": "no_show"}, {"status": "booked"}),
        ({"status": "booked"}, {"status": "no_show"}),
    ]
    balance, _ = await wallet_of(session_factory, boris)
    assert balance == Decimal("500.00")
    await assert_money_invariant(session_factory)
