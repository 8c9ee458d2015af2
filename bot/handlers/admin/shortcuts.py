"""Admin text shortcuts: /client, /topup, /adjust, /discount, /invite, /day, /addadmin.

The admin router's gate has checked the role (a client or specialist gets "admins only" and
never learns the usage); wrong or missing arguments get the usage line with an example in the
admin's language. The use case itself checks the role again inside its transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from dishka import FromDishka

from bot.config import Settings
from bot.domain.admin_input import is_blank, parse_day, parse_tg_id, unquote
from bot.domain.errors import DomainError, InvalidInput
from bot.handlers.admin import clients, screens
from bot.handlers.admin.args import split_first, split_word
from bot.handlers.admin.common import refuse, retry, usage, usage_text
from bot.handlers.admin.menu import add_admin
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.admin import (
    AdminDayCb,
    AdminInviteCb,
    ClientListPurpose,
    DayKind,
    InviteAction,
    button,
    day_code,
)
from bot.services.admin.clients import ClientDesk, ClientSummary
from bot.services.admin.day import DayDesk
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles
from bot.states import AdminStates


async def one_client(
    message: Message, state: FSMContext, desk: ClientDesk, admin: int, query: str, i18n: Translator
) -> ClientSummary | None:
    """The one client `query` names; otherwise "nobody", or the paged list to pick from."""
    found = await desk.find(admin, query, limit=2)
    if found.total == 1:
        return found.clients[0]
    if not found.total:
        await message.answer(i18n("admin.clients.none", query=query))
        return None
    await state.set_state(AdminStates.client_query)
    await state.update_data(
        {clients.QUERY_KEY: query, clients.PURPOSE_KEY: ClientListPurpose.card.value}
    )
    text, markup = await screens.clients_screen(desk, admin, query, ClientListPurpose.card, 0, i18n)
    await message.answer(f"{i18n('admin.clients.pick')}\n{text}", reply_markup=markup)
    return None


def sender(message: Message) -> int:
    assert message.from_user is not None  # the gate let only a known sender through
    return message.from_user.id


async def on_client(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin, query = sender(message), (command.args or "").strip()
    if is_blank(unquote(query)):  # nothing, or empty quotes: no client named
        await usage(message, i18n, "client")
        return
    try:
        client = await one_client(message, state, desk, admin, query, i18n)
        if client is not None:
            await state.update_data({clients.CARD_BACK_KEY: None})  # Back: the clients list
            await clients.send_card(message, desk, admin, client.id, i18n, settings, now)
    except DomainError as exc:
        await refuse(message, exc, i18n)


async def on_money(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
) -> None:
    """/topup <client> <amount> [comment], /adjust <client> <±amount> <comment>."""
    admin, name = sender(message), command.command.lower()
    parts = split_first(command.args)
    if parts is None or not parts[1]:
        await usage(message, i18n, name)
        return

    async def act(client: ClientSummary) -> str:
        card = clients.CardInput(desk, i18n, settings, admin, client.id)
        return await clients.move_money(card, name, parts[1])

    await for_client(message, state, desk, i18n, name, parts[0], act)


async def on_discount(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
) -> None:
    """/discount <client> <percent>."""
    admin = sender(message)
    parts = split_first(command.args)
    percent_text, extra = split_word(parts[1]) if parts else ("", "")
    if parts is None or not percent_text or extra:
        await usage(message, i18n, "discount")
        return

    async def act(client: ClientSummary) -> str:
        card = clients.CardInput(desk, i18n, settings, admin, client.id)
        return await clients.set_discount(card, percent_text)

    await for_client(message, state, desk, i18n, "discount", parts[0], act)


async def for_client(
    message: Message,
    state: FSMContext,
    desk: ClientDesk,
    i18n: Translator,
    command: str,
    query: str,
    act: Callable[[ClientSummary], Awaitable[str]],
) -> None:
    """`act` for the one client `query` names (else "nobody" or the list to pick from) and
    answer its text; a wrong value is told with the usage line again."""
    try:
        client = await one_client(message, state, desk, sender(message), query, i18n)
        if client is None:
            return
        text = await act(client)
    except InvalidInput as exc:
        await retry(message, exc, i18n, usage_text(i18n, command))
        return
    except DomainError as exc:
        await refuse(message, exc, i18n)
        return
    await message.answer(text)


async def on_invite(
    message: Message,
    command: CommandObject,
    bot: Bot,
    i18n: Translator,
    day_desk: FromDishka[DayDesk],
    invites: FromDishka[InviteService],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin, query = sender(message), (command.args or "").strip()
    if is_blank(unquote(query)):
        await usage(message, i18n, "invite")
        return
    try:
        _, specialists = await day_desk.find(admin, query, i18n.locale)
        if len(specialists) > 1:
            rows = [
                [button(s.name, AdminInviteCb(action=InviteAction.create, specialist_id=s.id))]
                for s in specialists
            ]
            await message.answer(
                i18n("admin.specialists.pick"), reply_markup=screens.keyboard(rows, i18n)
            )
            return
        if not specialists:
            await message.answer(i18n("admin.specialists.none", query=query))
            return
        spec = specialists[0].id
        text = await screens.invite_text(invites, admin, spec, bot, i18n, settings, now)
    except DomainError as exc:
        await refuse(message, exc, i18n)
        return
    await message.answer(text)


async def on_day(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    """/day [DD.MM] [location or specialist]; no name -> pick one."""
    admin = sender(message)
    today = screens.local_today(now, settings)
    first, rest = split_word(command.args or "")
    day: date = today
    query = (command.args or "").strip()
    if first and first[0].isdigit():
        try:
            day = parse_day(first, today)
        except InvalidInput as exc:
            await retry(message, exc, i18n, usage_text(i18n, "day"))
            return
        query = rest
    try:
        if is_blank(unquote(query)):
            text, markup = await screens.day_pick(day_desk, admin, DayKind.location, day, 0, i18n)
            await message.answer(text, reply_markup=markup)
            return
        locations, specialists = await day_desk.find(admin, query, i18n.locale)
        choices = [(DayKind.location, c) for c in locations] + [
            (DayKind.specialist, c) for c in specialists
        ]
        if not choices:
            await message.answer(i18n("admin.day.none", query=query))
            return
        if len(choices) > 1:
            rows = [
                [button(c.name, AdminDayCb(kind=kind, target_id=c.id, day=day_code(day)))]
                for kind, c in choices
            ]
            await message.answer(i18n("admin.day.pick"), reply_markup=screens.keyboard(rows, i18n))
            return
        kind, choice = choices[0]
        text, markup = await screens.day_screen(
            day_desk, admin, kind, choice.id, day, i18n, settings
        )
    except DomainError as exc:
        await refuse(message, exc, i18n)
        return
    await message.answer(text, reply_markup=markup)


async def on_add_admin(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
) -> None:
    """/addadmin <Telegram id>, or the command as a reply to a forwarded message or a shared
    contact (whose Telegram id is then used). The menu's Admins screen takes the same."""
    reply, args = message.reply_to_message, (command.args or "").strip()
    target = screens.user_id_of(reply) if reply is not None else None
    if target is None and not args:
        hidden = reply is not None and screens.hides_sender(reply)
        if hidden:
            await message.answer(i18n("admin.admins.ask_again"))
        else:
            await usage(message, i18n, "addadmin")
        return
    if target is None:
        try:
            target = parse_tg_id(args)
        except InvalidInput as exc:
            await retry(message, exc, i18n, usage_text(i18n, "addadmin"))
            return
    try:
        await add_admin(message, roles, i18n, target)
    except DomainError as exc:
        await refuse(message, exc, i18n)


def register(router: Router) -> None:
    router.message.register(on_client, Command("client"))
    router.message.register(on_money, Command("topup", "adjust"))
    router.message.register(on_discount, Command("discount"))
    router.message.register(on_invite, Command("invite"))
    router.message.register(on_day, Command("day"))
    router.message.register(on_add_admin, Command("addadmin"))
