"""The Clients screen of the /admin menu and the client card's actions: search (typed name,
phone, @username or Telegram id), a paged list with no cap, the card, notes, top-up,
adjustment, block, and booking for the client (also for a new client added by name and phone).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from dishka import FromDishka

from bot import formats
from bot.config import Settings
from bot.domain.admin_input import (
    NOTES_MAX,
    check_text,
    looks_like_phone,
    parse_amount,
    parse_percent,
)
from bot.domain.errors import DomainError, InputProblem, InsufficientFunds, InvalidInput
from bot.handlers.admin import desk_booking, screens
from bot.handlers.admin.args import split_word
from bot.handlers.admin.common import ask, edit, pending_id, refuse, retry
from bot.handlers.admin.render import insufficient_text
from bot.handlers.booking.context import Deps
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.admin import (
    AdminApptCb,
    AdminApptClientCb,
    AdminClientCb,
    AdminClientsCb,
    ApptAction,
    ClientAction,
    ClientListPurpose,
)
from bot.services.admin.clients import ClientDesk
from bot.services.booking import Actor, BookingService
from bot.states import AdminStates

QUERY_KEY = "desk_query"
PURPOSE_KEY = "desk_purpose"
CLIENT_KEY = "desk_client"
# The appointment card a client card was opened from: {"client": id, "appointment": id}.
CARD_BACK_KEY = "desk_card_back"
# A card button that asks for a value to type: the state it is typed in (`CARD_VALUES`).
CARD_QUESTIONS = {
    ClientAction.notes: AdminStates.client_notes,
    ClientAction.topup: AdminStates.client_topup,
    ClientAction.adjust: AdminStates.client_adjust,
    ClientAction.discount: AdminStates.client_discount,
}
# "Anna Petrova +7 916 123-45-67": the name, then the phone at the end.
_NAME_PHONE = re.compile(r"^\s*(?P<name>.*?\S)[\s,;]+(?P<phone>\+?[\d][\d\s().-]{4,})\s*$")


async def open_list(
    query: CallbackQuery,
    state: FSMContext,
    desk: ClientDesk,
    purpose: ClientListPurpose,
    page: int,
    i18n: Translator,
    *,
    new_search: bool = False,
) -> None:
    """Show a page of the list (the last typed search, or everyone) and wait for a search."""
    if new_search:
        await state.update_data({QUERY_KEY: ""})
    data = await state.get_data()
    text = data.get(QUERY_KEY) if isinstance(data.get(QUERY_KEY), str) else ""
    await state.set_state(AdminStates.client_query)
    await state.update_data({PURPOSE_KEY: purpose.value})
    admin = query.from_user.id
    await edit(query, *await screens.clients_screen(desk, admin, str(text), purpose, page, i18n))


async def on_clients(
    query: CallbackQuery,
    callback_data: AdminClientsCb,
    state: FSMContext,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
) -> None:
    try:
        await open_list(query, state, desk, callback_data.purpose, callback_data.page, i18n)
    except DomainError as exc:
        await refuse(query, exc, i18n)


async def on_search(
    message: Message, state: FSMContext, i18n: Translator, desk: FromDishka[ClientDesk]
) -> None:
    """Typed text on the clients list: search again (as a new message)."""
    if message.from_user is None:
        return
    raw = (await state.get_data()).get(PURPOSE_KEY)
    purpose = ClientListPurpose(raw) if raw in {p.value for p in ClientListPurpose} else None
    query = (message.text or "").strip()[:100]
    await state.update_data({QUERY_KEY: query})
    try:
        text, markup = await screens.clients_screen(
            desk, message.from_user.id, query, purpose or ClientListPurpose.card, 0, i18n
        )
    except DomainError as exc:
        await refuse(message, exc, i18n)
        return
    await message.answer(text, reply_markup=markup)


async def card_back(state: FSMContext, client_id: int) -> AdminApptCb | None:
    """Where the client card's Back goes when it was opened from an appointment's card (the
    card of that appointment); None: the clients list."""
    back = (await state.get_data()).get(CARD_BACK_KEY)
    if isinstance(back, dict) and back.get("client") == client_id:
        appointment_id = back.get("appointment")
        if isinstance(appointment_id, int):
            return AdminApptCb(action=ApptAction.view, appointment_id=appointment_id)
    return None


async def on_client(
    query: CallbackQuery,
    callback_data: AdminClientCb,
    state: FSMContext,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
    deps: FromDishka[Deps],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin, client_id, action = query.from_user.id, callback_data.client_id, callback_data.action
    message = query.message if isinstance(query.message, Message) else None
    try:
        if action is ClientAction.book:
            client = await desk.get(admin, client_id)
            await query.answer()
            if message is not None:
                await desk_booking.start(message, state, deps, client, admin=admin)
            return
        if action in CARD_QUESTIONS:
            await desk.get(admin, client_id)
            await query.answer()
            next_state = CARD_QUESTIONS[action]
            question = i18n(CARD_VALUES[next_state.state][0])
            await ask(message, state, next_state, question, {CLIENT_KEY: client_id})
            return
        if action is ClientAction.card:  # opened from a list: Back goes to the list
            await state.update_data({CARD_BACK_KEY: None})
        if action in (ClientAction.block, ClientAction.unblock):
            await desk.set_blocked(admin, client_id, action is ClientAction.block)
        back = await card_back(state, client_id)
        screen = await screens.client_card(desk, admin, client_id, i18n, settings, now, back)
        await edit(query, *screen)
    except DomainError as exc:
        await refuse(query, exc, i18n)


async def on_appointment_client(
    query: CallbackQuery,
    callback_data: AdminApptClientCb,
    state: FSMContext,
    i18n: Translator,
    booking: FromDishka[BookingService],
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    """The client's card from an appointment's card; its Back returns to that appointment."""
    admin, appointment_id = query.from_user.id, callback_data.appointment_id
    try:
        view = await booking.get(appointment_id, actor=Actor(kind="admin", id=admin))
        back = {"client": view.client_id, "appointment": appointment_id}
        await state.update_data({CARD_BACK_KEY: back})
        screen = await screens.client_card(
            desk, admin, view.client_id, i18n, settings, now, await card_back(state, view.client_id)
        )
        await edit(query, *screen)
    except DomainError as exc:
        await refuse(query, exc, i18n)


async def send_card(
    message: Message,
    desk: ClientDesk,
    admin: int,
    client_id: int,
    i18n: Translator,
    settings: Settings,
    now: Now,
    back: AdminApptCb | None = None,
) -> None:
    text, markup = await screens.client_card(desk, admin, client_id, i18n, settings, now, back)
    await message.answer(text, reply_markup=markup)


async def on_card_value(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    """A value typed for the client card (notes, top-up, adjustment, discount, by the state
    the card's button set): done for the client the button asked about, audited, then the
    done text and the card again. A wrong value is told with the question again and the admin
    types again; any other refusal ends the input. Nothing happens when the question is gone."""
    client_id = await pending_id(state, CLIENT_KEY)
    current = CARD_VALUES.get(await state.get_state())
    if client_id is None or current is None or message.from_user is None:
        await state.set_state(None)
        return
    admin, (question, act) = message.from_user.id, current
    try:
        done = await act(CardInput(desk, i18n, settings, admin, client_id), message.text or "")
    except InvalidInput as exc:
        await retry(message, exc, i18n, i18n(question))  # the state stays: type again
        return
    except DomainError as exc:
        await state.set_state(None)
        await refuse(message, exc, i18n)
        return
    await state.set_state(None)
    await message.answer(done)
    back = await card_back(state, client_id)
    await send_card(message, desk, admin, client_id, i18n, settings, now, back)


@dataclass(frozen=True, slots=True)
class CardInput:
    """Whose card a typed value is for, who typed it, and what acting on it needs."""

    desk: ClientDesk
    i18n: Translator
    settings: Settings
    admin: int
    client_id: int


async def save_notes(card: CardInput, typed: str) -> str:
    """The client's new notes as typed ("-" clears them)."""
    check_text(typed, NOTES_MAX, required=True, empty=InputProblem.NOTES_EMPTY)
    await card.desk.set_notes(card.admin, card.client_id, None if typed.strip() == "-" else typed)
    return card.i18n("admin.notes.done")


def money_input(name: str, text: str) -> tuple[Decimal, str]:
    """`<amount> [comment]` (`name` "topup") or `<±amount> <comment>` ("adjust"), as typed
    on the card or after a shortcut's `<client>`: the amount by the money rules
    (`parse_amount`, signed for an adjustment) and the comment. `InvalidInput` for a wrong
    amount or an adjustment without a comment."""
    amount_text, comment = split_word(text)
    amount = parse_amount(amount_text, signed=name == "adjust")
    if name == "adjust" and not comment:
        raise InvalidInput(InputProblem.TEXT_EMPTY)
    return amount, comment


async def move_money(card: CardInput, name: str, typed: str) -> str:
    """Top up (`name` "topup") or adjust the wallet by what `typed` says (`money_input`); the
    done text, or why it was refused (`InsufficientFunds` as the balance it would go below;
    other refusals raise)."""
    amount, comment = money_input(name, typed)
    desk, admin, client_id, i18n = card.desk, card.admin, card.client_id, card.i18n
    currency = card.settings.currency
    summary = await desk.get(admin, client_id)
    try:
        if name == "topup":
            balance = await desk.top_up(admin, client_id, amount, comment or None)
        else:
            balance = await desk.adjust(admin, client_id, amount, comment)
    except InsufficientFunds as exc:
        return insufficient_text(exc, i18n, currency)
    sign = "+" if amount > Decimal(0) else ""
    return i18n(
        f"admin.{name}.done",
        amount=sign + formats.money(amount, currency, i18n.locale),
        client=summary.name,
        balance=formats.money(balance, currency, i18n.locale),
    )


async def top_up(card: CardInput, typed: str) -> str:
    return await move_money(card, "topup", typed)


async def adjust(card: CardInput, typed: str) -> str:
    return await move_money(card, "adjust", typed)


async def set_discount(card: CardInput, typed: str) -> str:
    """Set the client's discount to the percent `typed` (0-100); the done text. `InvalidInput`
    for a wrong percent."""
    percent = parse_percent(typed)
    summary = await card.desk.get(card.admin, card.client_id)
    value = await card.desk.set_discount(card.admin, card.client_id, percent)
    return card.i18n("admin.discount.done", client=summary.name, percent=f"{value.normalize():f}")


# A value typed for the card, by the state the card's button set: the question (asked again
# after a wrong value) and what is done with the answer.
CARD_VALUES: dict[str | None, tuple[str, Callable[[CardInput, str], Awaitable[str]]]] = {
    AdminStates.client_notes.state: ("admin.notes.ask", save_notes),
    AdminStates.client_topup.state: ("admin.topup.ask", top_up),
    AdminStates.client_adjust.state: ("admin.adjust.ask", adjust),
    AdminStates.client_discount.state: ("admin.discount.ask", set_discount),
}


async def on_new_client(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
    deps: FromDishka[Deps],
) -> None:
    """A new client (no Telegram account) from "Name Surname +phone", then booking for them;
    a phone that is already a client's books for that client."""
    if message.from_user is None:
        return
    text = message.text or ""
    if looks_like_phone(text):
        # Only a phone: its first digits ("+7", "8") are no name.
        await retry(
            message, InvalidInput(InputProblem.NAME_EMPTY), i18n, i18n("admin.new_client.ask")
        )
        return
    match = _NAME_PHONE.match(text)
    if match is None:
        await message.answer(i18n("admin.new_client.ask"))
        return
    try:
        client, created = await desk.find_or_create(
            message.from_user.id, name=match["name"], phone=match["phone"]
        )
    except InvalidInput as exc:
        await retry(message, exc, i18n, i18n("admin.new_client.ask"))  # type again
        return
    except DomainError as exc:
        await state.set_state(None)
        await refuse(message, exc, i18n)
        return
    key = "admin.new_client.created" if created else "admin.new_client.exists"
    await message.answer(i18n(key, name=client.name, phone=client.phone or ""))
    await desk_booking.start(message, state, deps, client, admin=message.from_user.id)
