"""Builders for the pure slot-engine tests: a small in-memory catalog (no I/O, no tests here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.catalog import (
    BreakRow,
    BusyAppointment,
    Calendar,
    Holiday,
    ServiceCatalog,
    Shift,
    WeeklyHours,
)
from bot.domain.pricing import ServiceTerms, SpecialistLink, WorkplaceLink
from bot.domain.slots import DayPlan, Obstacles, Reason, SlotOffer, SlotRules, day_slots, explain
from bot.domain.types import HeldInterval
from bot.domain.walltime import WallTime

LOCATION = 1
CLIENT = 100
OTHER_CLIENT = 200


def t(hhmm: str) -> WallTime:
    h, m = map(int, hhmm.split(":"))
    return WallTime.hm(h, m)


@dataclass
class World:
    """Defaults: one location open 10:00-18:00 every day, one service 60 min + 15 min break at
    1000, specialists and workplaces added by the test."""

    tz: str = "Europe/Moscow"
    capacity: int | None = None
    service: ServiceTerms = field(
        default_factory=lambda: ServiceTerms(
            1, duration_min=60, break_min=15, price=Decimal("1000")
        )
    )
    weekly: dict[int, WeeklyHours] = field(
        default_factory=lambda: {d: WeeklyHours(d, t("10:00"), t("18:00")) for d in range(1, 8)}
    )
    workplaces: list[WorkplaceLink] = field(default_factory=list)
    specialists: list[SpecialistLink] = field(default_factory=list)
    shifts: dict[tuple[int, int], Shift] = field(default_factory=dict)
    holidays: dict[dt.date, Holiday] = field(default_factory=dict)
    breaks: dict[tuple[int, dt.date], list[BreakRow]] = field(default_factory=dict)
    appointments: list[BusyAppointment] = field(default_factory=list)
    holds: list[HeldInterval] = field(default_factory=list)
    rules: SlotRules = field(default_factory=lambda: SlotRules(15, 60, 30))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def at(self, day: dt.date, hhmm: str) -> dt.datetime:
        """A local wall-clock time as a UTC instant (first occurrence)."""
        return t(hhmm).on(day).replace(tzinfo=self.zone).astimezone(dt.UTC)

    def workplace(self, wp_id: int, **overrides: object) -> None:
        self.workplaces.append(WorkplaceLink(wp_id, **overrides))  # type: ignore[arg-type]

    def specialist(
        self,
        spec_id: int,
        start: str = "10:00",
        end: str = "18:00",
        *,
        days: Iterable[int] = range(1, 8),
        pinned: int | None = None,
        custom_price: Decimal | None = None,
        custom_duration: int | None = None,
    ) -> None:
        self.specialists.append(SpecialistLink(spec_id, custom_price, custom_duration))
        for d in days:
            self.shifts[(spec_id, d)] = Shift(spec_id, d, t(start), t(end), False, pinned)

    def break_(self, spec_id: int, day: dt.date, start: str | None, end: str | None) -> None:
        row = BreakRow(spec_id, day, t(start) if start else None, t(end) if end else None)
        self.breaks.setdefault((spec_id, day), []).append(row)

    def book(
        self,
        spec_id: int,
        wp_id: int,
        start: dt.datetime,
        *,
        minutes: int = 60,
        break_min: int = 15,
        client_id: int = OTHER_CLIENT,
        location_id: int = LOCATION,
        appointment_id: int | None = None,
    ) -> BusyAppointment:
        end = start + dt.timedelta(minutes=minutes)
        appt = BusyAppointment(
            appointment_id or len(self.appointments) + 1,
            location_id,
            spec_id,
            wp_id,
            client_id,
            start,
            end,
            end + dt.timedelta(minutes=break_min),
        )
        self.appointments.append(appt)
        return appt

    def hold(
        self,
        spec_id: int,
        wp_id: int,
        start: dt.datetime,
        minutes: int,
        client_id: int,
        *,
        break_min: int = 15,
        location_id: int = LOCATION,
        workplaces: Iterable[int] = (),
    ) -> None:
        """`workplaces`: every workplace the hold may use (default: `wp_id` only)."""
        end = start + dt.timedelta(minutes=minutes)
        self.holds.append(
            HeldInterval(
                client_id,
                location_id,
                spec_id,
                wp_id,
                start,
                end,
                end + dt.timedelta(minutes=break_min),
                frozenset(workplaces),
            )
        )

    def catalog(self) -> ServiceCatalog:
        return ServiceCatalog(
            location_id=LOCATION,
            timezone=self.tz,
            capacity=self.capacity,
            service=self.service,
            weekly_hours=self.weekly,
            workplaces=tuple(self.workplaces),
            specialists=tuple(self.specialists),
            shifts=self.shifts,
        )

    def calendar(self) -> Calendar:
        return Calendar(
            holidays=self.holidays, breaks={k: tuple(v) for k, v in self.breaks.items()}
        )

    def plan(self, day: dt.date, specialist_id: int | None = None) -> DayPlan:
        return DayPlan(
            self.catalog(),
            self.calendar(),
            day,
            specialist_id=specialist_id,
            step_min=self.rules.step_min,
        )

    def obstacles(
        self, client_id: int | None = CLIENT, exclude_appointment_id: int | None = None
    ) -> Obstacles:
        return Obstacles.build(
            location_id=LOCATION,
            capacity=self.capacity,
            appointments=self.appointments,
            holds=self.holds,
            client_id=client_id,
            exclude_appointment_id=exclude_appointment_id,
        )

    def slots(
        self,
        day: dt.date,
        now: dt.datetime,
        *,
        specialist_id: int | None = None,
        client_id: int | None = CLIENT,
    ) -> list[SlotOffer]:
        return day_slots(
            self.plan(day, specialist_id), self.obstacles(client_id), now=now, rules=self.rules
        )

    def times(self, day: dt.date, now: dt.datetime, **kwargs: object) -> list[str]:
        offers = self.slots(day, now, **kwargs)  # type: ignore[arg-type]
        return [o.start.astimezone(self.zone).strftime("%H:%M") for o in offers]

    def why(
        self,
        day: dt.date,
        hhmm: str,
        now: dt.datetime,
        *,
        specialist_id: int | None = None,
        client_id: int | None = CLIENT,
    ) -> Reason:
        """`explain` for a local wall-clock start on `day`."""
        return explain(
            self.plan(day, specialist_id),
            self.at(day, hhmm),
            self.obstacles(client_id),
            now=now,
            rules=self.rules,
        )
