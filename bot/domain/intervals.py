"""Half-open intervals [start, end) of comparable points (wall-clock or absolute datetimes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeAlias

Interval: TypeAlias = tuple[datetime, datetime]


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """True when [a_start, a_end) and [b_start, b_end) share at least one instant."""
    return a_start < b_end and b_start < a_end


def any_overlap(intervals: Iterable[Interval], start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in intervals)


def subtract(pieces: Sequence[Interval], cut: Interval) -> list[Interval]:
    """`pieces` minus `cut`; empty remainders are dropped, order is kept."""
    cut_start, cut_end = cut
    out: list[Interval] = []
    for start, end in pieces:
        if not overlaps(start, end, cut_start, cut_end):
            out.append((start, end))
            continue
        if start < cut_start:
            out.append((start, cut_start))
        if cut_end < end:
            out.append((cut_end, end))
    return out


def peak_overlap(intervals: Iterable[Interval], start: datetime, end: datetime) -> int:
    """The largest number of `intervals` in progress at one instant within [start, end).

    Capacity is about appointments in progress at once (docs/rules.md#capacity), so two appointments
    that overlap the window at different times count as one, not two."""
    events: list[tuple[datetime, int]] = []
    for s, e in intervals:
        if s < end and start < e:
            events.append((max(s, start), 1))
            events.append((min(e, end), -1))
    # Ends sort before starts at the same instant: [a, b) and [b, c) never run at once.
    events.sort(key=lambda ev: (ev[0], ev[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak
