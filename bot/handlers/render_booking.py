"""Formatting for the booking conversation: money, local dates and times, the summary and the
confirmation. Pure functions of their arguments (texts come from the `booking.po` catalogs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot import formats
from bot.i18n import Translator
from bot.services.change_policy import ChangePolicy


def price_range(low: Decimal, high: Decimal, currency: str, i18n: Translator) -> str:
    """`1 800 ₽` for one price, `from 1 500 ₽` for several (the lowest)."""
    if low == high:
        return formats.money(low, currency, i18n.locale)
    return formats.money_from(low, currency, i18n.locale)


def duration_range(low: int, high: int, i18n: Translator) -> str:
    if low == high:
        return i18n("booking.duration", minutes=low)
    return i18n("booking.duration_range", low=low, high=high)


def time_buttons(starts: Sequence[datetime], tz: ZoneInfo) -> list[tuple[int, str]]:
    """(Unix timestamp, `HH:MM` local) for the time keyboard."""
    return [(int(s.timestamp()), formats.hhmm(s, tz)) for s in starts]


def short_when(instant: datetime, tz: ZoneInfo, i18n: Translator) -> str:
    """`Tue, 4 Mar, 16:30` / `вт, 4 мар., 16:30`: an instant at the location, in the client's
    language (`bot.formats`, from Babel's CLDR data)."""
    local = instant.astimezone(tz)
    return f"{formats.day(local.date(), i18n.locale)}, {formats.hhmm(local, tz)}"


def policy_line(policy: ChangePolicy, tz: ZoneInfo, i18n: Translator) -> str:
    """What cancelling or moving costs, said before the money is taken and on the
    confirmation: free until the deadline, or (already past it) no move and the late refund."""
    if policy.late_refund_percent > 0:
        late = i18n("booking.policy.late_percent", percent=policy.late_refund_percent)
    else:
        late = i18n("booking.policy.late_none")
    if policy.free_now:
        return i18n(
            "booking.policy.free", deadline=short_when(policy.free_until, tz, i18n), late=late
        )
    return i18n("booking.policy.not_free", hours=policy.free_cancel_hours, late=late)


@dataclass(frozen=True, slots=True)
class Chosen:
    """What the client has picked so far, as names (None = not picked yet); `auto` names the
    steps (`location`, `service`, `specialist`) that were chosen because they had one option."""

    location: str | None = None
    service: str | None = None
    specialist: str | None = None
    any_specialist: bool = False
    day: date | None = None
    auto: frozenset[str] = frozenset()


def chosen_header(chosen: Chosen, i18n: Translator) -> str:
    """The lines above every step: what is already chosen, and what was chosen automatically."""
    note = f" {i18n('booking.chosen.auto')}"

    def line(step: str, text: str) -> str:
        return text + note if step in chosen.auto else text

    lines = []
    if chosen.location:
        lines.append(line("location", i18n("booking.chosen.location", name=chosen.location)))
    if chosen.service:
        lines.append(line("service", i18n("booking.chosen.service", name=chosen.service)))
    if chosen.any_specialist:
        lines.append(i18n("booking.chosen.any"))
    elif chosen.specialist:
        lines.append(line("specialist", i18n("booking.chosen.specialist", name=chosen.specialist)))
    if chosen.day:
        lines.append(i18n("booking.chosen.date", date=formats.day(chosen.day, i18n.locale)))
    return "\n".join(lines)


def with_notice(notice: str | None, text: str) -> str:
    """A notice (why the screen changed) above the screen's text."""
    return f"{notice}\n\n{text}" if notice else text


def with_header(chosen: Chosen, body: str, i18n: Translator) -> str:
    header = chosen_header(chosen, i18n)
    return f"{header}\n\n{body}" if header else body


@dataclass(frozen=True, slots=True)
class SummaryFacts:
    location: str
    address: str | None
    tz: ZoneInfo
    service: str
    duration_min: int
    specialist: str
    any_specialist: bool
    start: datetime
    price: Decimal
    discount_percent: Decimal
    discount: Decimal
    charge: Decimal  # price - discount, what is debited
    balance: Decimal
    hold_expires_at: datetime
    hold_ttl_seconds: int
    policy: ChangePolicy
    today: date  # the location's local date now: the start reads "Today" / "Tomorrow" from it


def voice(key: str, client: str | None) -> str:
    """The text key that speaks to the client (`booking.…`), or, at the desk, its twin that
    names the client `client` for the admin booking for them (`admin.desk.…`)."""
    return key.replace("booking.", "admin.desk.", 1) if client is not None else key


def summary_text(
    facts: SummaryFacts, currency: str, i18n: Translator, *, client: str | None = None
) -> str:
    """The summary of a held time; `client` names the client when an admin books for them
    at the desk (the texts then speak to the admin about the client, not to "you")."""
    local = facts.start.astimezone(facts.tz)
    discount_line = ""
    if facts.discount > 0:
        discount_line = i18n(
            "booking.summary.discount",
            percent=f"{facts.discount_percent.normalize():f}",
            discount=formats.money(facts.discount, currency, i18n.locale),
            amount=formats.money(facts.charge, currency, i18n.locale),
        )
    after = facts.balance - facts.charge
    if after < 0:
        # The balance and what is missing: never a "balance after" that the booking cannot reach.
        money_line = i18n(
            voice("booking.summary.short", client),
            balance=formats.money(facts.balance, currency, i18n.locale),
            missing=formats.money(-after, currency, i18n.locale),
            client=client,
        )
    else:
        money_line = i18n(
            "booking.summary.after", balance=formats.money(after, currency, i18n.locale)
        )
    specialist = (
        i18n(voice("booking.summary.any", client), name=facts.specialist, client=client)
        if facts.any_specialist
        else facts.specialist
    )
    return i18n(
        voice("booking.summary", client),
        client=client,
        location=facts.location,
        address=f", {facts.address}" if facts.address else "",
        service=facts.service,
        duration=facts.duration_min,
        specialist=specialist,
        date=formats.day(local.date(), i18n.locale, today=facts.today),
        time=formats.hhmm(local, facts.tz),
        timezone=formats.zone_name(facts.tz, i18n.locale),
        price=formats.money(facts.price, currency, i18n.locale),
        discount_line=discount_line,
        money_line=money_line,
        policy_line=policy_line(facts.policy, facts.tz, i18n),
        minutes=max(1, facts.hold_ttl_seconds // 60),
        until=formats.hhmm(facts.hold_expires_at, facts.tz),
    )


def done_text(
    *,
    location: str,
    address: str | None,
    tz: ZoneInfo,
    service: str,
    specialist: str,
    start: datetime,
    amount: Decimal,
    currency: str,
    policy: ChangePolicy,
    today: date,
    i18n: Translator,
    client: str | None = None,
) -> str:
    """The confirmation: what, where, when, who, what was paid, and until when a cancel or a
    move is free (or, booked inside the deadline, that it cannot be moved); `client` names
    the client booked at the desk (`voice`)."""
    local = start.astimezone(tz)
    return i18n(
        voice("booking.done", client),
        client=client,
        location=location,
        address=f", {address}" if address else "",
        service=service,
        specialist=specialist,
        date=formats.day(local.date(), i18n.locale, today=today),
        time=formats.hhmm(local, tz),
        timezone=formats.zone_name(tz, i18n.locale),
        amount=formats.money(amount, currency, i18n.locale),
        policy_line=policy_line(policy, tz, i18n),
    )
