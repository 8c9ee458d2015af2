"""The admin screens as (text, keyboard) pairs, read from the admin services; shared by the
/admin menu (edited in place) and the shortcuts (sent as new messages). Reading a screen never
changes anything."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import formats
from bot.config import Settings
from bot.domain.errors import DomainError, InvalidState, InvalidStateReason
from bot.domain.statuses import AppointmentStatus, mark_undoable
from bot.handlers.admin import render
from bot.handlers.admin.common import refuse
from bot.i18n import Translator
from bot.keyboards.admin import (
    AdminApptCb,
    AdminApptClientCb,
    AdminClientCb,
    AdminClientsCb,
    AdminDayCb,
    AdminDayDateCb,
    AdminDayPickCb,
    AdminInviteCb,
    AdminNavCb,
    AdminRemoveCb,
    AdminScreen,
    AdminWorkplaceCb,
    ApptAction,
    ClientAction,
    ClientListPurpose,
    DayKind,
    InviteAction,
    button,
    day_code,
    pager_row,
    rows_keyboard,
)
from bot.services.admin.audit import AuditService
from bot.services.admin.clients import ClientDesk, ClientSummary
from bot.services.admin.day import DayDesk
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles
from bot.services.booking import Actor, AppointmentView, BookingService
from bot.telegram import edit_text

PAGE = 8
# Appointment buttons under a day view (Telegram allows 100 buttons; the text lists them all).
DAY_BUTTONS = 40
Screen = tuple[str, InlineKeyboardMarkup]


def keyboard(
    rows: Sequence[Sequence[InlineKeyboardButton]],
    i18n: Translator,
    back: CallbackData | None = None,
) -> InlineKeyboardMarkup:
    return rows_keyboard(rows, i18n, back)


def local_today(now: datetime, settings: Settings) -> date:
    return now.astimezone(ZoneInfo(settings.default_timezone)).date()


def user_id_of(message: Message) -> int | None:
    """The Telegram id behind a forwarded message (when its sender allows it) or a contact."""
    if message.contact is not None and message.contact.user_id:
        return message.contact.user_id
    origin = message.forward_origin
    user = getattr(origin, "sender_user", None)
    return user.id if user is not None else None


def hides_sender(message: Message) -> bool:
    """A forwarded message or a shared contact that does not carry a Telegram account (the
    sender's privacy settings hide it, or the contact has none)."""
    if message.contact is not None:
        return not message.contact.user_id
    return message.forward_origin is not None and user_id_of(message) is None


def client_button(client: ClientSummary, purpose: ClientListPurpose) -> InlineKeyboardButton:
    action = ClientAction.book if purpose is ClientListPurpose.book else ClientAction.card
    return button(render.client_line(client), AdminClientCb(action=action, client_id=client.id))


async def clients_screen(
    desk: ClientDesk,
    admin: int,
    query: str,
    purpose: ClientListPurpose,
    page: int,
    i18n: Translator,
) -> Screen:
    """A page of the clients matching `query` (everyone when empty), `PAGE` a page, by name;
    typing another query searches again. To book, a new client can be added here too."""
    found = await desk.find(admin, query, limit=PAGE, offset=page * PAGE)
    key = "admin.clients.found" if query else "admin.clients.all"
    lines = [
        i18n(f"admin.clients.title_{purpose.value}"),
        i18n(key, count=found.total, query=query),
    ]
    if query and not found.total:
        lines = [lines[0], i18n("admin.clients.none", query=query)]
    lines.append(i18n("admin.clients.ask"))
    rows: list[list[InlineKeyboardButton]] = [[client_button(c, purpose)] for c in found.clients]
    pager: list[InlineKeyboardButton] = []
    if page > 0:
        pager.append(button(i18n("admin.btn.prev"), AdminClientsCb(purpose=purpose, page=page - 1)))
    if (page + 1) * PAGE < found.total:
        pager.append(button(i18n("admin.btn.next"), AdminClientsCb(purpose=purpose, page=page + 1)))
    rows.append(pager)
    if purpose is ClientListPurpose.book:
        rows.append(
            [button(i18n("admin.btn.new_client"), AdminNavCb(screen=AdminScreen.new_client))]
        )
    return "\n".join(lines), keyboard(rows, i18n)


async def client_card(
    desk: ClientDesk,
    admin: int,
    client_id: int,
    i18n: Translator,
    settings: Settings,
    now: datetime,
    back: CallbackData | None = None,
) -> Screen:
    """The client's card with its actions; Back to `back` (where the admin came from: an
    appointment's card), else to the clients list."""
    card = await desk.card(admin, client_id, now=now)
    text = render.card_text(card, i18n, settings.currency, settings.default_timezone)

    def act(action: ClientAction, key: str | None = None) -> InlineKeyboardButton:
        label = i18n(key or f"admin.btn.{action.value}")
        return button(label, AdminClientCb(action=action, client_id=client_id))

    block = ClientAction.unblock if card.client.is_blocked else ClientAction.block
    rows = [
        [act(ClientAction.topup), act(ClientAction.adjust)],
        [act(ClientAction.discount), act(ClientAction.notes)],
        [act(block)],
        [act(ClientAction.book, "admin.menu.book")],
    ]
    rows += [
        [
            button(
                render.appointment_line(v, i18n),
                AdminApptCb(action=ApptAction.view, appointment_id=v.id),
            )
        ]
        for v in card.upcoming
    ]
    return text, keyboard(rows, i18n, back or AdminClientsCb(purpose=ClientListPurpose.card))


async def invite_text(
    invites: InviteService,
    admin: int,
    specialist_id: int,
    bot: Bot,
    i18n: Translator,
    settings: Settings,
    now: datetime,
) -> str:
    me = await bot.me()
    invite = await invites.create(
        admin, specialist_id, bot_username=me.username or "", now=now, language=i18n.locale
    )
    return i18n(
        "admin.invite.link",
        specialist=invite.specialist_name,
        expires=formats.day_time(invite.expires_at, settings.default_timezone, i18n.locale),
        url=invite.url,
    )


async def day_pick(
    day_desk: DayDesk, admin: int, kind: DayKind, day: date, page: int, i18n: Translator
) -> Screen:
    """The day view's choice for `day`: a page of locations or of specialists, and the switch
    to the other list."""
    if kind is DayKind.location:
        choices = await day_desk.locations(admin, i18n.locale)
        other, switch = DayKind.specialist, "admin.btn.by_specialist"
    else:
        choices = await day_desk.specialists(admin, i18n.locale)
        other, switch = DayKind.location, "admin.btn.by_location"
    code = day_code(day)
    rows = [
        [button(c.name, AdminDayCb(kind=kind, target_id=c.id, day=code))]
        for c in choices[page * PAGE : (page + 1) * PAGE]
    ]
    pager: list[InlineKeyboardButton] = []
    if page > 0:
        pager.append(
            button(i18n("admin.btn.prev"), AdminDayPickCb(kind=kind, day=code, page=page - 1))
        )
    if (page + 1) * PAGE < len(choices):
        pager.append(
            button(i18n("admin.btn.next"), AdminDayPickCb(kind=kind, day=code, page=page + 1))
        )
    rows.append(pager)
    rows.append([button(i18n(switch), AdminDayPickCb(kind=other, day=code))])
    title = i18n(f"admin.day.pick_{kind.value}", date=day.strftime(render.DATE))
    return title, keyboard(rows, i18n)


async def day_screen(
    day_desk: DayDesk,
    admin: int,
    kind: DayKind,
    target_id: int,
    day: date,
    i18n: Translator,
    settings: Settings,
) -> Screen:
    if kind is DayKind.location:
        view = await day_desk.day(admin, day, location_id=target_id, language=i18n.locale)
    else:
        view = await day_desk.day(admin, day, specialist_id=target_id, language=i18n.locale)
    text = render.day_text(view, i18n, settings.currency)
    rows: list[list[InlineKeyboardButton]] = [
        [
            button(
                i18n("admin.btn.prev"),
                AdminDayCb(kind=kind, target_id=target_id, day=day_code(day - timedelta(days=1))),
            ),
            button(
                i18n("admin.btn.next"),
                AdminDayCb(kind=kind, target_id=target_id, day=day_code(day + timedelta(days=1))),
            ),
            button(i18n("admin.btn.pick_date"), AdminDayDateCb(kind=kind, target_id=target_id)),
        ]
    ]
    zone = ZoneInfo(view.timezone)
    for line in view.lines[:DAY_BUTTONS]:
        a = line.appointment
        label = f"{a.start.astimezone(zone):%H:%M} {line.client_name}"
        rows.append([button(label, AdminApptCb(action=ApptAction.view, appointment_id=a.id))])
    return text, keyboard(rows, i18n, AdminDayPickCb(kind=kind, day=day_code(day)))


@dataclass(frozen=True, slots=True)
class ApptCard:
    """What drawing and acting on an admin's appointment card needs: the services, the admin
    (the acting Telegram id), their language, the settings and the update's time."""

    booking: BookingService
    desk: ClientDesk
    admin: int
    i18n: Translator
    settings: Settings
    now: datetime

    @property
    def actor(self) -> Actor:
        return Actor(kind="admin", id=self.admin)


async def appointment_screen(card: ApptCard, view: AppointmentView) -> Screen:
    """The appointment's card: the client (name, @username, phone), what, when, where and
    what was paid; the actions its status allows, the client's card, and Back to the day."""
    i18n = card.i18n
    client = await card.desk.get(card.admin, view.client_id)
    who = i18n("admin.card.title", name=render.client_line(client))
    text = f"{who}\n{render.appointment_text(view, i18n, card.settings.currency)}"
    rows: list[list[InlineKeyboardButton]] = []
    if view.status == AppointmentStatus.BOOKED:
        rows.append(
            [
                button(
                    i18n("account.btn.cancel"),
                    AdminApptCb(action=ApptAction.cancel, appointment_id=view.id),
                ),
                button(
                    i18n("admin.btn.move"),
                    AdminApptCb(action=ApptAction.move, appointment_id=view.id),
                ),
            ]
        )
        rows.append(
            [
                button(
                    i18n("admin.btn.workplace"),
                    AdminApptCb(action=ApptAction.workplace, appointment_id=view.id),
                )
            ]
        )
    if view.status != AppointmentStatus.CANCELLED:
        rows.append(
            [
                button(
                    i18n("notify.status.completed"),
                    AdminApptCb(action=ApptAction.completed, appointment_id=view.id),
                ),
                button(
                    i18n("notify.status.no_show"),
                    AdminApptCb(action=ApptAction.no_show, appointment_id=view.id),
                ),
            ]
        )
    if mark_undoable(view.status, view.start, view.timezone, card.now):
        rows.append(
            [
                button(
                    i18n("admin.btn.undo_mark"),
                    AdminApptCb(action=ApptAction.undo_mark, appointment_id=view.id),
                )
            ]
        )
    rows.append([button(i18n("admin.btn.client_card"), AdminApptClientCb(appointment_id=view.id))])
    day = view.local_start.date()
    back = AdminDayCb(kind=DayKind.location, target_id=view.location_id, day=day_code(day))
    return text, keyboard(rows, i18n, back)


# Refusals that mean the appointment changed since its card was drawn.
CHANGED = {
    InvalidStateReason.NOT_BOOKED,
    InvalidStateReason.ALREADY_CANCELLED,
    InvalidStateReason.CHANGED_MEANWHILE,
    InvalidStateReason.NOT_UPCOMING,
}


def changed_text(view: AppointmentView, i18n: Translator) -> str:
    """ "Already cancelled" (or the status it has now): nothing was changed."""
    if view.status == AppointmentStatus.CANCELLED:
        return i18n("admin.appt.already_cancelled")
    return i18n("admin.appt.status_now", status=i18n(f"account.status.{view.status}"))


async def show_as_it_is(
    event: CallbackQuery | Message, card: ApptCard, appointment_id: int
) -> None:
    """An action on an appointment that changed meanwhile (cancelled, marked, moved): say so
    and show its card as it is now, with the buttons that still apply. A button's message
    becomes that card; a typed answer gets it as a new message."""
    view = await card.booking.get(appointment_id, actor=card.actor)
    notice = changed_text(view, card.i18n)
    text, markup = await appointment_screen(card, view)
    if isinstance(event, CallbackQuery):
        await event.answer(notice, show_alert=True)
        if isinstance(event.message, Message):
            # Pressed again on the card drawn this way: "not modified", nothing to show.
            with contextlib.suppress(TelegramBadRequest):
                await edit_text(event.message, f"{notice}\n\n{text}", markup)
    else:
        await event.answer(f"{notice}\n\n{text}", reply_markup=markup)


async def refuse_action(
    event: CallbackQuery | Message, exc: DomainError, card: ApptCard, appointment_id: int
) -> None:
    """Tell a refused appointment action: when the appointment changed meanwhile, as it is now
    (`show_as_it_is`); otherwise the refusal (`common.refuse`)."""
    if isinstance(exc, InvalidState) and exc.reason in CHANGED:
        await show_as_it_is(event, card, appointment_id)
    else:
        await refuse(event, exc, card.i18n)


def workplace_screen(
    view: AppointmentView, choices: Sequence[tuple[int, str]], i18n: Translator
) -> Screen:
    """The other workplaces free at the appointment's time, one button each (the move pins
    the appointment there); back to the card."""
    back = AdminApptCb(action=ApptAction.view, appointment_id=view.id)
    view = view.in_language(i18n.locale)
    if not choices:
        return i18n("admin.workplace.none", workplace=view.workplace_name), keyboard([], i18n, back)
    rows = [
        [button(name, AdminWorkplaceCb(appointment_id=view.id, workplace_id=workplace_id))]
        for workplace_id, name in choices
    ]
    return i18n("admin.workplace.pick", workplace=view.workplace_name), keyboard(rows, i18n, back)


async def admins_screen(roles: AdminRoles, admin: int, i18n: Translator) -> Screen:
    admins = await roles.list(admin)
    rows = [
        [
            button(
                i18n("admin.btn.remove_admin", who=render.person_label(a.who, a.tg_id)),
                AdminRemoveCb(tg_id=a.tg_id),
            )
        ]
        for a in admins
        if not a.permanent
    ]
    rows.append([button(i18n("admin.btn.add_admin"), AdminNavCb(screen=AdminScreen.add_admin))])
    return render.admins_text(admins, i18n), keyboard(rows, i18n)


async def audit_screen(
    audit: AuditService, admin: int, page: int, i18n: Translator, settings: Settings
) -> Screen:
    result = await audit.latest(admin, limit=PAGE, offset=page * PAGE, language=i18n.locale)
    has_next = (page + 1) * PAGE < result.total
    text = render.audit_text(result, i18n, settings.default_timezone)
    return text, keyboard([pager_row(i18n, AdminScreen.audit, page, has_next)], i18n)


async def invites_screen(day_desk: DayDesk, admin: int, page: int, i18n: Translator) -> Screen:
    """Every specialist, `PAGE` per page: a one-time link, and unlink a linked account."""
    specialists = await day_desk.specialists(admin, i18n.locale)
    shown = specialists[page * PAGE : (page + 1) * PAGE]
    rows = [
        [button(s.name, AdminInviteCb(action=InviteAction.create, specialist_id=s.id))]
        + (
            [
                button(
                    i18n("admin.btn.unlink"),
                    AdminInviteCb(action=InviteAction.unlink, specialist_id=s.id),
                )
            ]
            if s.linked
            else []
        )
        for s in shown
    ]
    has_next = (page + 1) * PAGE < len(specialists)
    rows.append(pager_row(i18n, AdminScreen.invites, page, has_next))
    return i18n("admin.invite.pick"), keyboard(rows, i18n)
