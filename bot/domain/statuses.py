"""The states of an appointment, a waitlist entry and an outbox row, as stored in PostgreSQL
(the `CHECK`s of the schema list the same values). StrEnums: a member equals its stored text."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class AppointmentStatus(StrEnum):
    """An appointment is booked until it is cancelled, or marked after it started
    (docs/rules.md#appointments)."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


# Every status but cancelled keeps the time taken (the exclusion constraints' predicate).
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)
# What the specialist (or an admin) marks once an appointment has started; a mark can be changed.
ATTENDANCE_MARKS = (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)


def mark_undoable(status: str, start: datetime, tz: str, now: datetime) -> bool:
    """Whether a came / no-show mark can still be undone (the appointment booked again): it is
    marked, and it is still the appointment's own day where it takes place (until local
    midnight). Rule: docs/rules.md#appointments."""
    zone = ZoneInfo(tz)
    marked = status in ATTENDANCE_MARKS
    return marked and start.astimezone(zone).date() == now.astimezone(zone).date()


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    FULFILLED = "fulfilled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
