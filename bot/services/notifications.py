"""Outbox writing: queue notifications inside the caller's transaction (never commits).

Booking, cancel, reschedule and waitlist services call these right after their own writes, so
the outbox rows commit or roll back together with the change they announce (docs/rules.md#outbox).
Each row carries a snapshot of what the message shows (names, local time zone, price), so the worker
can render it without re-reading the catalog; reminders are re-checked against the appointment
before sending. Recipients without a reachable chat (no `tg_id`, blocked the bot) get no rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain import notification_kinds as kinds
from bot.domain.errors import NotFound
from db.models import Client, Specialist
from db.repositories import notifications as repo
from db.repositories import outbox
from db.repositories.appointments import ViewClient, ViewSpecialist


@dataclass(frozen=True, slots=True)
class _Chat:
    chat_id: int
    language: str


@dataclass(frozen=True, slots=True)
class _AppointmentFacts:
    appointment_id: int
    start: dt.datetime
    client_chat: _Chat | None
    specialist_chat: _Chat | None
    specialist_id: int
    payload: dict[str, Any]


def epoch(moment: dt.datetime) -> int:
    """Seconds since the epoch: the part of a dedupe key that changes when a start moves."""
    return int(moment.timestamp())


def money(value: Decimal | None) -> str:
    return str((value or Decimal("0")).quantize(Decimal("0.01")))


def _client_chat(client: Client | ViewClient) -> _Chat | None:
    if client.tg_id is None or not client.is_active:
        return None
    return _Chat(client.tg_id, client.language)


def _specialist_chat(specialist: Specialist | ViewSpecialist) -> _Chat | None:
    if specialist.tg_id is None or not specialist.chat_active:
        return None
    return _Chat(specialist.tg_id, specialist.language)


def client_display_name(client: Client | ViewClient) -> str:
    parts = [p for p in (client.first_name, client.last_name) if p]
    if parts:
        return " ".join(parts)
    if client.username:
        return "@" + client.username
    return f"#{client.id}"


async def _appointment_facts(
    session: AsyncSession,
    appointment_id: int,
    row: repo.AppointmentFacts | repo.AppointmentFactRows | None = None,
) -> _AppointmentFacts:
    """The facts of the appointment, from `row` when the caller has just read it."""
    if row is None:
        row = await repo.appointment_facts(session, appointment_id)
    if row is None:
        raise NotFound(f"appointment {appointment_id}")
    appt, client, specialist, location, service, workplace = row
    payload: dict[str, Any] = {
        "appointment_id": appt.id,
        "start": appt.start_time.astimezone(dt.UTC).isoformat(),
        "end": appt.end_time.astimezone(dt.UTC).isoformat(),
        "tz": location.timezone,
        "location": location.name,
        "address": location.address or "",
        "service": service.name,
        "specialist": specialist.name,
        "workplace": workplace.name,
        I18N_KEY: {
            "location": dict(location.name_i18n or {}),
            "service": dict(service.name_i18n or {}),
            "specialist": dict(specialist.name_i18n or {}),
            "workplace": dict(workplace.name_i18n or {}),
        },
        "price": money(appt.price),
        "client_name": client_display_name(client),
        "client_phone": client.phone or "",
    }
    return _AppointmentFacts(
        appointment_id=appt.id,
        start=appt.start_time,
        client_chat=_client_chat(client),
        specialist_chat=_specialist_chat(specialist),
        specialist_id=specialist.id,
        payload=payload,
    )


I18N_KEY = "names_i18n"


def in_language(payload: dict[str, Any], language: str) -> dict[str, Any]:
    """`payload` without its translated names, with the names in `language` where a
    translation exists (the recipient reads it in their language)."""
    names = payload.get(I18N_KEY) or {}
    local = {key: by_lang[language] for key, by_lang in names.items() if by_lang.get(language)}
    return {**{k: v for k, v in payload.items() if k != I18N_KEY}, **local}


def _row(
    *,
    chat: _Chat | None,
    recipient: str,
    kind: str,
    dedupe_key: str,
    due_at: dt.datetime,
    payload: dict[str, Any],
    appointment_id: int | None,
) -> outbox.NewRow | None:
    if chat is None:
        return None
    return outbox.NewRow(
        dedupe_key=dedupe_key,
        kind=kind,
        recipient=recipient,
        chat_id=chat.chat_id,
        due_at=due_at,
        payload={**in_language(payload, chat.language), "lang": chat.language},
        appointment_id=appointment_id,
    )


def _appointment_row(
    facts: _AppointmentFacts,
    recipient: str,
    kind: str,
    key: str,
    *,
    due_at: dt.datetime,
    payload: dict[str, Any],
) -> outbox.NewRow | None:
    """A row about the appointment for its client or its current specialist; the dedupe key is
    `appt:<id>:<key>`."""
    chat = facts.client_chat if recipient == "client" else facts.specialist_chat
    return _row(
        chat=chat,
        recipient=recipient,
        kind=kind,
        dedupe_key=f"appt:{facts.appointment_id}:{key}",
        due_at=due_at,
        payload=payload,
        appointment_id=facts.appointment_id,
    )


async def _put_all(
    session: AsyncSession, rows: list[outbox.NewRow | None], *, revive: bool = False
) -> None:
    """Queue several rows in one statement (a booking queues up to five)."""
    await outbox.enqueue_many(session, [r for r in rows if r is not None], revive_cancelled=revive)


# The thank-you goes this long after the appointment ends.
AFTER_VISIT = dt.timedelta(hours=2)


async def _queue_reminders(
    session: AsyncSession,
    facts: _AppointmentFacts,
    *,
    now: dt.datetime,
    settings: Settings,
    with_rows: Sequence[outbox.NewRow | None] = (),
) -> None:
    """Client reminders at each offset, the specialist reminder and the client's thank-you after
    the visit; past reminders are skipped. `with_rows` go in the same statement.
    A reminder cancelled earlier with the same key (moved away and back) is re-armed."""
    reminders = [
        ("client", kinds.CLIENT_REMINDER, "remind", offset) for offset in settings.reminder_offsets
    ]
    # 0 disables the specialist reminder (a reminder at the start itself helps nobody).
    if settings.specialist_reminder_min > 0:
        offset = dt.timedelta(minutes=settings.specialist_reminder_min)
        reminders.append(("specialist", kinds.SPECIALIST_REMINDER, "spec_remind", offset))
    start = facts.start
    rows: list[outbox.NewRow | None] = list(with_rows)
    # After the visit: the thank-you, AFTER_VISIT past the end (docs/rules.md#what-is-sent).
    end = dt.datetime.fromisoformat(facts.payload["end"])
    rows.append(
        _appointment_row(
            facts,
            "client",
            kinds.CLIENT_THANKS,
            f"thanks:{epoch(start)}",
            due_at=end + AFTER_VISIT,
            payload=facts.payload,
        )
    )
    for recipient, kind, name, offset in reminders:
        due = start - offset
        if due <= now:
            continue
        minutes = int(offset.total_seconds() // 60)
        rows.append(
            _appointment_row(
                facts,
                recipient,
                kind,
                f"{name}:{minutes}:{epoch(start)}",
                due_at=due,
                payload={**facts.payload, "offset_min": minutes},
            )
        )
    await _put_all(session, rows, revive=True)


async def rearm_reminders(
    session: AsyncSession,
    *,
    now: dt.datetime,
    settings: Settings,
    client_id: int | None = None,
    specialist_id: int | None = None,
) -> None:
    """Queue again the future reminders of a client's or specialist's booked appointments.

    For a chat that works again (a /start or /agenda after a block): the 403 cancelled its
    pending rows, and a reminder cancelled that way comes back (only for the current start, and
    only if it is still ahead).
    """
    upcoming = await repo.upcoming_booked_ids(
        session, now=now, client_id=client_id, specialist_id=specialist_id
    )
    for appointment_id in upcoming:
        facts = await _appointment_facts(session, appointment_id)
        await _queue_reminders(session, facts, now=now, settings=settings)


# How long the outbox confirmation of a booking made in the client's own chat waits for the
# card to be shown there (which settles it unsent); after a crash in between, it is sent then.
ON_SCREEN_GRACE = dt.timedelta(seconds=30)
CONFIRM_KEY = "confirm"


async def queue_booking_notifications(
    session: AsyncSession,
    appointment_id: int,
    *,
    now: dt.datetime,
    settings: Settings,
    card_on_screen: bool = False,
    row: repo.AppointmentFacts | repo.AppointmentFactRows | None = None,
) -> None:
    """Queue the client's confirmation, the specialist's notice and all future reminders, in
    one statement (`row`: the appointment and its names, when the caller has just read them).

    With `card_on_screen` (the client booked in their chat, which is about to show the card)
    the confirmation is due `ON_SCREEN_GRACE` later: `settle_client_confirmation` settles it
    unsent once the card is shown, so the client sees one confirmation; it is the guarantee if
    the process dies before that. Idempotent: calling it twice queues nothing new (a row
    cancelled meanwhile is re-armed, as the reminders are).
    """
    facts = await _appointment_facts(session, appointment_id, row)
    confirm_due = now + ON_SCREEN_GRACE if card_on_screen else now
    notices = [
        _appointment_row(
            facts,
            "client",
            kinds.CLIENT_CONFIRM,
            CONFIRM_KEY,
            due_at=confirm_due,
            payload=facts.payload,
        ),
        _appointment_row(
            facts, "specialist", kinds.SPECIALIST_NEW, "spec_new", due_at=now, payload=facts.payload
        ),
    ]
    await _queue_reminders(session, facts, now=now, settings=settings, with_rows=notices)


async def settle_client_confirmation(
    session: AsyncSession, appointment_id: int, *, now: dt.datetime
) -> bool:
    """The client's chat shows the booking's confirmation card: mark its pending outbox
    confirmation sent without sending it. True if a pending row was settled."""
    return await outbox.settle_unsent(
        session, f"appt:{appointment_id}:{CONFIRM_KEY}", now=now, reason="shown on screen"
    )


async def queue_cancel_notifications(
    session: AsyncSession,
    appointment_id: int,
    *,
    cancelled_by: str,
    refund: Decimal,
    now: dt.datetime,
    settings: Settings,
    reason: str | None = None,
) -> None:
    """Cancel pending reminders; tell the client (unless they cancelled) and the specialist.
    An admin's `reason` travels in the payload and is shown to both."""
    await outbox.cancel_pending(
        session, appointment_id, kinds.REMINDER_KINDS, reason="appointment cancelled"
    )
    facts = await _appointment_facts(session, appointment_id)
    payload = {**facts.payload, "refund": money(refund), "by": cancelled_by}
    if reason:
        payload["reason"] = reason
    notices = []
    if cancelled_by != "client":
        notices.append(
            _appointment_row(
                facts, "client", kinds.CLIENT_CANCELLED, "cancel", due_at=now, payload=payload
            )
        )
    notices.append(
        _appointment_row(
            facts,
            "specialist",
            kinds.SPECIALIST_CANCELLED,
            "spec_cancel",
            due_at=now,
            payload=payload,
        )
    )
    await _put_all(session, notices)


async def queue_reschedule_notifications(
    session: AsyncSession,
    appointment_id: int,
    *,
    old_start: dt.datetime,
    old_specialist_id: int,
    old_workplace_id: int,
    moved_by: str,
    now: dt.datetime,
    settings: Settings,
) -> None:
    """Re-time the reminders to the new start and announce the move.

    The client is told only when an admin or the specialist moved it. The specialist is always
    told; when the move hands the appointment to another specialist, the old one hears that it
    left their agenda and the new one gets it as a new appointment. A changed workplace is
    shown as old -> new.
    """
    await outbox.cancel_pending(
        session, appointment_id, kinds.REMINDER_KINDS, reason="appointment moved"
    )
    facts = await _appointment_facts(session, appointment_id)
    payload = {
        **facts.payload,
        "old_start": old_start.astimezone(dt.UTC).isoformat(),
        "by": moved_by,
    }
    # The move itself (old -> new, and when) names the notice: moving twice tells twice.
    move = f"{epoch(old_start)}:{epoch(facts.start)}:{epoch(now)}"
    notices = []
    if moved_by not in ("client",):
        notices.append(
            _appointment_row(
                facts, "client", kinds.CLIENT_MOVED, f"moved:{move}", due_at=now, payload=payload
            )
        )
    if old_specialist_id == facts.specialist_id:
        spec_payload = payload
        old_workplace = await repo.workplace_name(session, old_workplace_id)
        if old_workplace is not None and old_workplace != payload["workplace"]:
            spec_payload = {**payload, "old_workplace": old_workplace}
        notices.append(
            _appointment_row(
                facts,
                "specialist",
                kinds.SPECIALIST_MOVED,
                f"spec_moved:{move}",
                due_at=now,
                payload=spec_payload,
            )
        )
    else:
        old_specialist = await repo.specialist(session, old_specialist_id)
        if old_specialist is not None:
            notices.append(
                _row(
                    chat=_specialist_chat(old_specialist),
                    recipient="specialist",
                    kind=kinds.SPECIALIST_REASSIGNED,
                    dedupe_key=f"appt:{appointment_id}:spec_left:{old_specialist_id}:{move}",
                    due_at=now,
                    payload=payload,
                    appointment_id=appointment_id,
                )
            )
        notices.append(
            _appointment_row(
                facts,
                "specialist",
                kinds.SPECIALIST_NEW,
                f"spec_new:{facts.specialist_id}:{move}",
                due_at=now,
                payload=payload,
            )
        )
    await _put_all(session, notices)
    await _queue_reminders(session, facts, now=now, settings=settings)


async def queue_waitlist_offer(
    session: AsyncSession, waitlist_id: int, *, now: dt.datetime, settings: Settings
) -> None:
    """Offer the freed time (`waitlist.offered_start`) to the waiting client, with a take button."""
    row = await repo.offer_facts(session, waitlist_id)
    if row is None:
        raise NotFound(f"waitlist entry {waitlist_id}")
    entry, client, location, service = row
    if entry.offered_start is None:
        raise NotFound(f"waitlist entry {waitlist_id} has no offered time")
    specialist_name = ""
    specialist_names: dict[str, str] = {}
    specialist_id = entry.offered_specialist_id or entry.specialist_id
    if specialist_id is not None:
        specialist = await repo.specialist(session, specialist_id)
        specialist_name = specialist.name if specialist is not None else ""
        specialist_names = dict(specialist.name_i18n or {}) if specialist is not None else {}
    expires = now + dt.timedelta(seconds=settings.waitlist_offer_ttl_seconds)
    payload = {
        "waitlist_id": entry.id,
        "start": entry.offered_start.astimezone(dt.UTC).isoformat(),
        "tz": location.timezone,
        "location": location.name,
        "address": location.address or "",
        "service": service.name,
        "specialist": specialist_name,
        I18N_KEY: {
            "location": dict(location.name_i18n or {}),
            "service": dict(service.name_i18n or {}),
            "specialist": dict(specialist_names),
        },
        "expires": expires.astimezone(dt.UTC).isoformat(),
    }
    offer = _row(
        chat=_client_chat(client),
        recipient="client",
        kind=kinds.CLIENT_WAITLIST_OFFER,
        dedupe_key=f"waitlist:{entry.id}:offer:{epoch(entry.offered_start)}",
        due_at=now,
        payload=payload,
        appointment_id=None,
    )
    await _put_all(session, [offer])


async def queue_workplace_moves(
    session: AsyncSession,
    moved: dict[int, int],
    *,
    now: dt.datetime,
) -> None:
    """Tell each specialist whose appointment was given another workplace to make room for a
    booking (`moved`: appointment id -> its previous workplace id); shown as old -> new."""
    rows: list[outbox.NewRow | None] = []
    for appointment_id, old_workplace_id in sorted(moved.items()):
        facts = await _appointment_facts(session, appointment_id)
        old = await repo.workplace_name(session, old_workplace_id)
        payload = {**facts.payload, "old_workplace": old or ""}
        rows.append(
            _appointment_row(
                facts,
                "specialist",
                kinds.SPECIALIST_WORKPLACE_MOVED,
                f"workplace:{old_workplace_id}:{epoch(now)}",
                due_at=now,
                payload=payload,
            )
        )
    await _put_all(session, rows)
