"""Reschedule: same service and specialist, a new date (`DD.MM`), a new time (`HH:MM`), the price
difference explained, then `BookingService.reschedule` in one transaction.

The buttons carry the appointment id and the chosen date or start; each press re-checks the
appointment for the pressing client and re-reads the free times, so a stale or forged button
can move nothing that the client could not move by hand. The service has the last word: a lost
race shows that day's fresh times, a move after the free-cancel deadline is refused clearly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from dishka import FromDishka

from bot import formats
from bot.domain.errors import (
    InsufficientFunds,
    InvalidState,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)
from bot.handlers.account import render
from bot.handlers.account.appointments import (
    enter_account_step,
    is_account_screen,
    leave_account_flow,
    own_appointment,
    refuse_as_it_is_now,
    refuse_change,
    show_card,
)
from bot.handlers.account.context import AccountDeps, show
from bot.handlers.render_booking import time_buttons, with_notice
from bot.keyboards.account import (
    AppointmentAction,
    AppointmentCb,
    RescheduleConfirmCb,
    RescheduleDateCb,
    ReschedulePageCb,
    RescheduleTimeCb,
    RescheduleTimesPageCb,
    back_to_list_keyboard,
    reschedule_confirm_keyboard,
    reschedule_dates_keyboard,
    reschedule_times_keyboard,
)
from bot.keyboards.booking import date_label
from bot.keyboards.times import part_page
from bot.services.booking import AppointmentView
from bot.services.reschedule_flow import ChangeRefusal, ChangeRefused
from bot.states import AccountFlow


async def movable(
    query: CallbackQuery, deps: AccountDeps, appointment_id: int
) -> AppointmentView | None:
    """The client's appointment if it may still be moved (the press answered); otherwise a clear
    answer and None."""
    view = await own_appointment(query, deps, appointment_id)
    if view is None:
        return None
    try:
        deps.reschedule.check_movable(view, deps.now)
    except ChangeRefused as refused:
        if refused.reason is ChangeRefusal.TOO_LATE:
            await too_late(query, deps, view)
        else:
            await refuse_change(query, deps, view)
        return None
    await query.answer()
    return view


async def too_late(query: CallbackQuery, deps: AccountDeps, view: AppointmentView) -> None:
    notice = deps.i18n(
        "account.resched.too_late",
        hours=deps.settings.free_cancel_hours,
        **render.when(view, deps.i18n.locale),
    )
    await query.answer()
    await show_card(query, deps, view, notice=notice, edit=is_account_screen(query))


async def show_dates(
    query: CallbackQuery,
    deps: AccountDeps,
    state: FSMContext,
    view: AppointmentView,
    *,
    notice: str | None = None,
    page: int = 0,
) -> None:
    days = await deps.reschedule.dates(view, now=deps.now)
    if not days:
        await leave_account_flow(state)
        text = deps.i18n("account.resched.no_dates")
        await show(query, with_notice(notice, text), back_to_list_keyboard(deps.i18n))
        return
    await enter_account_step(state, AccountFlow.reschedule_date)
    text = deps.i18n(
        "account.resched.choose_date",
        service=view.service_name,
        specialist=view.specialist_name,
        **render.when(view, deps.i18n.locale),
    )
    await show(
        query,
        with_notice(notice, text),
        reschedule_dates_keyboard(
            deps.i18n,
            view.id,
            days,
            labels=[date_label(day, deps.i18n) for day in days],
            page=page,
        ),
        edit=is_account_screen(query),
    )


async def show_times(
    query: CallbackQuery,
    deps: AccountDeps,
    state: FSMContext,
    view: AppointmentView,
    day: date,
    *,
    notice_key: str | None = None,
    page: int = 0,
    lost: datetime | None = None,
) -> None:
    """That day's free times (`page`: a part of the day or a page of it, as the booking's time
    picker), or (none left) a note and the dates again; `lost`, a time the move was just
    refused, is not offered again (as in booking: `booking.screens.times`)."""
    starts = [s for s in await deps.reschedule.times(view, day, now=deps.now) if s != lost]
    label = formats.day(day, deps.i18n.locale)
    if not starts:
        await show_dates(
            query, deps, state, view, notice=deps.i18n("account.resched.no_times", date=label)
        )
        return
    await enter_account_step(state, AccountFlow.reschedule_time)
    buttons = time_buttons(starts, ZoneInfo(view.timezone))
    text = deps.i18n("account.resched.choose_time", date=label)
    if notice_key is not None:
        text = with_notice(deps.i18n(notice_key, date=label), text)
    markup = reschedule_times_keyboard(deps.i18n, view.id, day, buttons, page)
    await show(query, text, markup)


async def show_times_again(
    query: CallbackQuery,
    deps: AccountDeps,
    state: FSMContext,
    view: AppointmentView,
    start: datetime,
    notice_key: str,
) -> None:
    """The chosen start went (taken, or no longer offered): that day's fresh times without it,
    open at the part of the day the client was looking at."""
    local = start.astimezone(ZoneInfo(view.timezone))
    page = part_page(local.hour)
    await show_times(
        query, deps, state, view, local.date(), notice_key=notice_key, page=page, lost=start
    )


async def on_dates(
    query: CallbackQuery,
    callback_data: AppointmentCb | ReschedulePageCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    """Reschedule pressed (the first dates) or a page of the dates."""
    view = await movable(query, deps, callback_data.appointment_id)
    if view is None:
        return
    page = callback_data.page if isinstance(callback_data, ReschedulePageCb) else 0
    await show_dates(query, deps, state, view, page=page)


async def on_date(
    query: CallbackQuery,
    callback_data: RescheduleDateCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    view = await movable(query, deps, callback_data.appointment_id)
    if view is None:
        return
    await show_times(query, deps, state, view, callback_data.day)


async def on_times_page(
    query: CallbackQuery,
    callback_data: RescheduleTimesPageCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    """A part of the day (a tab) or a page of the new date's times."""
    view = await movable(query, deps, callback_data.appointment_id)
    if view is None:
        return
    await show_times(query, deps, state, view, callback_data.day, page=callback_data.page)


async def on_time(
    query: CallbackQuery,
    callback_data: RescheduleTimeCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    """The chosen time, if it is still free, with the price difference explained."""
    view = await movable(query, deps, callback_data.appointment_id)
    if view is None:
        return
    start = datetime.fromtimestamp(callback_data.ts, UTC)
    quote = await deps.reschedule.quote(view, start, now=deps.now)
    if quote is None:
        await show_times_again(query, deps, state, view, start, "account.resched.unavailable")
        return
    # "Move Haircut with Anna: Wed 4 Mar 10:00 → Thu 5 Mar 12:00?" (the booking's own words).
    text = deps.i18n(
        "account.resched.confirm",
        service=view.service_name,
        specialist=view.specialist_name,
        old=formats.day_time(view.start, view.timezone, deps.i18n.locale),
        new=formats.day_time(start, view.timezone, deps.i18n.locale),
        price_note=render.price_change(
            quote.old_charge, quote.new_charge, deps.i18n, deps.currency
        ),
    )
    await enter_account_step(state, AccountFlow.reschedule_confirm)
    await show(query, text, reschedule_confirm_keyboard(deps.i18n, view.id, callback_data.ts))


async def on_confirm(
    query: CallbackQuery,
    callback_data: RescheduleConfirmCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    view = await own_appointment(query, deps, callback_data.appointment_id)
    if view is None:
        return
    start = datetime.fromtimestamp(callback_data.ts, UTC)
    try:
        moved = await deps.reschedule.move(view, start, actor=deps.actor, now=deps.now)
    except SlotTaken:
        await query.answer()
        await show_times_again(query, deps, state, view, start, "account.resched.taken")
        return
    except SlotUnavailable:
        await query.answer()
        await show_times_again(query, deps, state, view, start, "account.resched.unavailable")
        return
    except InsufficientFunds as exc:
        await query.answer()
        await leave_account_flow(state)
        text = deps.i18n(
            "account.resched.insufficient",
            price=formats.money(exc.price, deps.currency, deps.i18n.locale),
            balance=formats.money(exc.balance, deps.currency, deps.i18n.locale),
            missing=formats.money(exc.missing, deps.currency, deps.i18n.locale),
        )
        await show_card(query, deps, view, notice=text)
        return
    except ChangeRefused:
        await leave_account_flow(state)
        await too_late(query, deps, view)
        return
    except (InvalidState, NotFound):
        await leave_account_flow(state)
        await refuse_as_it_is_now(query, deps, view.id)
        return
    wallet = await deps.wallet.balance_and_ledger(deps.client_id, limit=1)
    await query.answer()
    await leave_account_flow(state)
    new = render.when(moved, deps.i18n.locale)
    text = deps.i18n(
        "account.resched.done",
        date=new["date"],
        time=new["time"],
        price_note=render.price_settled(view.charged, moved.charged, deps.i18n, deps.currency),
        balance=formats.money(wallet.balance, deps.currency, deps.i18n.locale),
    )
    await show(query, text, back_to_list_keyboard(deps.i18n))


def register(router: Router) -> None:
    """Reschedule: the dates, the times, the price difference, the move."""
    router.callback_query.register(
        on_dates, AppointmentCb.filter(F.action == AppointmentAction.reschedule)
    )
    router.callback_query.register(on_dates, ReschedulePageCb.filter())
    router.callback_query.register(on_date, RescheduleDateCb.filter())
    router.callback_query.register(on_times_page, RescheduleTimesPageCb.filter())
    router.callback_query.register(on_time, RescheduleTimeCb.filter())
    router.callback_query.register(on_confirm, RescheduleConfirmCb.filter())
