"""The "📅 Add to calendar" file: one appointment as an iCalendar (RFC 5545) event.

Built with `icalendar` (a maintained implementation: line folding, escaping and the location's
VTIMEZONE definition are its job, not hand-written text). The event is written in the
location's own time zone (`DTSTART;TZID=Europe/Moscow`) with that zone's definition in the
file, so a calendar anywhere shows the right local time, across DST changes too.

`icalendar` is imported on the first file asked for, not with the bot: loaded alone it takes
2.4 MiB, kept by every bot process for a button few clients press (`docs/bench-memory.md`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.services.booking_types import AppointmentView

PRODID = "-//booking-bot//appointment//EN"


def appointment_ics(view: AppointmentView, *, summary: str, now: datetime, domain: str) -> bytes:
    """The appointment as an `.ics` file (bytes, UTF-8): `summary` is its title (service and
    specialist), `domain` makes the event's UID unique (`appt-<id>@<domain>`), so adding the
    file twice updates one event instead of making two."""
    from icalendar import Calendar, Event

    tz = ZoneInfo(view.timezone)
    event = Event()
    event.add("uid", f"appt-{view.id}@{domain}")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", view.start.astimezone(tz))
    event.add("dtend", view.end.astimezone(tz))
    event.add("summary", summary)
    where = ", ".join(part for part in (view.location_name, view.location_address) if part)
    event.add("location", where)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    content: bytes = calendar.to_ical()
    return content
