"""Booking for a client at the desk (a phone call or a walk-in): the admin picks the client (or
adds one by name and phone, without Telegram), then goes through the client's own booking flow
(location, service, specialist or any, date, time, summary) acting for that client.

The flow's draft names the client (`Draft.for_client`); the booking handlers then act for them
after checking the admin role on the server (`acting_client`), and the confirm is the client's
one-transaction confirm from their wallet, audited with the admin. When the wallet is short the
admin can record the missing amount as paid at the desk (a top-up, audited) and book in one press.
Rule: docs/rules.md#admin-rights.
"""

from __future__ import annotations

from dataclasses import replace

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from dishka import FromDishka

from bot.domain.errors import DomainError, InsufficientFunds
from bot.handlers.booking.confirm import confirm_draft, request_of
from bot.handlers.booking.context import Deps, Draft, load_draft, new_flow_token
from bot.handlers.booking.flow import release_hold, show
from bot.handlers.booking.steps import screen_for
from bot.keyboards.admin import AdminDeskPayCb
from bot.keyboards.booking import BookStep
from bot.services.admin.clients import ClientDesk, ClientSummary


async def start(
    message: Message, state: FSMContext, deps: Deps, client: ClientSummary, *, admin: int
) -> None:
    """A new booking flow for `client` by the admin with Telegram id `admin`, below `message`
    (the admin's previous flow is dropped); a blocked client is refused at once. Its first
    screen is already the client's (their free times, texts that name them), as every later
    one is (`acting_client`)."""
    if client.is_blocked:
        await message.answer(deps.i18n("admin.book.blocked"))
        return
    await release_hold(state, deps)
    await state.set_state(None)
    label = deps.i18n("admin.book.for", name=client.name)
    draft = Draft(
        flow=new_flow_token(),
        for_client=client.id,
        for_label=label,
        for_name=client.name,
        for_chat=client.tg_id is not None,
    )
    for_client = replace(deps, client_id=client.id, booked_by=admin)
    screen = await screen_for(for_client, draft, BookStep.LOCATION)
    await show(message, state, draft, screen, new=True)


async def on_desk_pay(
    query: CallbackQuery,
    callback_data: AdminDeskPayCb,
    state: FSMContext,
    deps: FromDishka[Deps],
    desk: FromDishka[ClientDesk],
) -> None:
    """Record the missing amount as paid at the desk, then confirm (idempotent on the hold)."""
    i18n = deps.i18n
    draft = await load_draft(state)
    message = query.message
    request = request_of(deps, draft) if draft is not None else None
    if (
        draft is None
        or request is None
        or draft.flow != callback_data.flow
        or deps.booked_by is None
        or not isinstance(message, Message)
    ):
        await query.answer(i18n("admin.stale"), show_alert=True)
        return
    try:
        await deps.flow.confirm(request, now=deps.now, booked_by=deps.booked_by)
    except InsufficientFunds as exc:
        comment = i18n("admin.book.desk_comment")
        await desk.top_up(deps.booked_by, request.client_id, exc.missing, comment)
    except DomainError:
        pass  # the same refusal again below, told as on Confirm
    await confirm_draft(query, state, deps, draft, message)
