"""Outbox message kinds (the `outbox.kind` column) and who receives each."""

from __future__ import annotations

CLIENT_CONFIRM = "client.confirm"
CLIENT_REMINDER = "client.reminder"
CLIENT_CANCELLED = "client.cancelled"
CLIENT_MOVED = "client.moved"
CLIENT_WAITLIST_OFFER = "client.waitlist_offer"
# After the visit: a short thank-you with "Book again".
CLIENT_THANKS = "client.thanks"

SPECIALIST_NEW = "specialist.new"
SPECIALIST_MOVED = "specialist.moved"
SPECIALIST_CANCELLED = "specialist.cancelled"
# A move handed the appointment to another specialist: the old one is told it left their day.
SPECIALIST_REASSIGNED = "specialist.reassigned"
# Another booking needed the appointment's workplace: it moved to another one, same time.
SPECIALIST_WORKPLACE_MOVED = "specialist.workplace_moved"
SPECIALIST_REMINDER = "specialist.reminder"
SPECIALIST_AGENDA = "specialist.agenda"

# Reminders are only worth sending while the appointment is still booked at the same start;
# the worker re-checks that before sending.
# The thank-you is timed like them (re-timed by a move, dropped by a cancel) and re-checked too.
REMINDER_KINDS = (CLIENT_REMINDER, SPECIALIST_REMINDER, CLIENT_THANKS)

ALL_KINDS = (
    CLIENT_CONFIRM,
    CLIENT_REMINDER,
    CLIENT_CANCELLED,
    CLIENT_MOVED,
    CLIENT_WAITLIST_OFFER,
    CLIENT_THANKS,
    SPECIALIST_NEW,
    SPECIALIST_MOVED,
    SPECIALIST_CANCELLED,
    SPECIALIST_REASSIGNED,
    SPECIALIST_WORKPLACE_MOVED,
    SPECIALIST_REMINDER,
    SPECIALIST_AGENDA,
)
