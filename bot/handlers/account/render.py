"""Texts of the account screens. Pure functions of their arguments; the words come from the
`account.po` catalogs. Dates show with their weekday (`Wed 2 Dec`, `ср, 2 дек.`) and times 24-hour
in the location's time zone, money in the reader's language, all through `bot.formats`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot import formats
from bot.i18n import Translator
from bot.services.booking import AppointmentView
from bot.services.wallet import WalletView

ZERO = Decimal("0")


def when(view: AppointmentView, lang: str | None) -> dict[str, str]:
    """`{"date": "Wed 2 Dec", "time": "10:00"}`: the appointment's start in its location's zone,
    the date in `lang` (`formats.day`; absolute, as a message may be read on a later day)."""
    local = view.start.astimezone(ZoneInfo(view.timezone))
    return {"date": formats.day(local.date(), lang), "time": formats.hhmm(local, view.timezone)}


def status_text(view: AppointmentView, i18n: Translator) -> str:
    return i18n(f"account.status.{view.status}")


def details(view: AppointmentView, i18n: Translator, currency: str) -> str:
    view = view.in_language(i18n.locale)
    return i18n(
        "account.appt.details",
        service=view.service_name,
        specialist=view.specialist_name,
        location=view.location_name,
        address=view.location_address or "",
        paid=formats.money(view.charged, currency, i18n.locale),
        status=status_text(view, i18n),
        **when(view, i18n.locale),
    )


def appointment_list(
    views: Sequence[AppointmentView], i18n: Translator, *, past: bool
) -> tuple[str, list[tuple[int, str]]]:
    """The list's title and, for each appointment once, its button: (id, `Wed 5 Mar 10:00 ·
    Haircut · Anna`, plus the status in the history)."""
    if not views:
        return i18n("account.my.past_empty" if past else "account.my.upcoming_empty"), []
    buttons: list[tuple[int, str]] = []
    for shown in views:
        view = shown.in_language(i18n.locale)
        label = i18n(
            "account.my.button",
            service=view.service_name,
            specialist=view.specialist_name,
            **when(view, i18n.locale),
        )
        if past:
            label = f"{label} · {status_text(view, i18n)}"
        buttons.append((view.id, label))
    return i18n("account.my.past_title" if past else "account.my.upcoming_title"), buttons


def cancel_question(
    view: AppointmentView, refund: Decimal, i18n: Translator, currency: str, free_hours: int
) -> str:
    """The refund the policy gives, stated before the client confirms."""
    paid = view.charged
    if refund >= paid:
        key = "account.cancel.ask_full"
    elif refund > ZERO:
        key = "account.cancel.ask_partial"
    else:
        key = "account.cancel.ask_none"
    return i18n(
        key,
        refund=formats.money(refund, currency, i18n.locale),
        paid=formats.money(paid, currency, i18n.locale),
        hours=free_hours,
        **when(view, i18n.locale),
    )


def price_change(paid: Decimal, new_charge: Decimal, i18n: Translator, currency: str) -> str:
    """Before a move: what the new time costs compared with what was paid."""
    diff = new_charge - paid
    values = {
        "price": formats.money(new_charge, currency, i18n.locale),
        "paid": formats.money(paid, currency, i18n.locale),
        "diff": formats.money(abs(diff), currency, i18n.locale),
    }
    if diff > ZERO:
        return i18n("account.resched.price_more", **values)
    if diff < ZERO:
        return i18n("account.resched.price_less", **values)
    return i18n("account.resched.price_same", **values)


def price_settled(paid_before: Decimal, paid_now: Decimal, i18n: Translator, currency: str) -> str:
    """After a move: how the difference was settled in the wallet."""
    diff = paid_now - paid_before
    if diff > ZERO:
        return i18n("account.resched.settled_more", diff=formats.money(diff, currency, i18n.locale))
    if diff < ZERO:
        return i18n(
            "account.resched.settled_less", diff=formats.money(-diff, currency, i18n.locale)
        )
    return i18n("account.resched.settled_same")


def wallet_text(wallet: WalletView, i18n: Translator, currency: str, timezone: str) -> str:
    """The balance, then the latest ledger rows (newest first) with date and kind."""
    lines = [
        i18n("account.wallet.balance", balance=formats.money(wallet.balance, currency, i18n.locale))
    ]
    if not wallet.entries:
        lines.append(i18n("account.wallet.ledger_empty"))
        return "\n".join(lines)
    lines.append("")
    lines.append(i18n("account.wallet.ledger_title"))
    zone = ZoneInfo(timezone)
    for entry in wallet.entries:
        sign = "+" if entry.amount > ZERO else "−"
        values = {
            "date": formats.day_time(entry.created_at, zone, i18n.locale),
            "amount": f"{sign}{formats.money(abs(entry.amount), currency, i18n.locale)}",
            "kind": i18n(f"account.wallet.kind.{entry.kind}"),
        }
        if entry.description:
            lines.append(i18n("account.wallet.ledger_row_note", note=entry.description, **values))
        else:
            lines.append(i18n("account.wallet.ledger_row", **values))
    return "\n".join(lines)
