"""Local wall-clock times of schedules, breaks and holidays, including the end of day `24:00`.

`datetime.time` stops at 23:59:59.999999, so it cannot say "open until midnight": an interval
that ends at 23:59 loses its last minute (a 60-minute service cannot start at 23:00), and the
`time '24:00'` PostgreSQL stores cannot be decoded into it. `WallTime` is a time of day as
seconds since local midnight, 0 (`00:00`) through 86400 (`24:00`, the end of the day), ordered
like the times it names. The database keeps the seed's `time` columns (`db.types.WallClock`
converts at the boundary).

Rule for a closing time written `00:00`: after a start later than midnight (`18:00-00:00`) it
means the end of that day, `24:00`; nothing crosses midnight (see `closing_time`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_DAY = 86_400
_TEXT = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*$")


@dataclass(frozen=True, order=True, slots=True)
class WallTime:
    """A local time of day, `00:00` .. `24:00` inclusive, to the second.

    Raises ValueError when `seconds` is outside 0..86400.
    """

    seconds: int

    def __post_init__(self) -> None:
        if not 0 <= self.seconds <= _DAY:
            raise ValueError(f"{self.seconds} s is not a time of day (0..86400)")

    @classmethod
    def of(cls, value: time) -> WallTime:
        """The same time of day (`datetime.time` cannot be 24:00; microseconds are dropped)."""
        return cls(value.hour * 3600 + value.minute * 60 + value.second)

    @classmethod
    def hm(cls, hours: int, minutes: int = 0) -> WallTime:
        """`HH:MM`; 24:00 is the end of day. Raises ValueError for anything else."""
        if not (0 <= hours <= 24 and 0 <= minutes <= 59) or (hours == 24 and minutes):
            raise ValueError(f"{hours:02d}:{minutes:02d} is not a time of day")
        return cls(hours * 3600 + minutes * 60)

    @classmethod
    def parse(cls, text: str) -> WallTime:
        """Read `HH:MM`, `HH:MM:SS` or `HH:MM:SS.ffffff` (PostgreSQL's text form of `time`;
        fractions of a second are dropped). Raises ValueError for anything else."""
        match = _TEXT.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a time of day")
        hours, minutes = int(match.group(1)), int(match.group(2))
        seconds = int(match.group(3) or 0)
        if seconds > 59 or (hours == 24 and seconds):
            raise ValueError(f"{text!r} is not a time of day")
        return cls(cls.hm(hours, minutes).seconds + seconds)

    @property
    def is_end_of_day(self) -> bool:
        return self.seconds == _DAY

    def on(self, day: date) -> datetime:
        """The naive wall-clock datetime on `day`; `24:00` is the next day's `00:00`."""
        return datetime.combine(day, time()) + timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        """`HH:MM` (`24:00` for the end of day), with `:SS` only when there are seconds."""
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


MIDNIGHT = WallTime(0)
END_OF_DAY = WallTime(_DAY)


def closing_time(start: WallTime, end: WallTime) -> WallTime:
    """The end of an interval that starts at `start`: an end written `00:00` after a later
    start means midnight at the end of the day (`18:00-00:00` is `18:00-24:00`)."""
    if end == MIDNIGHT and start > MIDNIGHT:
        return END_OF_DAY
    return end
