"""Confirm, pay at checkout, the waitlist join for a date whose times are gone, and taking a
waitlist offer.

Domain errors become text here, in one place: a lost race re-offers that day's times, missing
money shows the price, the balance and what is missing (again on every press, as an alert), and
nothing is written. With Telegram Payments on, "Pay N and book" sends one invoice for exactly
the missing amount; its successful payment is credited to the wallet and books the held time,
and the summary turns into the confirmation.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LabeledPrice, Message
from dishka import FromDishka

from bot import formats
from bot.domain.errors import (
    AccessDenied,
    InsufficientFunds,
    InvalidState,
    NotAllowed,
    NotAllowedReason,
    NotFound,
    SlotUnavailable,
)
from bot.domain.statuses import AppointmentStatus
from bot.handlers.account.invoices import (
    TopUpPayload,
    check_payment,
    from_minor,
    is_booking_payload,
    make_payload,
    to_minor,
)
from bot.handlers.admin_only import DENIED_TEXT
from bot.handlers.booking.context import (
    Deps,
    Draft,
    booked_by,
    end_flow,
    load_draft,
    new_flow_token,
    retire_flow_message,
    save,
)
from bot.handlers.booking.flow import edit, guard, show
from bot.handlers.booking.screens import desk_client, resolve, summary_markup, times
from bot.handlers.booking.steps import (
    lost_notice,
    remember_quote,
    resume_summary,
    time_choice,
)
from bot.handlers.render_booking import done_text, voice, with_notice
from bot.keyboards.admin import desk_booked_keyboard
from bot.keyboards.booking import (
    BookAction,
    BookCb,
    BookStep,
    booked_keyboard,
    map_url,
)
from bot.keyboards.notify import WaitlistTakeCb
from bot.services.booking import Actor, AppointmentView, BookingRequest
from bot.services.booking_flow import TimeGone
from bot.services.change_policy import change_policy, client_may_move

log = logging.getLogger(__name__)


def request_of(deps: Deps, draft: Draft) -> BookingRequest | None:
    """The `BookingRequest` kept in the draft (None if the draft never reached the summary)."""
    start = draft.start_at
    if (
        start is None
        or draft.hold_id is None
        or draft.location_id is None
        or draft.service_id is None
    ):
        return None
    # "Any specialist" is definite once quoted: the summary named who is assigned and the
    # price, and confirm books exactly that (docs/rules.md#any-specialist).
    return BookingRequest(
        client_id=deps.client_id,
        location_id=draft.location_id,
        service_id=draft.service_id,
        specialist_id=draft.assigned_specialist or draft.chosen_specialist,
        start=start,
        hold_id=draft.hold_id,
        expected_price=Decimal(draft.quoted_price) if draft.quoted_price else None,
        held_workplace=draft.held_workplace if draft.assigned_specialist else None,
    )


async def show_times(
    message: Message,
    state: FSMContext,
    deps: Deps,
    draft: Draft,
    *,
    notice: str = "",
    lost: int | None = None,
) -> None:
    """Back to the chosen date's free times, as they are now (without `lost`, the time just
    refused: `times`)."""
    picked = await resolve(deps, draft)
    screen = await times(deps, draft, picked, notice=notice, lost=lost)
    await show(message, state, draft, screen)


async def on_confirm(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    if await _booked_already(callback, callback_data, state, deps):
        return
    checked = await guard(callback, callback_data, state, deps)
    if checked is None:
        return
    draft, message = checked
    await confirm_draft(callback, state, deps, draft, message)


async def confirm_draft(
    callback: CallbackQuery, state: FSMContext, deps: Deps, draft: Draft, message: Message
) -> None:
    """Book the draft's held time and show the outcome on `message` (also after a desk
    payment); the press is answered with what is missing when money is missing, so a second
    press while still short says it again rather than nothing."""
    answer = await book_draft(message, state, deps, draft)
    await callback.answer(answer, show_alert=answer is not None)


async def book_draft(message: Message, state: FSMContext, deps: Deps, draft: Draft) -> str | None:
    """Book the draft's held time and turn `message` into the confirmation (or say why not on
    it). Returns the alert for the client, if any (what is missing)."""
    i18n = deps.i18n
    request = request_of(deps, draft)
    if request is None:
        await show_times(message, state, deps, draft, notice=i18n("booking.notice.stale"))
        return None
    try:
        view = await deps.flow.confirm(request, now=deps.now, booked_by=deps.booked_by)
    except TimeGone as gone:
        # Say why the time is gone (the flow has released the hold): the hold lapsed and
        # someone took it, a lost race, or the time is no longer bookable at all.
        notice = lost_notice(deps, draft, gone.reason)
        await show_times(message, state, deps, draft, notice=notice, lost=draft.start)
        return None
    except InsufficientFunds as exc:
        text, markup = insufficient_screen(exc, deps, draft)
        await edit(message, text, markup)
        draft.message_id = message.message_id
        await save(state, draft, BookStep.SUMMARY)
        return i18n(
            voice("booking.insufficient_alert", desk_client(deps, draft)),
            missing=formats.money(exc.missing, deps.currency, i18n.locale),
            client=desk_client(deps, draft),
        )
    except AccessDenied as exc:
        # An admin blocked this client: booking is closed to them (their appointments stay);
        # or the desk's admin is no admin any more. The flow has released the hold.
        await end_flow(state)
        if exc.reason is NotAllowedReason.NOT_ADMIN:
            key = DENIED_TEXT
        else:
            key = "admin.book.blocked" if deps.booked_by else "booking.blocked"
        await edit(message, i18n(key), None)
        return None
    except (NotFound, NotAllowed, InvalidState):
        log.info("confirm refused for client %s", deps.client_id, exc_info=True)
        await show_times(message, state, deps, draft, notice=i18n("booking.error.generic"))
        return None
    # The card first, then the flow ends: a crash in between leaves the flow at Confirm, and
    # the re-delivered Confirm finds the appointment by its booking key (the hold id).
    await edit(message, *booked_screen(view, deps, draft))
    await end_flow(state, booked=(draft.flow, view.id))
    # The card is on screen: the outbox copy of the confirmation is settled unsent.
    await deps.booking.confirmation_shown(view.id, now=deps.now)
    return None


async def on_pay(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    """ "Pay N and book": one invoice for exactly what the wallet lacks for the held time. The
    hold is taken again for `PAYMENT_HOLD_SECONDS` so it outlasts the payment; if nothing is
    missing by now, this books at once like Confirm."""
    if await _booked_already(callback, callback_data, state, deps):
        return
    checked = await guard(callback, callback_data, state, deps)
    if checked is None:
        return
    draft, message = checked
    i18n = deps.i18n
    if deps.booked_by is not None:
        # At the desk the client pays the admin: the wallet, or a payment recorded at the
        # desk; an invoice would go to the admin's own chat. (An old summary's button.)
        await callback.answer(i18n("admin.book.no_invoice"), show_alert=True)
        return
    token = deps.settings.payment_provider_token
    picked = await resolve(deps, draft)
    if token is None or not deps.settings.payments_enabled or draft.start is None:
        await callback.answer(i18n("account.wallet.payments_off"), show_alert=True)
        return
    if picked.location is None or picked.service is None:
        await show_times(message, state, deps, draft, notice=i18n("booking.notice.stale"))
        await callback.answer()
        return
    try:
        # The specialist the summary named stays the one ("any" was made definite there).
        choice = replace(
            time_choice(deps, draft, picked),
            specialist_id=draft.assigned_specialist or draft.chosen_specialist,
        )
        quote = await deps.flow.hold_for_payment(choice, now=deps.now)
    except TimeGone as gone:
        notice = lost_notice(deps, draft, gone.reason)
        await show_times(message, state, deps, draft, notice=notice, lost=draft.start)
        await callback.answer()
        return
    remember_quote(draft, quote)
    await save(state, draft, BookStep.SUMMARY)
    missing = quote.charge - quote.balance
    if missing <= 0:
        await confirm_draft(callback, state, deps, draft, message)
        return
    await callback.answer()
    currency = deps.currency.upper()
    minor = to_minor(missing, currency)
    payload = make_payload(
        deps.settings.bot_token.get_secret_value(),
        TopUpPayload(
            client_id=deps.client_id, amount_minor=minor, currency=currency, flow=draft.flow
        ),
    )
    local = quote.start.astimezone(picked.tz)
    assert message.bot is not None
    await message.bot.send_invoice(
        chat_id=message.chat.id,
        title=i18n("booking.invoice.title", service=picked.service.name),
        description=i18n(
            "booking.invoice.description",
            service=picked.service.name,
            date=formats.day(local.date(), i18n.locale),
            time=formats.hhmm(local, picked.tz),
            amount=formats.money(from_minor(minor, currency), currency, i18n.locale),
        ),
        payload=payload,
        currency=currency,
        prices=[LabeledPrice(label=i18n("booking.invoice.label"), amount=minor)],
        provider_token=token.get_secret_value(),
    )


async def on_booking_paid(message: Message, state: FSMContext, deps: FromDishka[Deps]) -> None:
    """The successful payment of a pay-at-checkout invoice: credit it once per Telegram charge
    id (docs/rules.md#top-up-and-payments), then book the flow it paid for and turn that flow's
    summary into the confirmation. If the booking cannot be made any more, the money stays in
    the wallet and the client is told so."""
    payment = message.successful_payment
    assert payment is not None
    i18n = deps.i18n
    payload = check_payment(
        deps.settings.bot_token.get_secret_value(),
        payment.invoice_payload,
        client_id=deps.client_id,
        total_amount=payment.total_amount,
        currency=payment.currency,
        expected_currency=deps.currency,
    )
    if payload is None or payload.flow is None:
        log.error(
            "successful booking payment with an invalid payload: user %s, charge %s, payload %r",
            message.chat.id,
            payment.telegram_payment_charge_id,
            payment.invoice_payload,
        )
        await message.answer(i18n("account.payment.refused"))
        return
    amount = from_minor(payload.amount_minor, payload.currency)
    await deps.wallet.credit_payment(
        deps.client_id, amount, charge_id=payment.telegram_payment_charge_id
    )
    paid = formats.money(amount, deps.currency, i18n.locale)
    appointment_id = await booked_by(state, payload.flow)
    if appointment_id is not None:
        return  # a repeated delivery: booked already, the confirmation is on screen
    draft = await load_draft(state)
    if draft is None or draft.flow != payload.flow or draft.message_id is None:
        await message.answer(i18n("booking.pay.flow_gone", amount=paid))
        return
    assert message.bot is not None
    target = await flow_message(message, draft.message_id)
    await message.answer(i18n("booking.pay.received", amount=paid))
    answer = await book_draft(target, state, deps, draft)
    if answer is not None:
        await message.answer(answer)


async def flow_message(message: Message, message_id: int) -> Message:
    """The flow's own message, to be edited (a successful payment arrives as another one)."""
    return Message.model_validate(
        {
            "message_id": message_id,
            "date": message.date,
            "chat": message.chat,
        }
    ).as_(message.bot)


def insufficient_screen(
    exc: InsufficientFunds, deps: Deps, draft: Draft
) -> tuple[str, InlineKeyboardMarkup]:
    """The price, the balance and what is missing, with Confirm again and a way to pay
    (`summary_markup`: the client's top-up, or at the desk the admin recording the missing
    amount as paid there); at the desk the text names the client."""
    i18n = deps.i18n
    client = desk_client(deps, draft)
    text = i18n(
        voice("booking.insufficient", client),
        price=formats.money(exc.price, deps.currency, i18n.locale),
        balance=formats.money(exc.balance, deps.currency, i18n.locale),
        missing=formats.money(exc.missing, deps.currency, i18n.locale),
        client=client,
    )
    if client is not None:
        text = f"{draft.for_label}\n\n{text}"
    return text, summary_markup(deps, draft.flow, exc.missing)


def booked_screen(
    view: AppointmentView, deps: Deps, draft: Draft
) -> tuple[str, InlineKeyboardMarkup]:
    """ "You are booked" with the client's buttons; at the desk, "Anna is booked" with the
    admin's instead."""
    client = desk_client(deps, draft)
    if deps.booked_by is not None:
        text = f"{draft.for_label}\n\n{booked_text(view, deps, client)}"
        return text, desk_booked_keyboard(view.id, deps.client_id, deps.i18n)
    return booked_text(view, deps), booked_markup(view, deps)


async def _booked_already(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: Deps
) -> bool:
    """A second press of this flow's Confirm (or its re-delivery after a crash) once it booked:
    the same "you are booked" card with its buttons, never "start again"."""
    appointment_id = await booked_by(state, callback_data.flow)
    if appointment_id is None:
        return False
    try:
        view = await deps.booking.get(appointment_id, actor=Actor(kind="client", id=deps.client_id))
    except (NotAllowed, NotFound):
        return False  # booked at the desk for another client: the button is out of date
    if view.status != AppointmentStatus.BOOKED:
        return False  # cancelled since: the button is simply out of date
    if isinstance(callback.message, Message):
        draft = await load_draft(state) or Draft(flow=callback_data.flow)
        await edit(callback.message, *booked_screen(view, deps, draft))
    await callback.answer()
    return True


def booked_markup(view: AppointmentView, deps: Deps) -> InlineKeyboardMarkup:
    """Add to calendar, the map, Cancel, and Reschedule only while a move is allowed."""
    return booked_keyboard(
        view.id,
        deps.i18n,
        can_move=client_may_move(view, deps.now, deps.settings),
        map_url=map_url(view.location_address, view.location_name),
    )


def booked_text(view: AppointmentView, deps: Deps, client: str | None = None) -> str:
    """The confirmation in the reader's language; `client` names the client booked at the
    desk (the text then speaks to the admin about them)."""
    view = view.in_language(deps.i18n.locale)
    return done_text(
        location=view.location_name,
        address=view.location_address,
        tz=ZoneInfo(view.timezone),
        service=view.service_name,
        specialist=view.specialist_name,
        start=view.start,
        amount=view.charged,
        currency=deps.currency,
        policy=change_policy(view.start, deps.now, deps.settings),
        today=formats.today_in(view.timezone, deps.now),
        i18n=deps.i18n,
        client=client,
    )


async def on_join_waitlist(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    """The chosen date has no free time left: wait for one on that date."""
    checked = await guard(callback, callback_data, state, deps)
    if checked is None:
        return
    draft, message = checked
    i18n = deps.i18n
    picked = await resolve(deps, draft)
    day = draft.day_date
    if picked.location is None or picked.service is None or day is None:
        await callback.answer(i18n("booking.notice.stale"))
        return await end_flow(state)
    try:
        await deps.waitlist.join(
            deps.client_id,
            picked.location.id,
            picked.service.id,
            day,
            specialist_id=draft.chosen_specialist,
            now=deps.now,
        )
    except SlotUnavailable:
        # The date went by (the flow was left open past midnight) or is beyond the horizon.
        await callback.answer(i18n("booking.waitlist.bad_date"), show_alert=True)
        return await end_flow(state)
    except NotAllowed:
        # A desk client without Telegram (an old or forged button): nobody to offer a time to.
        alert = i18n("admin.desk.waitlist.no_chat", client=desk_client(deps, draft) or "—")
        await callback.answer(alert, show_alert=True)
        return
    except (NotFound, InvalidState):
        log.info("waitlist join refused for client %s", deps.client_id, exc_info=True)
        await callback.answer(i18n("booking.error.generic"))
        return
    await end_flow(state)
    client = desk_client(deps, draft)
    text = i18n(
        voice("booking.waitlist.joined", client),
        date=formats.day(day, i18n.locale),
        service=picked.service.name,
        client=client,
    )
    await edit(message, text, None)
    await callback.answer()


async def on_take_offer(
    callback: CallbackQuery,
    callback_data: WaitlistTakeCb,
    state: FSMContext,
    deps: FromDishka[Deps],
) -> None:
    """The waitlist offer's button: check the entry is the presser's and still offered, then
    go to the summary with a hold on the offered time."""
    i18n = deps.i18n
    message = callback.message
    try:
        request = await deps.flow.take_offer(
            callback_data.waitlist_id,
            client_id=deps.client_id,
            previous_hold_id=await _current_hold_id(state),
            now=deps.now,
        )
    except (NotFound, NotAllowed, InvalidState):
        await callback.answer(i18n("booking.offer.gone"), show_alert=True)
        return
    if not isinstance(message, Message):
        await callback.answer(i18n("booking.offer.gone"), show_alert=True)
        return
    draft = Draft(
        flow=new_flow_token(),
        location_id=request.location_id,
        service_id=request.service_id,
        specialist_id=request.specialist_id,
        any_specialist=request.specialist_id is None,
        start=int(request.start.timestamp()),
        hold_id=request.hold_id,
    )
    picked = await resolve(deps, draft)
    if picked.location is None or picked.service is None:
        await callback.answer(i18n("booking.offer.gone"), show_alert=True)
        return
    local_day = request.start.astimezone(ZoneInfo(picked.location.timezone)).date()
    draft.day = local_day.toordinal()
    draft.offered_times = [int(request.start.timestamp())]
    if message.bot is not None:
        # The offer replaces any booking in progress: its message keeps no live buttons.
        await retire_flow_message(message.bot, message.chat.id, state)
    screen = await resume_summary(deps, draft, picked)
    if screen.step is not BookStep.SUMMARY:
        # The offered time could not be held again: say so, with that day's other times.
        screen.text = with_notice(i18n("booking.offer.taken"), screen.text)
    await show(message, state, draft, screen)
    await callback.answer()


async def _current_hold_id(state: FSMContext) -> str | None:
    draft = await load_draft(state)
    return draft.hold_id if draft is not None else None


def register(router: Router) -> None:
    """Confirm, pay at checkout (and its successful payment), the waitlist join and taking a
    waitlist offer."""
    router.callback_query.register(on_confirm, BookCb.filter(F.action == BookAction.CONFIRM))
    router.callback_query.register(on_pay, BookCb.filter(F.action == BookAction.PAY))
    router.message.register(
        on_booking_paid,
        F.successful_payment.invoice_payload.func(is_booking_payload),
    )
    router.callback_query.register(
        on_join_waitlist, BookCb.filter(F.action == BookAction.JOIN_WAITLIST)
    )
    router.callback_query.register(on_take_offer, WaitlistTakeCb.filter())
