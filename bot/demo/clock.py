"""The demo's movable clock: the wall clock plus an offset that only grows (time travel).

The demo makes `DemoClock.now` the source of the application's `Clock` (`app.clock`, which the
container hands the handlers as each update's `Now`, which they pass to the slot engine and the
services) and so of the notification worker's clock: moving it makes reminders and the daily
agenda come due. Production never builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


class DemoClock:
    def __init__(self, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._wall = wall
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """The demo's "now": an aware UTC datetime."""
        return self._wall() + self.offset

    def timestamp(self) -> float:
        """The demo's "now" in Unix seconds (the emulator stamps messages with it)."""
        return self.now().timestamp()

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (> 0; the clock never goes back). Returns the new now."""
        if delta <= timedelta(0):
            raise ValueError("the demo clock only moves forward")
        self.offset += delta
        return self.now()

    def advance_to_next(self, at: time, tz: ZoneInfo) -> datetime:
        """Move forward to the next `at` (local time in `tz`) after now: "09:00 tomorrow" once
        it is past 09:00 today. Returns the new now."""
        local = self.now().astimezone(tz)
        target = datetime.combine(local.date(), at, tzinfo=tz)
        if target <= local:
            target = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
        return self.advance(target.astimezone(UTC) - self.now())
