"""Until when a client may cancel for free or move an appointment (docs/rules.md#cancel-and-refunds,
docs/rules.md#reschedule), said before the money is taken and on every confirmation.

The screens only draw what this decides: the free-cancel deadline, whether it is still ahead,
and what a later cancel refunds; whether a Reschedule button may be offered at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings
from bot.domain.policies import free_cancel_deadline, is_free_cancel
from bot.domain.statuses import AppointmentStatus
from bot.services.booking_types import AppointmentView


@dataclass(frozen=True, slots=True)
class ChangePolicy:
    """For an appointment starting at some instant, seen at `now`: `free_until` is the last
    instant a client's cancel refunds everything and a move is allowed (the free-cancel
    deadline); `free_now` says it is still ahead; a later cancel refunds `late_refund_percent`
    percent (0..100) and a move is refused."""

    free_until: datetime
    free_now: bool
    late_refund_percent: int
    free_cancel_hours: int


def change_policy(start: datetime, now: datetime, settings: Settings) -> ChangePolicy:
    """The policy for an appointment (or a held time) starting at `start` (aware instants)."""
    hours = settings.free_cancel_hours
    return ChangePolicy(
        free_until=free_cancel_deadline(start, hours),
        free_now=is_free_cancel(start, now, hours),
        late_refund_percent=settings.late_cancel_refund_percent,
        free_cancel_hours=hours,
    )


def client_may_move(view: AppointmentView, now: datetime, settings: Settings) -> bool:
    """True when a client's Reschedule would be accepted now: booked, not started, and before
    the free-cancel deadline (the same test `RescheduleFlow.check_movable` applies)."""
    return (
        view.status == AppointmentStatus.BOOKED
        and view.start > now
        and is_free_cancel(view.start, now, settings.free_cancel_hours)
    )
