"""The statistics chart: appointments and revenue per day, occupancy per specialist, as PNG.

Drawn with matplotlib (well kept, renders without a display, and handles Cyrillic with its
bundled DejaVu fonts) through its object API on the Agg canvas: no pyplot, so no global figure
state shared between concurrent renders, and no GUI backend is ever loaded.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from bot.i18n import translate
from bot.services.stats import Statistics

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_WIDTH_IN, _ROW_IN, _DPI = 9.0, 3.0, 100


def render_chart(stats: Statistics, language: str) -> bytes:
    """A PNG (bytes) with two or three panels, titled and labelled in `language`: held
    appointments per day (bars), revenue per day (line), and, when anyone works in the
    scope, occupancy per specialist in percent (horizontal bars). CPU-bound: call it in a
    worker thread from async code."""
    out = io.BytesIO()
    chart_figure(stats, language).savefig(out, format="png")
    return out.getvalue()


def chart_figure(stats: Statistics, language: str) -> Figure:
    """The matplotlib `Figure` that `render_chart` draws. The counts axis starts at 0, the
    money axis too unless a day's refunds outweigh its payments; an empty period keeps a 0..1
    scale (matplotlib would centre an all-zero series on 0, with negative ticks)."""
    # Imported here, not at the top: matplotlib takes a second or more to import (and builds
    # its font cache on first use), which the bot's start-up should not pay for a chart that
    # only admins ask for.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    def t(key: str, **kwargs: object) -> str:
        return translate(key, language, **kwargs)

    panels = 3 if stats.specialists else 2
    height = _ROW_IN * panels + max(0, len(stats.specialists) - 6) * 0.25
    fig = Figure(figsize=(_WIDTH_IN, height), dpi=_DPI, layout="constrained")
    axes = fig.subplots(panels, 1)
    labels = [d.day.strftime("%d.%m") for d in stats.days]
    positions = list(range(len(labels)))
    step = max(1, len(labels) // 15)

    ax = axes[0]
    counts = [d.appointments for d in stats.days]
    ax.bar(positions, counts, color="#4C72B0")
    ax.set_title(t("stats.chart.appointments"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, *counts) * 1.1)
    ax.set_xticks(positions[::step], labels[::step], rotation=45, fontsize=8)

    ax = axes[1]
    revenue = [float(d.revenue) for d in stats.days]
    ax.plot(positions, revenue, marker="o", color="#55A868")
    ax.set_title(t("stats.chart.revenue"))
    # A day's refunds can outweigh its payments: the axis goes below 0 only then.
    ax.set_ylim(min(0.0, *revenue) * 1.1, max(1.0, *revenue) * 1.1)
    ax.set_xticks(positions[::step], labels[::step], rotation=45, fontsize=8)
    ax.grid(axis="y", alpha=0.3)

    if stats.specialists:
        ax = axes[2]
        names = [s.name for s in stats.specialists]
        values = [100 * (s.ratio or 0.0) for s in stats.specialists]
        ax.barh(names, values, color="#C44E52")
        ax.set_title(t("stats.chart.occupancy"))
        ax.set_xlabel("%")
        ax.set_xlim(0, max(100.0, *values))
        ax.invert_yaxis()

    fig.suptitle(
        t(
            "stats.chart.title",
            first=stats.period.first.strftime("%d.%m.%Y"),
            last=stats.period.last.strftime("%d.%m.%Y"),
        )
    )
    return fig
