"""The catalog editor in /admin: create and edit locations (weekly hours, holidays, capacity),
workplaces (the services each hosts, with price, duration and break overrides), services and
specialists (their services with custom price and duration, weekly schedule per location with
an optional pinned workplace, breaks), deactivate and reactivate each.

Every entry kind is driven by the same field table (`bot.services.catalog_editor.FIELDS`):
one screen shows a card, one handler asks for a field, one handler reads what was typed. A
wrong value is answered with what was wrong and the expected format with an example, and the
admin stays in the same step. A change that touches no booked appointment is applied at once;
one that does shows them first with keep / cancel-with-refund (the catalog file's buttons,
`bot.handlers.catalog_file`). The role is checked on the server for every button and message by
the admin gate in front of this router (`bot.middlewares.admin_only`), and again when the
editor applies a change (`CatalogEditor`).
Rules: docs/rules.md#admin-rights.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from dishka import FromDishka

from bot import formats
from bot.config import Settings
from bot.domain.catalog_input import FieldType, is_optional
from bot.domain.errors import DomainError, InputProblem, InvalidInput, NotFound
from bot.domain.walltime import WallTime
from bot.handlers.admin.render import refusal_text
from bot.handlers.admin.screens import local_today
from bot.handlers.admin_only import AdminRouter
from bot.handlers.catalog_file import (
    EXPECTED_KEY,
    PENDING_EDIT_KEY,
    TITLE_KEY,
    forget,
    render_preview,
)
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.admin import AdminInviteCb, InviteAction, button, rows_keyboard
from bot.keyboards.catalog_edit import (
    KIND_NAMES,
    AdmCatalogCb,
    AdmCatalogFieldCb,
    CatKind,
    CatView,
)
from bot.keyboards.catalog_file import CatalogFileAction, CatalogFileCb, catalog_file_keyboard
from bot.services.catalog_editor import (
    FIELDS,
    Card,
    CatalogEditor,
    Edit,
    EditKind,
    EditOp,
    EntityKind,
    FieldSpec,
    LinkKind,
    create_steps,
    field_of,
)
from bot.services.catalog_impact import ImpactChanged
from bot.states import CatalogEdit
from bot.telegram import edit_text

EDIT_KEY = "catalog_edit_typing"
PAGE = 20
KIND_CODES = {name: kind for kind, name in KIND_NAMES.items()}
# The link kind of a parent's services screen, and the parent's column in a link row.
LINKS: dict[CatKind, tuple[LinkKind, str]] = {
    CatKind.workplace: ("workplace_service", "workplace_id"),
    CatKind.specialist: ("service_specialist", "specialist_id"),
}
PARENT_OF_LINK = {KIND_CODES[link]: (parent, column) for parent, (link, column) in LINKS.items()}
# Card buttons beyond the fields: (view, label key).
EXTRAS: dict[CatKind, tuple[tuple[CatView, str], ...]] = {
    CatKind.location: ((CatView.hours, "hours"), (CatView.holidays, "holidays")),
    CatKind.workplace: ((CatView.links, "wp_services"), (CatView.move, "move")),
    CatKind.specialist: (
        (CatView.links, "sp_services"),
        (CatView.schedule, "schedule"),
        (CatView.breaks, "breaks"),
    ),
}
Screen = tuple[str, InlineKeyboardMarkup]


def kind_of(code: CatKind) -> EditKind:
    return KIND_NAMES[code]  # type: ignore[return-value]


@dataclass
class Ctx:
    """One update's admin, language, services, clock and where to answer."""

    admin: int
    i18n: Translator
    editor: CatalogEditor
    state: FSMContext
    chat: Message
    now: datetime
    today: date
    currency: str


# Shown as money on a card; typed (and shown in the "Now:" line of the prompt) as a plain number.
MONEY_FIELDS = (FieldType.MONEY, FieldType.MONEY_OPT)


def _hm(start: WallTime | None, end: WallTime | None) -> str:
    return f"{start}-{end}" if start is not None and end is not None else ""


def _weekday(i18n: Translator, day: int) -> str:
    return i18n(f"booking.weekday.{day}")


def _label(i18n: Translator, spec: FieldSpec) -> str:
    return i18n(f"catalog_edit.field.{spec.key}")


def _format(i18n: Translator, kind: FieldType) -> str:
    lines = [i18n(f"catalog_edit.format.{kind.value}")]
    if is_optional(kind):
        lines.append(i18n("catalog_edit.clear_hint"))
    return "\n".join(lines)


def _back(view: CatView, kind: CatKind, entity_id: int = 0, sub: int = 0) -> AdmCatalogCb:
    return AdmCatalogCb(view=view, kind=kind, id=entity_id, sub=sub)


# --- screens -------------------------------------------------------------------------------


async def list_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen:
    entity: EntityKind = kind_of(cb.kind)  # type: ignore[assignment]
    rows = await ctx.editor.listing(entity, ctx.i18n.locale)
    page = rows[cb.sub * PAGE : (cb.sub + 1) * PAGE]
    buttons = [
        [button(f"{'✅' if active else '⛔'} {label}", _back(CatView.card, cb.kind, i))]
        for i, label, active in page
    ]
    pager = []
    if cb.sub > 0:
        pager.append(
            button(ctx.i18n("admin.btn.prev"), _back(CatView.list, cb.kind, 0, cb.sub - 1))
        )
    if (cb.sub + 1) * PAGE < len(rows):
        pager.append(
            button(ctx.i18n("admin.btn.next"), _back(CatView.list, cb.kind, 0, cb.sub + 1))
        )
    buttons += [pager, [button(ctx.i18n("catalog_edit.btn.new"), _back(CatView.new, cb.kind))]]
    text = ctx.i18n(f"catalog_edit.list.{kind_of(cb.kind)}")
    if not rows:
        text += "\n" + ctx.i18n("catalog_edit.list.empty")
    return text, rows_keyboard(buttons, ctx.i18n, CatalogFileCb(action=CatalogFileAction.screen))


def render_card(card: Card, i18n: Translator, currency: str) -> str:
    """The row's fields, one a line (money in the reader's language; "—" for unset)."""
    title = i18n(f"catalog_edit.card.{card.kind}")
    if card.context:
        title += ": " + " · ".join(card.context)
    lines = [title]
    for spec in FIELDS[card.kind]:
        shown = card.shown(spec)
        if shown is not None and spec.type in MONEY_FIELDS:
            shown = formats.money(shown, currency, i18n.locale)
        lines.append(f"{_label(i18n, spec)}: {shown or '—'}")
    active = "yes" if card.values.get("is_active") else "no"
    lines.append(i18n(f"catalog_edit.active.{active}"))
    return "\n".join(lines)


async def card_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen:
    card = await ctx.editor.card(kind_of(cb.kind), cb.id, ctx.i18n.locale)
    rows = [
        [
            button(
                f"✏️ {_label(ctx.i18n, spec)}",
                AdmCatalogFieldCb(kind=cb.kind, id=cb.id, field=spec.key),
            )
        ]
        for spec in FIELDS[card.kind]
    ]
    rows += [
        [button(ctx.i18n(f"catalog_edit.btn.{key}"), _back(view, cb.kind, cb.id))]
        for view, key in EXTRAS.get(cb.kind, ())
    ]
    if cb.kind is CatKind.specialist:
        invite = AdminInviteCb(action=InviteAction.create, specialist_id=cb.id)
        rows.append([button(ctx.i18n("catalog_edit.btn.invite"), invite)])
    active = bool(card.values.get("is_active"))
    toggle = _back(CatView.toggle, cb.kind, cb.id, 0 if active else 1)
    rows.append([button(ctx.i18n(f"catalog_edit.btn.{'off' if active else 'on'}"), toggle)])
    back = _back(CatView.list, cb.kind)
    if cb.kind in PARENT_OF_LINK:
        parent, column = PARENT_OF_LINK[cb.kind]
        back = _back(CatView.links, parent, int(card.values[column]))
    return render_card(card, ctx.i18n, ctx.currency), rows_keyboard(rows, ctx.i18n, back)


async def hours_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen:
    """A location's weekly hours, or (for a specialist) their hours at location `sub`."""
    if cb.kind is CatKind.location:
        week = await ctx.editor.location_week(cb.id)
        shown = {d: _hm(*h) if h else ctx.i18n("catalog_edit.day_off") for d, h in week.items()}
        title = ctx.i18n(
            "catalog_edit.hours.title",
            name=(await ctx.editor.card("location", cb.id)).name_in(ctx.i18n.locale),
        )
    else:
        shifts = await ctx.editor.shifts(cb.id, cb.sub, ctx.i18n.locale)
        shown = {d: _hm(s, e) + (f" · {w}" if w else "") for d, (s, e, w) in shifts.items()}
        specialist = (await ctx.editor.card("specialist", cb.id)).name_in(ctx.i18n.locale)
        location = (await ctx.editor.card("location", cb.sub)).name_in(ctx.i18n.locale)
        title = ctx.i18n("catalog_edit.schedule.title", name=specialist, location=location)
    lines = [title]
    rows = []
    for day in range(1, 8):
        value = shown.get(day) or ctx.i18n("catalog_edit.day_off")
        lines.append(f"{_weekday(ctx.i18n, day)}: {value}")
        target = AdmCatalogCb(view=CatView.day, kind=cb.kind, id=cb.id, sub=cb.sub, day=day)
        rows.append([button(f"✏️ {_weekday(ctx.i18n, day)}", target)])
    return "\n".join(lines), rows_keyboard(rows, ctx.i18n, _back(CatView.card, cb.kind, cb.id))


async def schedule_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen:
    """A specialist's schedule: pick the location first."""
    if cb.sub:
        return await hours_screen(ctx, cb)
    rows = [
        [button(label, _back(CatView.schedule, cb.kind, cb.id, location_id))]
        for location_id, label, active in await ctx.editor.listing("location", ctx.i18n.locale)
        if active
    ]
    back = _back(CatView.card, cb.kind, cb.id)
    return ctx.i18n("catalog_edit.schedule.pick"), rows_keyboard(rows, ctx.i18n, back)


async def dated_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen:
    """A location's holidays or a specialist's breaks from today, each with Remove, and Add."""
    is_location = cb.kind is CatKind.location
    lines = [
        ctx.i18n("catalog_edit.holidays.title" if is_location else "catalog_edit.breaks.title")
    ]
    rows = []
    entries: list[tuple[int, date, str]] = []
    if is_location:
        for hid, day, working, start, end in await ctx.editor.holidays(cb.id, ctx.today):
            what = (
                _hm(start, end) or ctx.i18n("catalog_edit.holiday.open")
                if working
                else ctx.i18n("catalog_edit.holiday.closed")
            )
            entries.append((hid, day, what))
    else:
        for bid, day, start, end in await ctx.editor.breaks(cb.id, ctx.today):
            entries.append((bid, day, _hm(start, end) or ctx.i18n("catalog_edit.break.all_day")))
    drop = CatView.drop_holiday if is_location else CatView.drop_break
    for entry_id, day, what in entries:
        shown = f"{formats.day(day, ctx.i18n.locale, today=ctx.today)} {what}"
        lines.append(shown)
        label = ctx.i18n("catalog_edit.btn.remove", what=shown)
        rows.append([button(label, _back(drop, cb.kind, cb.id, entry_id))])
    if not entries:
        lines.append(ctx.i18n("catalog_edit.list.empty"))
    add = CatView.add_holiday if is_location else CatView.add_break
    rows.append([button(ctx.i18n("catalog_edit.btn.add"), _back(add, cb.kind, cb.id))])
    return "\n".join(lines), rows_keyboard(rows, ctx.i18n, _back(CatView.card, cb.kind, cb.id))


async def links_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen:
    link_kind, _ = LINKS[cb.kind]
    rows = [
        [button(f"{'✅' if on else '▫️'} {name}", _back(CatView.link, cb.kind, cb.id, service_id))]
        for service_id, name, _, on in await ctx.editor.links(link_kind, cb.id, ctx.i18n.locale)
    ]
    text = ctx.i18n(f"catalog_edit.links.{link_kind}")
    return text, rows_keyboard(rows, ctx.i18n, _back(CatView.card, cb.kind, cb.id))


async def link_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen | None:
    """An active link opens its card; otherwise the service is linked (or linked again)."""
    link_kind, _ = LINKS[cb.kind]
    for service_id, _, link_id, on in await ctx.editor.links(link_kind, cb.id):
        if service_id == cb.sub and on and link_id is not None:
            return await card_screen(ctx, _back(CatView.card, KIND_CODES[link_kind], link_id))
    await propose(ctx, Edit(op=EditOp.LINK, kind=link_kind, id=cb.id, sub=cb.sub))
    return None


# --- asking for a value ----------------------------------------------------------------------


async def ask(
    ctx: Ctx, edit: Edit, question: str, kind: FieldType, current: str | None = None
) -> None:
    """Wait for the admin's typed value of `edit` (state `CatalogEdit.value`)."""
    await ctx.state.set_state(CatalogEdit.value)
    await ctx.state.update_data({EDIT_KEY: edit.model_dump(mode="json")})
    lines = [question]
    if current is not None:
        lines.append(ctx.i18n("catalog_edit.current", value=current))
    lines.append(_format(ctx.i18n, kind))
    await ctx.chat.answer("\n".join(lines))


async def ask_step(ctx: Ctx, edit: Edit) -> None:
    """Ask the create dialogue's next field."""
    spec = next(s for s in create_steps(edit.edit_kind) if s.key not in edit.texts)
    question = ctx.i18n(
        "catalog_edit.ask_new",
        field=_label(ctx.i18n, spec),
        kind=ctx.i18n(f"catalog_edit.card.{edit.kind}"),
    )
    await ask(ctx, edit, question, spec.type)


async def new_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen | None:
    if cb.kind is CatKind.workplace and not cb.sub:
        rows = [
            [button(label, _back(CatView.new, cb.kind, 0, location_id))]
            for location_id, label, active in await ctx.editor.listing("location", ctx.i18n.locale)
            if active
        ]
        return ctx.i18n("catalog_edit.workplace.pick_location"), rows_keyboard(
            rows, ctx.i18n, _back(CatView.list, cb.kind)
        )
    if cb.kind not in (CatKind.location, CatKind.workplace, CatKind.service, CatKind.specialist):
        raise NotFound(cb.kind.value)
    if cb.sub:
        await ctx.editor.card("location", cb.sub)  # NotFound for a location that is gone
    await ask_step(ctx, Edit(op=EditOp.CREATE, kind=kind_of(cb.kind), sub=cb.sub))
    return None


async def day_screen(ctx: Ctx, cb: AdmCatalogCb) -> None:
    if cb.kind is CatKind.location:
        edit = Edit(op=EditOp.HOURS, id=cb.id, day=cb.day)
        question = ctx.i18n("catalog_edit.hours.ask", day=_weekday(ctx.i18n, cb.day))
        await ask(ctx, edit, question, FieldType.HOURS)
        return
    edit = Edit(op=EditOp.SHIFT, id=cb.id, sub=cb.sub, day=cb.day)
    question = ctx.i18n("catalog_edit.shift.ask", day=_weekday(ctx.i18n, cb.day))
    await ask(ctx, edit, question, FieldType.SHIFT)


async def add_dated(ctx: Ctx, cb: AdmCatalogCb) -> None:
    if cb.kind is CatKind.location:
        edit = Edit(op=EditOp.HOLIDAY, id=cb.id)
        await ask(ctx, edit, ctx.i18n("catalog_edit.holiday.ask"), FieldType.HOLIDAY)
        return
    await ask(
        ctx, Edit(op=EditOp.BREAK, id=cb.id), ctx.i18n("catalog_edit.break.ask"), FieldType.DATED
    )


async def move_screen(ctx: Ctx, cb: AdmCatalogCb) -> Screen | None:
    """Move a workplace: pick the new location (the active ones but its own), then the
    change is previewed like any other (its booked appointments stay where they were booked,
    so they are listed with keep / cancel)."""
    card = await ctx.editor.card("workplace", cb.id)
    if cb.sub:
        await propose(ctx, Edit(op=EditOp.MOVE, kind="workplace", id=cb.id, sub=cb.sub))
        return None
    rows = [
        [button(label, _back(CatView.move, cb.kind, cb.id, location_id))]
        for location_id, label, active in await ctx.editor.listing("location", ctx.i18n.locale)
        if active and location_id != card.values["location_id"]
    ]
    text = ctx.i18n("catalog_edit.workplace.move", name=card.name_in(ctx.i18n.locale))
    if not rows:
        text += "\n" + ctx.i18n("catalog_edit.list.empty")
    return text, rows_keyboard(rows, ctx.i18n, _back(CatView.card, cb.kind, cb.id))


async def act(ctx: Ctx, cb: AdmCatalogCb) -> None:
    """Buttons that change something at once: deactivate/reactivate, remove a holiday or a
    break."""
    if cb.view is CatView.toggle:
        card = await ctx.editor.card(kind_of(cb.kind), cb.id)
        if bool(card.values.get("is_active")) == bool(cb.sub):
            raise NotFound("already so")
        edit = Edit(op=EditOp.TOGGLE, kind=kind_of(cb.kind), id=cb.id, active=bool(cb.sub))
    elif cb.view is CatView.drop_holiday:
        edit = Edit(op=EditOp.UNHOLIDAY, id=cb.id, sub=cb.sub)
    else:
        edit = Edit(op=EditOp.UNBREAK, id=cb.id, sub=cb.sub)
    await propose(ctx, edit)


VIEWS: dict[CatView, Callable[[Ctx, AdmCatalogCb], Awaitable[Screen | None]]] = {
    CatView.list: list_screen,
    CatView.card: card_screen,
    CatView.new: new_screen,
    CatView.toggle: act,
    CatView.hours: hours_screen,
    CatView.day: day_screen,
    CatView.holidays: dated_screen,
    CatView.add_holiday: add_dated,
    CatView.drop_holiday: act,
    CatView.links: links_screen,
    CatView.link: link_screen,
    CatView.schedule: schedule_screen,
    CatView.breaks: dated_screen,
    CatView.add_break: add_dated,
    CatView.drop_break: act,
    CatView.move: move_screen,
}
# Which kinds each view serves (anything else is a forged button).
ENTRY_KINDS = frozenset({CatKind.location, CatKind.workplace, CatKind.service, CatKind.specialist})
VIEW_KINDS: dict[CatView, frozenset[CatKind]] = {
    CatView.list: ENTRY_KINDS,
    CatView.card: frozenset(CatKind),
    CatView.new: ENTRY_KINDS,
    CatView.toggle: frozenset(CatKind),
    CatView.hours: frozenset({CatKind.location}),
    CatView.day: frozenset({CatKind.location, CatKind.specialist}),
    CatView.holidays: frozenset({CatKind.location}),
    CatView.add_holiday: frozenset({CatKind.location}),
    CatView.drop_holiday: frozenset({CatKind.location}),
    CatView.links: frozenset(LINKS),
    CatView.link: frozenset(LINKS),
    CatView.schedule: frozenset({CatKind.specialist}),
    CatView.breaks: frozenset({CatKind.specialist}),
    CatView.add_break: frozenset({CatKind.specialist}),
    CatView.drop_break: frozenset({CatKind.specialist}),
    CatView.move: frozenset({CatKind.workplace}),
}
# Views that act on an existing row: `id` must be set.
NEEDS_ID = frozenset(VIEWS) - {CatView.list, CatView.new}


# --- a change: preview, then apply at once or ask keep / cancel --------------------------------


def after(edit: Edit, created_id: int | None) -> AdmCatalogCb:
    """The screen that shows what `edit` changed."""
    op = edit.op
    if op in (EditOp.FIELD, EditOp.TOGGLE, EditOp.MOVE):
        return _back(CatView.card, KIND_CODES[edit.edit_kind], edit.id)
    if op is EditOp.CREATE:
        return _back(CatView.card, KIND_CODES[edit.edit_kind], created_id or 0)
    if op is EditOp.LINK:
        return _back(
            CatView.link,
            KIND_CODES["workplace" if edit.kind == "workplace_service" else "specialist"],
            edit.id,
            edit.sub,
        )
    if op is EditOp.HOURS:
        return _back(CatView.hours, CatKind.location, edit.id)
    if op is EditOp.SHIFT:
        return _back(CatView.schedule, CatKind.specialist, edit.id, edit.sub)
    if op in (EditOp.HOLIDAY, EditOp.UNHOLIDAY):
        return _back(CatView.holidays, CatKind.location, edit.id)
    return _back(CatView.breaks, CatKind.specialist, edit.id)


async def propose(ctx: Ctx, edit: Edit) -> None:
    """Build the change and preview it: nothing touched -> applied now, and the changed screen
    is shown; otherwise the touched appointments with keep / cancel-with-refund. Raises
    `InvalidInput` (a wrong value) and `NotFound` (a row that is gone) to the caller."""
    proposal = await ctx.editor.build(edit, ctx.today)
    warning = ctx.i18n("catalog_edit.shift.outside") if proposal.warning else None
    impact = await ctx.editor.preview(proposal.change, now=ctx.now)
    if not impact.touched:
        try:
            done = await ctx.editor.apply(
                proposal.change,
                admin_tg_id=ctx.admin,
                cancel_touched=False,
                expected=frozenset(),
                now=ctx.now,
            )
        except ImpactChanged:
            impact = await ctx.editor.preview(proposal.change, now=ctx.now)
        else:
            await ctx.state.set_state(None)
            await ctx.state.update_data({EDIT_KEY: None})
            await ctx.chat.answer(
                "\n".join(filter(None, [ctx.i18n("catalog_edit.saved"), warning]))
            )
            shown = await VIEWS[after(edit, done.created_id).view](
                ctx, after(edit, done.created_id)
            )
            if shown is not None:
                await ctx.chat.answer(shown[0], reply_markup=shown[1])
            return
    title = "\n".join(filter(None, [ctx.i18n("catalog_edit.preview"), warning]))
    await ctx.state.set_state(None)
    await forget(ctx.state)
    await ctx.state.update_data(
        {
            EDIT_KEY: None,
            PENDING_EDIT_KEY: edit.model_dump(mode="json"),
            EXPECTED_KEY: sorted(impact.ids),
            TITLE_KEY: title,
        }
    )
    await ctx.chat.answer(
        render_preview(impact, ctx.i18n, title),
        reply_markup=catalog_file_keyboard(len(impact.touched), ctx.i18n),
    )


def wrong_input(exc: InvalidInput, kind: FieldType, i18n: Translator) -> str:
    """What was wrong, then the expected format with an example."""
    return "\n".join([refusal_text(exc, i18n) or "", _format(i18n, kind)])


def typed_kind(edit: Edit) -> FieldType:
    """The type of the value `edit` waits for."""
    if edit.op is EditOp.FIELD:
        return field_of(edit.edit_kind, edit.field).type
    if edit.op is EditOp.CREATE:
        return next(s for s in create_steps(edit.edit_kind) if s.key not in edit.texts).type
    return {
        EditOp.HOURS: FieldType.HOURS,
        EditOp.SHIFT: FieldType.SHIFT,
        EditOp.HOLIDAY: FieldType.HOLIDAY,
    }.get(edit.op, FieldType.DATED)


# --- handlers --------------------------------------------------------------------------------


async def _pressed(
    query: CallbackQuery,
    deps: tuple[FSMContext, Translator, CatalogEditor, Settings, datetime],
    valid: bool,
    run: Callable[[Ctx], Awaitable[Screen | None]],
) -> None:
    """A press of an editor button (the sender an admin: the router's gate checked it), a
    forged or stale button answered as such, then `run` (its screen replaces the message)."""
    state, i18n, editor, settings, now = deps
    message = query.message if isinstance(query.message, Message) else None
    if message is None or not valid:
        await query.answer(i18n("catalog.stale"), show_alert=True)
        return
    ctx = Ctx(
        query.from_user.id,
        i18n,
        editor,
        state,
        message,
        now,
        local_today(now, settings),
        settings.currency,
    )
    try:
        shown = await run(ctx)
    except NotFound:
        await query.answer(i18n("catalog.stale"), show_alert=True)
        return
    except DomainError as exc:
        text = refusal_text(exc, i18n)
        if text is None:
            raise
        await query.answer(text, show_alert=True)
        return
    await query.answer()
    if shown is not None:
        await edit_text(message, shown[0], shown[1])


async def on_catalog(
    query: CallbackQuery,
    callback_data: AdmCatalogCb,
    state: FSMContext,
    i18n: Translator,
    editor: FromDishka[CatalogEditor],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    cb = callback_data
    valid = (
        cb.kind in VIEW_KINDS[cb.view]
        and (cb.view not in NEEDS_ID or cb.id > 0)
        and (cb.view is not CatView.day or cb.day > 0)
    )
    deps = (state, i18n, editor, settings, now)
    await _pressed(query, deps, valid, lambda ctx: VIEWS[cb.view](ctx, cb))


async def field_prompt(ctx: Ctx, cb: AdmCatalogFieldCb) -> None:
    """Ask for a new value of one field, showing the current one."""
    kind = kind_of(cb.kind)
    spec = field_of(kind, cb.field)
    card = await ctx.editor.card(kind, cb.id)
    edit = Edit(op=EditOp.FIELD, kind=kind, id=cb.id, field=spec.key)
    question = ctx.i18n("catalog_edit.ask", field=_label(ctx.i18n, spec))
    await ask(ctx, edit, question, spec.type, card.shown(spec) or "—")


async def on_field(
    query: CallbackQuery,
    callback_data: AdmCatalogFieldCb,
    state: FSMContext,
    i18n: Translator,
    editor: FromDishka[CatalogEditor],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    deps = (state, i18n, editor, settings, now)
    await _pressed(query, deps, True, lambda ctx: field_prompt(ctx, callback_data))


async def on_text(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    editor: FromDishka[CatalogEditor],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None:
        return
    data: dict[str, Any] = await state.get_data()
    try:
        edit = Edit.model_validate(data.get(EDIT_KEY) or {})
    except ValueError:  # nothing being typed (an expired conversation)
        await state.set_state(None)
        await message.answer(i18n("catalog.stale"))
        return
    ctx = Ctx(
        message.from_user.id,
        i18n,
        editor,
        state,
        message,
        now,
        local_today(now, settings),
        settings.currency,
    )
    text = message.text or ""
    kind = typed_kind(edit)
    try:
        if edit.op is EditOp.CREATE:
            key = next(s for s in create_steps(edit.edit_kind) if s.key not in edit.texts).key
            await editor.check_step(edit, key, text, ctx.today)
            edit = edit.model_copy(update={"texts": {**edit.texts, key: text}})
            if len(edit.texts) < len(create_steps(edit.edit_kind)):
                await ask_step(ctx, edit)
                return
        else:
            edit = edit.model_copy(update={"text": text})
        await propose(ctx, edit)
    except InvalidInput as exc:
        if edit.op is EditOp.CREATE and exc.reason is InputProblem.NAME_TAKEN:
            # The name went first: ask it again, keep the rest.
            edit = edit.model_copy(
                update={"texts": {k: v for k, v in edit.texts.items() if k != "name"}}
            )
            await state.update_data({EDIT_KEY: edit.model_dump(mode="json")})
            kind = FieldType.NAME
        await message.answer(wrong_input(exc, kind, i18n))
    except NotFound:
        await state.set_state(None)
        await message.answer(i18n("catalog.stale"))


def setup_router() -> Router:
    router = AdminRouter(name="catalog_edit")
    router.callback_query.register(on_catalog, AdmCatalogCb.filter())
    router.callback_query.register(on_field, AdmCatalogFieldCb.filter())
    router.message.register(on_text, CatalogEdit.value, F.text)
    return router
