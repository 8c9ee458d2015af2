"""The screens of the booking flow: each builds the text and keyboard of one step from the
draft, re-validating every earlier choice against the current catalog (reads only: drawing a
screen never writes to Redis or PostgreSQL). A step with a single choice is taken automatically
and the next screen is returned instead (its header says what was chosen). Which screen follows
a use case is decided in `steps`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from bot import formats
from bot.handlers.booking.context import ORDER, Deps, Draft
from bot.handlers.render_booking import (
    Chosen,
    SummaryFacts,
    duration_range,
    price_range,
    summary_text,
    time_buttons,
    voice,
    with_header,
    with_notice,
)
from bot.i18n import Translator
from bot.keyboards.admin import desk_pay_button
from bot.keyboards.booking import (
    BookStep,
    back_keyboard,
    choice_keyboard,
    contact_button,
    dates_keyboard,
    pay_button,
    summary_keyboard,
    times_keyboard,
    top_up_button,
    waitlist_keyboard,
)
from bot.services.booking_flow import SummaryQuote
from bot.services.booking_menu import LocationItem, ServiceItem, SpecialistItem
from bot.services.change_policy import change_policy

# How many free dates offer their first time on the date step.
NEAREST_DAYS = 3


@dataclass(slots=True)
class Screen:
    """What to show. `step` None means the flow is over (the draft should be dropped)."""

    text: str
    markup: InlineKeyboardMarkup | None
    step: BookStep | None


@dataclass(slots=True)
class Picked:
    """The draft's choices resolved to catalog items (None where not chosen or no longer valid)."""

    location: LocationItem | None = None
    service: ServiceItem | None = None
    specialists: list[SpecialistItem] | None = None
    specialist: SpecialistItem | None = None

    @property
    def tz(self) -> ZoneInfo:
        assert self.location is not None
        return ZoneInfo(self.location.timezone)


def previous_step(draft: Draft, step: BookStep) -> BookStep | None:
    """Where Back goes from `step`: the nearest earlier step that was not chosen automatically."""
    for earlier in reversed(ORDER[: ORDER.index(step)]):
        if not draft.is_auto(earlier):
            return earlier
    return None


def chosen(draft: Draft, picked: Picked, *, day: date | None = None) -> Chosen:
    return Chosen(
        location=picked.location.name if picked.location else None,
        service=picked.service.name if picked.service else None,
        specialist=picked.specialist.name if picked.specialist else None,
        any_specialist=draft.any_specialist,
        day=day,
        auto=frozenset(
            step.name.lower()
            for step in (BookStep.LOCATION, BookStep.SERVICE, BookStep.SPECIALIST)
            if draft.is_auto(step)
        ),
    )


async def resolve(deps: Deps, draft: Draft) -> Picked:
    """Look up the draft's location, service and specialist; an id that is no longer bookable
    resolves to None (and the draft forgets it and everything after it)."""
    picked = Picked()
    if draft.location_id is None:
        return picked
    picked.location = await deps.menu.location(draft.location_id)
    if picked.location is None:
        draft.location_id = None
        draft.forget_after(BookStep.LOCATION)
        return picked
    if draft.service_id is None:
        return picked
    services = await deps.menu.services(picked.location.id)
    picked.service = next((s for s in services if s.id == draft.service_id), None)
    if picked.service is None:
        draft.forget_after(BookStep.LOCATION)
        return picked
    picked.specialists = await deps.menu.specialists(picked.location.id, picked.service.id)
    if draft.specialist_id is not None:
        picked.specialist = next(
            (s for s in picked.specialists if s.id == draft.specialist_id), None
        )
        if picked.specialist is None:
            draft.forget_after(BookStep.SERVICE)
    return picked


def _nothing_offered(
    draft: Draft, step: BookStep, header: Chosen, key: str, i18n: Translator, notice: str
) -> Screen:
    """The step has nothing to choose from: say so, with Back when there is a step to go back to."""
    back = previous_step(draft, step) is not None
    text = with_header(header, i18n(key), i18n)
    markup = back_keyboard(draft.flow, step, i18n) if back else None
    return Screen(with_notice(notice, text), markup, step if back else None)


async def locations(deps: Deps, draft: Draft, *, notice: str = "") -> Screen:
    i18n = deps.i18n
    items = await deps.menu.locations()
    if not items:
        return Screen(with_notice(notice, i18n("booking.none.locations")), None, None)
    if len(items) == 1:
        draft.location_id = items[0].id
        draft.set_auto(BookStep.LOCATION, True)
        return await services(deps, draft, Picked(location=items[0]), notice=notice)
    draft.set_auto(BookStep.LOCATION, False)
    markup = choice_keyboard(
        draft.flow, BookStep.LOCATION, [(i.id, i.name) for i in items], i18n, back=False
    )
    return Screen(with_notice(notice, i18n("booking.ask.location")), markup, BookStep.LOCATION)


async def services(deps: Deps, draft: Draft, picked: Picked, *, notice: str = "") -> Screen:
    i18n = deps.i18n
    assert picked.location is not None
    items = await deps.menu.services(picked.location.id)
    back = previous_step(draft, BookStep.SERVICE) is not None
    header = chosen(draft, Picked(location=picked.location))
    if not items:
        return _nothing_offered(
            draft, BookStep.SERVICE, header, "booking.none.services", i18n, notice
        )
    if len(items) == 1:
        draft.service_id = items[0].id
        draft.set_auto(BookStep.SERVICE, True)
        picked.service = items[0]
        picked.specialists = await deps.menu.specialists(picked.location.id, items[0].id)
        return await specialists(deps, draft, picked, notice=notice)
    draft.set_auto(BookStep.SERVICE, False)
    labels = [
        (
            s.id,
            i18n(
                "booking.label.service",
                name=s.name,
                price=price_range(s.min_price, s.max_price, deps.currency, i18n),
                duration=duration_range(s.min_duration, s.max_duration, i18n),
            ),
        )
        for s in items
    ]
    markup = choice_keyboard(draft.flow, BookStep.SERVICE, labels, i18n, back=back)
    text = with_header(header, i18n("booking.ask.service"), i18n)
    return Screen(with_notice(notice, text), markup, BookStep.SERVICE)


async def specialists(deps: Deps, draft: Draft, picked: Picked, *, notice: str = "") -> Screen:
    i18n = deps.i18n
    assert picked.location is not None and picked.service is not None
    items = picked.specialists
    if items is None:
        items = await deps.menu.specialists(picked.location.id, picked.service.id)
    back = previous_step(draft, BookStep.SPECIALIST) is not None
    header = chosen(draft, Picked(location=picked.location, service=picked.service))
    if not items:
        return _nothing_offered(
            draft, BookStep.SPECIALIST, header, "booking.none.specialists", i18n, notice
        )
    if len(items) == 1:
        draft.specialist_id = items[0].id
        draft.any_specialist = False
        draft.set_auto(BookStep.SPECIALIST, True)
        picked.specialist = items[0]
        return await dates(deps, draft, picked, notice=notice)
    draft.set_auto(BookStep.SPECIALIST, False)
    # A price is shown next to a name only when specialists' prices differ.
    prices = {p for s in items for p in (s.min_price, s.max_price)}
    labels = [
        (
            s.id,
            i18n(
                "booking.label.specialist",
                name=s.name,
                price=price_range(s.min_price, s.max_price, deps.currency, i18n),
            )
            if len(prices) > 1
            else s.name,
        )
        for s in items
    ]
    any_label = i18n("booking.btn.any_specialist")
    if len(prices) > 1:  # "any" is definite: it shows what it costs at least
        any_label = i18n(
            "booking.label.specialist",
            name=any_label,
            price=formats.money_from(min(prices), deps.currency, i18n.locale),
        )
    labels.append((0, any_label))
    markup = choice_keyboard(draft.flow, BookStep.SPECIALIST, labels, i18n, back=back)
    text = with_header(header, i18n("booking.ask.specialist"), i18n)
    return Screen(with_notice(notice, text), markup, BookStep.SPECIALIST)


async def dates(deps: Deps, draft: Draft, picked: Picked, *, notice: str = "") -> Screen:
    i18n = deps.i18n
    assert picked.location is not None and picked.service is not None
    choices = await deps.availability.date_choices(
        location_id=picked.location.id,
        service_id=picked.service.id,
        specialist_id=draft.chosen_specialist,
        now=deps.now,
        client_id=deps.client_id,
    )
    # A full date is offered too: picking it leads to the empty time step, the waitlist offer.
    days = sorted([*choices.free, *choices.full])
    draft.offered_days = [d.toordinal() for d in days]
    back = previous_step(draft, BookStep.DATE) is not None
    header = chosen(draft, picked)
    if not days:
        text = with_header(
            header, i18n("booking.none.dates", days=deps.settings.booking_horizon_days), i18n
        )
        markup = choice_keyboard(draft.flow, BookStep.DATE, [], i18n, back=back)
        return Screen(with_notice(notice, text), markup, BookStep.DATE)
    # The nearest free times (one a day, the first NEAREST_DAYS free dates): one press books.
    today = formats.today_in(picked.tz, deps.now)
    nearest = [
        (int(start.timestamp()), formats.day_time(start, picked.tz, i18n.locale, today=today))
        for start in choices.firsts[:NEAREST_DAYS]
    ]
    draft.offered_near = [start for start, _ in nearest]
    markup = dates_keyboard(
        draft.flow,
        days,
        draft.date_page,
        i18n,
        back=back,
        full=frozenset(choices.full),
        nearest=nearest,
    )
    ask = i18n("booking.ask.date")
    if nearest and draft.date_page == 0:
        client = desk_client(deps, draft)
        ask = f"{i18n(voice('booking.hint.nearest', client), client=client)}\n{ask}"
    if choices.full:
        ask = f"{ask}\n{i18n('booking.hint.full_dates')}"
    text = with_header(header, ask, i18n)
    return Screen(with_notice(notice, text), markup, BookStep.DATE)


async def times(
    deps: Deps, draft: Draft, picked: Picked, *, notice: str = "", lost: int | None = None
) -> Screen:
    """Free times of the chosen date; none left -> offer the waitlist for that date.

    `lost` (a start, epoch seconds) is a time the hold or the booking just refused: it is not
    offered again on this screen even if the day's free times still show it (a hold that raced
    a commit, or a cached day not yet refreshed), so a lost press always changes the screen
    instead of leaving the client before the same button (docs/rules.md#holds).
    """
    i18n = deps.i18n
    assert picked.location is not None and picked.service is not None and draft.day is not None
    day = date.fromordinal(draft.day)
    offers = await deps.availability.day_slots(
        location_id=picked.location.id,
        service_id=picked.service.id,
        specialist_id=draft.chosen_specialist,
        day=day,
        now=deps.now,
        client_id=deps.client_id,
    )
    if lost is not None:
        offers = [o for o in offers if int(o.start.timestamp()) != lost]
    draft.offered_times = [int(o.start.timestamp()) for o in offers]
    draft.start = None
    draft.hold_id = None
    header = chosen(draft, picked, day=day)
    if not offers:
        client = desk_client(deps, draft)
        key = voice("booking.none.times", client)
        markup = waitlist_keyboard(draft.flow, i18n, client=client)
        if client is not None and not draft.for_chat:
            # No Telegram: no waitlist offer could reach them (docs/rules.md#waitlist).
            key, markup = (
                "admin.desk.none.times_no_chat",
                back_keyboard(draft.flow, BookStep.TIME, i18n),
            )
        none = i18n(key, date=formats.day(day, i18n.locale), client=client)
        return Screen(with_notice(notice, with_header(header, none, i18n)), markup, BookStep.TIME)
    # Many times: one part of the day at a time, with the parts as tabs above.
    buttons = time_buttons([o.start for o in offers], picked.tz)
    markup = times_keyboard(draft.flow, buttons, draft.time_page, i18n)
    # The zone in words, and only when it can be misread: the location's zone is not the one
    # the deployment (and so, as far as we know, the client) lives in (docs/rules.md#time-zones).
    note = formats.zone_note(
        [picked.location.timezone], deps.settings.default_timezone, i18n.locale
    )
    zone = f" ({note})" if note else ""
    text = with_header(header, i18n("booking.ask.time", zone=zone), i18n)
    return Screen(with_notice(notice, text), markup, BookStep.TIME)


def summary_screen(
    deps: Deps, draft: Draft, picked: Picked, quote: SummaryQuote, *, notice: str = ""
) -> Screen:
    """The summary of a held time, as `BookingFlow` quoted it (drawing it changes nothing)."""
    assert picked.location is not None and picked.service is not None
    i18n = deps.i18n
    facts = SummaryFacts(
        location=picked.location.name,
        address=picked.location.address,
        tz=picked.tz,
        service=picked.service.name,
        duration_min=int((quote.end - quote.start).total_seconds() // 60),
        # The menu names the specialist in the client's language.
        specialist=next(
            (s.name for s in picked.specialists or [] if s.id == quote.specialist_id),
            quote.specialist_name,
        ),
        any_specialist=draft.any_specialist,
        start=quote.start,
        price=quote.price,
        discount_percent=quote.discount_percent,
        discount=quote.discount,
        charge=quote.charge,
        balance=quote.balance,
        hold_expires_at=quote.hold_expires_at,
        hold_ttl_seconds=deps.settings.hold_ttl_seconds,
        policy=change_policy(quote.start, deps.now, deps.settings),
        today=formats.today_in(picked.tz, deps.now),
    )
    missing = quote.charge - quote.balance
    markup = summary_markup(deps, draft.flow, missing if missing > 0 else None)
    text = summary_text(facts, deps.currency, i18n, client=desk_client(deps, draft))
    return Screen(with_notice(notice, text), markup, BookStep.SUMMARY)


def desk_client(deps: Deps, draft: Draft) -> str | None:
    """The client's name when an admin books for them at the desk, else None."""
    return draft.desk_client if deps.booked_by is not None else None


def summary_markup(deps: Deps, flow: str, missing: Decimal | None) -> InlineKeyboardMarkup:
    """The summary's buttons. With money missing: at the desk, "Paid N at the desk — book"
    (the admin records the client's payment; never an invoice to the admin); for the client,
    "Pay N and book" as the main button when card payments are on; else a button that opens
    a chat with the salon (`ADMIN_CONTACT`), or the wallet when no contact is set, so the
    client is never left at a dead end."""
    i18n = deps.i18n
    if missing is None:
        return summary_keyboard(flow, i18n)
    amount = formats.money(missing, deps.currency, i18n.locale)
    if deps.booked_by is not None:
        return summary_keyboard(flow, i18n, pay=desk_pay_button(i18n, flow, amount))
    if deps.settings.payments_enabled:
        pay = pay_button(flow, i18n, missing=amount)
        return summary_keyboard(flow, i18n, pay=pay)
    url = deps.settings.admin_contact_url
    top_up = (
        contact_button(i18n, url)
        if url is not None
        else top_up_button(i18n, payments_enabled=False)
    )
    return summary_keyboard(flow, i18n, top_up=top_up)


__all__ = [
    "Picked",
    "Screen",
    "previous_step",
    "resolve",
    "summary_markup",
    "summary_screen",
]
