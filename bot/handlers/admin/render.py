"""Texts of the admin screens: pure functions of the data the admin services return.

Messages go out as plain text (no parse mode), so names, notes and reasons typed by people are
shown exactly as typed and can never inject markup.
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from bot import formats
from bot.domain.errors import (
    AccessDenied,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    InvalidState,
    NotAllowedReason,
    NotFound,
)
from bot.handlers.errors import REASON_TEXTS, domain_text_key
from bot.i18n import Translator
from bot.services.admin.audit import AuditPage
from bot.services.admin.clients import ClientCard, ClientSummary
from bot.services.admin.day import DayView
from bot.services.admin.roles import AdminView, Person
from bot.services.booking import AppointmentView

DATE = "%d.%m.%Y"


def refusal_text(exc: DomainError, i18n: Translator) -> str | None:
    """The admin-area text for a refusal, or None when the generic error text fits."""
    if isinstance(exc, AccessDenied):
        if exc.reason is NotAllowedReason.PERMANENT_ADMIN:
            return i18n("admin.admins.permanent_refused")
        return i18n("admin.denied")
    if isinstance(exc, InvalidInput):
        limit = exc.limit
        shown = f"{limit:,.0f}".replace(",", " ") if isinstance(limit, Decimal) else limit
        return i18n(f"admin.input.{exc.reason.value}", limit=shown)
    if isinstance(exc, NotFound):
        return i18n("admin.not_found")
    if isinstance(exc, InvalidState) and exc.reason in REASON_TEXTS:
        return i18n(domain_text_key(exc))
    return None


def insufficient_text(exc: InsufficientFunds, i18n: Translator, currency: str) -> str:
    return i18n(
        "admin.adjust.insufficient",
        balance=formats.money(exc.balance, currency, i18n.locale),
        amount=formats.money(-exc.price, currency, i18n.locale),
    )


def client_line(client: ClientSummary) -> str:
    parts = [client.name]
    if client.username:
        parts.append(f"@{client.username}")
    if client.phone:
        parts.append(client.phone)
    return " · ".join(parts)


def appointment_line(view: AppointmentView, i18n: Translator) -> str:
    """One appointment, its names in the admin's language."""
    view = view.in_language(i18n.locale)
    local = view.local_start
    return i18n(
        "admin.card.appt_line",
        date=formats.day(local.date(), i18n.locale),
        time=formats.hhmm(local, view.timezone),
        service=view.service_name,
        specialist=view.specialist_name,
        status=i18n(f"account.status.{view.status}"),
    )


def card_text(card: ClientCard, i18n: Translator, currency: str, tz: str) -> str:
    c = card.client
    none = i18n("admin.card.none")
    lines = [
        i18n("admin.card.title", name=c.name),
        i18n(
            "admin.card.contact",
            tg=c.tg_id or none,
            username=f"@{c.username}" if c.username else none,
            phone=c.phone or none,
        ),
    ]
    if c.is_blocked:
        lines.append(i18n("admin.card.blocked"))
    lines.append(
        i18n(
            "admin.card.money",
            balance=formats.money(card.balance, currency, i18n.locale),
            discount=f"{card.discount_percent.normalize():f}",
            no_shows=card.no_shows,
        )
    )
    lines.append(i18n("admin.card.notes", notes=card.notes or none))
    lines.append(i18n("admin.card.ledger"))
    zone = ZoneInfo(tz)
    for entry in card.ledger:
        lines.append(
            i18n(
                "admin.card.ledger_line",
                date=formats.day(entry.created_at.astimezone(zone).date(), i18n.locale),
                amount=formats.money(entry.amount, currency, i18n.locale),
                kind=i18n(f"account.wallet.kind.{entry.kind}"),
                comment=entry.description or "",
            ).rstrip()
        )
    if not card.ledger:
        lines.append(i18n("admin.card.empty"))
    for title, views in (("admin.card.upcoming", card.upcoming), ("admin.card.past", card.past)):
        lines.append(i18n(title))
        lines.extend(appointment_line(v, i18n) for v in views)
        if not views:
            lines.append(i18n("admin.card.empty"))
    return "\n".join(lines)


def day_text(view: DayView, i18n: Translator, currency: str) -> str:
    lines = [i18n("admin.day.title", title=view.title, date=view.day.strftime(DATE))]
    zone = ZoneInfo(view.timezone)
    for line in view.lines:
        a = line.appointment.in_language(i18n.locale)
        lines.append(
            i18n(
                "admin.day.line",
                time=formats.hhmm(a.start, zone),
                client=line.client_name,
                service=a.service_name,
                specialist=a.specialist_name,
                workplace=a.workplace_name,
                status=i18n(f"account.status.{a.status}"),
                paid=formats.money(line.paid, currency, i18n.locale),
            )
        )
    if not view.lines:
        lines.append(i18n("admin.day.empty"))
    return fit(lines, i18n)


# Telegram refuses a message over 4096 characters; a very busy day is cut with a count.
TEXT_LIMIT = 3900


def fit(lines: list[str], i18n: Translator) -> str:
    """The lines joined, cut to `TEXT_LIMIT` with "... and N more" when they do not fit."""
    text = "\n".join(lines)
    if len(text) <= TEXT_LIMIT:
        return text
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > TEXT_LIMIT - 40:
            break
        kept.append(line)
        size += len(line) + 1
    kept.append(i18n("admin.day.more", count=len(lines) - len(kept)))
    return "\n".join(kept)


def appointment_text(view: AppointmentView, i18n: Translator, currency: str) -> str:
    view = view.in_language(i18n.locale)
    return "\n".join(
        [
            appointment_line(view, i18n),
            f"{view.location_name} · {view.workplace_name}",
            formats.money(view.charged, currency, i18n.locale),
        ]
    )


def person_label(person: Person | None, tg_id: int) -> str:
    """ "Anna Petrova (@anna_p, 123456789)" for an account the bot knows, else the id."""
    if person is None or not (person.name or person.username):
        return str(tg_id)
    handle = f"@{person.username}, " if person.username else ""
    return f"{person.name or ''} ({handle}{tg_id})".strip()


def admins_text(admins: list[AdminView], i18n: Translator) -> str:
    """Every admin by name and @username where known (their id in brackets), and who added
    them; an account the bot does not know by its id."""
    lines = [i18n("admin.admins.title")]
    for a in admins:
        key = "admin.admins.permanent" if a.permanent else "admin.admins.added"
        adder = person_label(a.adder, a.added_by) if a.added_by is not None else ""
        lines.append(i18n(key, who=person_label(a.who, a.tg_id), added_by=adder))
    lines.append(i18n("admin.admins.hint"))
    return "\n".join(lines)


def audit_text(page: AuditPage, i18n: Translator, tz: str) -> str:
    """The newest audit rows; times in `tz`, named in the title. People and places by name
    (the id in brackets), entities without a name by kind and id."""
    lines = [i18n("admin.audit.title", zone=tz)]
    zone = ZoneInfo(tz)
    for e in page.entries:
        actor = f"{e.actor_name} ({e.actor_tg_id})" if e.actor_name else str(e.actor_tg_id)
        if e.entity_name:
            entity = f"{e.entity_name} (#{e.entity_id})"
        else:
            entity = f"{e.entity} {e.entity_id if e.entity_id is not None else ''}".rstrip()
        lines.append(
            i18n(
                "admin.audit.line",
                when=formats.day_time(e.created_at, zone, i18n.locale),
                actor=actor,
                action=e.action,
                entity=entity,
            )
        )
    if not page.entries:
        lines.append(i18n("admin.audit.empty"))
    return fit(lines, i18n)
