"""The statistics chart's axes: no negative counts or money on an empty period, and room for
the largest value (the chart is drawn without a database: the figures are built by hand)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.domain.periods import Period, PeriodKind
from bot.services.stats import DayRow, Scope, Statistics
from bot.services.stats_chart import PNG_MAGIC, chart_figure, render_chart

pytest.importorskip("matplotlib")

FIRST = date(2026, 12, 1)


def figures(days: list[tuple[int, str]]) -> Statistics:
    rows = [
        DayRow(FIRST + timedelta(days=i), count, Decimal(money))
        for i, (count, money) in enumerate(days)
    ]
    return Statistics(
        scope=Scope(),
        period=Period(PeriodKind.CUSTOM, FIRST, FIRST + timedelta(days=len(days) - 1)),
        bookings_made=0, held=sum(c for c, _ in days), completed=0, no_shows=0,
        cancelled_by_client=0, cancelled_by_admin=0, cancelled_by_specialist=0,
        revenue=sum((Decimal(m) for _, m in days), Decimal(0)), topups=None,
        average_check=None, clients=0, new_clients=0, booked_minutes=0, working_minutes=0,
        days=rows, specialists=[],
    )  # fmt: skip


def ticks(axis: object) -> list[float]:
    low, high = axis.get_ylim()  # type: ignore[attr-defined]
    return [t for t in axis.get_yticks() if low <= t <= high]  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["ru", "en"])
def test_an_empty_period_has_no_negative_ticks(language: str) -> None:
    fig = chart_figure(figures([(0, "0")] * 7), language)
    appointments, revenue = fig.axes[:2]
    assert appointments.get_ylim() == (0.0, pytest.approx(1.1))
    assert revenue.get_ylim() == (0.0, pytest.approx(1.1))
    assert min(ticks(appointments)) == 0 and min(ticks(revenue)) == 0
    assert all(t == int(t) for t in ticks(appointments))  # counts are whole
    assert render_chart(figures([(0, "0")] * 7), language).startswith(PNG_MAGIC)


def test_the_axes_fit_the_largest_day_and_a_refund_heavy_day() -> None:
    fig = chart_figure(figures([(3, "4500"), (12, "-1500"), (0, "0")]), "en")
    appointments, revenue = fig.axes[:2]
    assert appointments.get_ylim()[0] == 0 and appointments.get_ylim()[1] >= 12
    low, high = revenue.get_ylim()
    assert low <= -1500 < 0 < 4500 <= high
