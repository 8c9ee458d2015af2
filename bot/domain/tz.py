"""Location wall-clock time <-> absolute instants (docs/rules.md#time-zones).

Schedules, breaks and holidays are the location's local wall-clock times; appointments are
absolute instants. These helpers are the only place the two meet, so DST is handled once:
- a wall-clock time that does not exist (spring forward) is never a slot start;
- an ambiguous one (fall back) means its first occurrence (`fold=0`);
- a boundary of opening hours that falls into a gap starts at the first instant after the gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

_SECOND = timedelta(seconds=1)
# Names the tz database also has that are no place's zone: the host's own clock, a zone that
# means "not set", the legacy default rules and the twin trees (PostgreSQL knows no "right/").
_NOT_A_PLACE = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(
        name
        for name in available_timezones()
        if name not in _NOT_A_PLACE and not name.startswith(("posix/", "right/"))
    )


def is_zone_name(name: str) -> bool:
    """True for an IANA zone a location, a setting or a catalog file may name
    (`Europe/Moscow`, `UTC`): one Python and PostgreSQL both read the same way everywhere,
    not the host's `localtime` nor `right/…` (leap seconds, unknown to PostgreSQL)."""
    return name in _zone_names()


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock time of an aware instant."""
    return instant.astimezone(tz).replace(tzinfo=None)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The location-local calendar date of an aware instant."""
    return instant.astimezone(tz).date()


def start_instant(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant a slot starting at wall-clock `local` means, or None if that wall-clock
    time does not exist (spring-forward gap). Ambiguous times resolve to the first occurrence."""
    instant = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if wall(instant, tz) != local:
        return None
    return instant


def boundary_instant(local: datetime, tz: ZoneInfo) -> datetime:
    """The first instant whose wall-clock time is at or after `local`.

    For an existing time this is its first occurrence; for a time inside a spring-forward gap it
    is the transition itself (opening at a nonexistent 02:30 means opening when clocks jump).
    """
    exact = start_instant(local, tz)
    if exact is not None:
        return exact
    # Inside a gap: fold=1 lands before the transition, fold=0 after it. Bisect to the second.
    lo = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > _SECOND:
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if wall(mid, tz) >= local:
            hi = mid
        else:
            lo = mid
    return hi


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first instant of `day`, first instant of the next day) in the location's zone, in UTC."""
    start = boundary_instant(datetime.combine(day, time()), tz)
    end = boundary_instant(datetime.combine(day + timedelta(days=1), time()), tz)
    return start, end
