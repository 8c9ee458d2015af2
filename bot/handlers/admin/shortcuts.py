"""Admin text shortcuts: /client, /topup, /adjust, /discount, /invite, /day, /addadmin.

Each first checks the role on the server (a client or specialist gets "admins only" and never
learns the usage), then parses; wrong or missing arguments get the usage line with an example
in the admin's language. The use case itself checks the role again inside its transaction.
"""

from __future__ import annotations

from datetime import date

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from dishka import FromDishka

from bot.config import Settings
from bot.domain.admin_input import parse_amount, parse_day, parse_percent
from bot.domain.errors import DomainError, InsufficientFunds
from bot.handlers.admin import screens
from bot.handlers.admin.args import split_first, split_word
from bot.handlers.admin.render import insufficient_text, refusal_text
from bot.handlers.render_booking import format_money
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.admin import (
    AdminDayCb,
    AdminInviteCb,
    DayKind,
    InviteAction,
    button,
    day_code,
)
from bot.services.admin.clients import ClientDesk, ClientSummary
from bot.services.admin.day import DayDesk
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles

# Every admin command (the authorization sweep sends each one as a client and a specialist).
ADMIN_COMMANDS = ("admin", "client", "topup", "adjust", "discount", "invite", "day", "addadmin")


async def allowed(message: Message, roles: AdminRoles, i18n: Translator) -> int | None:
    """The sender's Telegram id when they are an admin now; else says so and returns None."""
    if message.from_user is None:
        return None
    if not await roles.is_admin(message.from_user.id):
        await message.answer(i18n("admin.denied"))
        return None
    return message.from_user.id


async def usage(message: Message, i18n: Translator, command: str) -> None:
    text = i18n(f"admin.usage.{command}")
    if command in ("client", "topup", "adjust", "discount"):
        text = f"{text}\n{i18n('admin.usage.client_hint')}"
    await message.answer(text)


async def refuse(message: Message, exc: DomainError, i18n: Translator) -> None:
    text = refusal_text(exc, i18n)
    if text is None:
        raise exc  # the error router's text
    await message.answer(text)


async def one_client(
    message: Message, desk: ClientDesk, admin: int, query: str, i18n: Translator
) -> ClientSummary | None:
    """The one client `query` names; a pick list (or "nobody") is shown otherwise."""
    found = await desk.search(admin, query)
    if len(found) == 1:
        return found[0]
    if not found:
        await message.answer(i18n("admin.clients.none", query=query))
    else:
        await message.answer(
            i18n("admin.clients.pick"), reply_markup=screens.client_list(found, i18n)
        )
    return None


async def on_client(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin = await allowed(message, roles, i18n)
    if admin is None:
        return
    query = (command.args or "").strip()
    if not query:
        await usage(message, i18n, "client")
        return
    client = await one_client(message, desk, admin, query, i18n)
    if client is not None:
        text, markup = await screens.client_card(desk, admin, client.id, i18n, settings, now)
        await message.answer(text, reply_markup=markup)


async def on_money(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
) -> None:
    """/topup <client> <amount> [comment], /adjust <client> <±amount> <comment>."""
    admin = await allowed(message, roles, i18n)
    if admin is None:
        return
    name = command.command.lower()
    parts = split_first(command.args)
    amount_text, comment = split_word(parts[1]) if parts else ("", "")
    if parts is None or not amount_text or (name == "adjust" and not comment):
        await usage(message, i18n, name)
        return
    try:
        amount = parse_amount(amount_text, signed=name == "adjust")
        client = await one_client(message, desk, admin, parts[0], i18n)
        if client is None:
            return
        if name == "topup":
            balance = await desk.top_up(admin, client.id, amount, comment or None)
        else:
            balance = await desk.adjust(admin, client.id, amount, comment)
    except InsufficientFunds as exc:
        await message.answer(insufficient_text(exc, i18n, settings.currency))
        return
    except DomainError as exc:
        await refuse(message, exc, i18n)
        return
    sign = "+" if amount > 0 else ""
    await message.answer(
        i18n(
            f"admin.{name}.done",
            amount=sign + format_money(amount, settings.currency),
            client=client.name,
            balance=format_money(balance, settings.currency),
        )
    )


async def on_discount(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    desk: FromDishka[ClientDesk],
) -> None:
    admin = await allowed(message, roles, i18n)
    if admin is None:
        return
    parts = split_first(command.args)
    percent_text, extra = split_word(parts[1]) if parts else ("", "")
    if parts is None or not percent_text or extra:
        await usage(message, i18n, "discount")
        return
    try:
        percent = parse_percent(percent_text)
        client = await one_client(message, desk, admin, parts[0], i18n)
        if client is None:
            return
        value = await desk.set_discount(admin, client.id, percent)
    except DomainError as exc:
        await refuse(message, exc, i18n)
        return
    await message.answer(
        i18n("admin.discount.done", client=client.name, percent=f"{value.normalize():f}")
    )


async def on_invite(
    message: Message,
    command: CommandObject,
    bot: Bot,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    day_desk: FromDishka[DayDesk],
    invites: FromDishka[InviteService],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin = await allowed(message, roles, i18n)
    if admin is None:
        return
    query = (command.args or "").strip()
    if not query:
        await usage(message, i18n, "invite")
        return
    _, specialists = await day_desk.find(admin, query)
    if not specialists:
        await message.answer(i18n("admin.specialists.none", query=query))
        return
    if len(specialists) > 1:
        rows = [
            [button(s.name, AdminInviteCb(action=InviteAction.create, specialist_id=s.id))]
            for s in specialists
        ]
        await message.answer(
            i18n("admin.specialists.pick"), reply_markup=screens.keyboard(rows, i18n)
        )
        return
    text = await screens.invite_text(invites, admin, specialists[0].id, bot, i18n, settings, now)
    await message.answer(text)


async def on_day(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    """/day [DD.MM] [location or specialist]; no name -> pick one."""
    admin = await allowed(message, roles, i18n)
    if admin is None:
        return
    today = screens.local_today(now, settings)
    first, rest = split_word(command.args or "")
    day: date = today
    query = (command.args or "").strip()
    if first and first[0].isdigit():
        try:
            day = parse_day(first, today)
        except DomainError:
            await usage(message, i18n, "day")
            return
        query = rest
    if not query:
        text, markup = await screens.day_pick(day_desk, admin, day, i18n)
        await message.answer(text, reply_markup=markup)
        return
    locations, specialists = await day_desk.find(admin, query)
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
    text, markup = await screens.day_screen(day_desk, admin, kind, choice.id, day, i18n, settings)
    await message.answer(text, reply_markup=markup)


async def on_add_admin(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
) -> None:
    """/addadmin <Telegram id>, or the command as a reply to a forwarded message or a shared
    contact (whose Telegram id is then used)."""
    admin = await allowed(message, roles, i18n)
    if admin is None:
        return
    target = screens.user_id_of(message.reply_to_message) if message.reply_to_message else None
    args = (command.args or "").strip()
    if target is None and args.isdigit() and 0 < int(args) < 2**53:
        target = int(args)
    if target is None:
        await usage(message, i18n, "addadmin")
        return
    added = await roles.add(admin, target)
    key = "admin.admins.done_add" if added else "admin.admins.already"
    await message.answer(i18n(key, tg_id=target))


def register(router: Router) -> None:
    router.message.register(on_client, Command("client"))
    router.message.register(on_money, Command("topup", "adjust"))
    router.message.register(on_discount, Command("discount"))
    router.message.register(on_invite, Command("invite"))
    router.message.register(on_day, Command("day"))
    router.message.register(on_add_admin, Command("addadmin"))
