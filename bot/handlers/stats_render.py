"""The statistics text, a pure function of the figures (nothing is read or written)."""

from __future__ import annotations

from bot import formats
from bot.i18n import Translator
from bot.services.stats import Statistics


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".rstrip("0").rstrip(".")


def render_stats(stats: Statistics, scope_name: str | None, currency: str, i18n: Translator) -> str:
    """The figures as plain text in the admin's language."""
    lines = [
        i18n(
            "stats.title",
            scope=scope_name if scope_name else i18n("stats.scope.all"),
            first=f"{stats.period.first:%d.%m.%Y}",
            last=f"{stats.period.last:%d.%m.%Y}",
        ),
        i18n("stats.bookings_made", count=stats.bookings_made),
        i18n(
            "stats.held",
            held=stats.held,
            completed=stats.completed,
            no_shows=stats.no_shows,
        ),
        i18n(
            "stats.cancelled",
            client=stats.cancelled_by_client,
            admin=stats.cancelled_by_admin,
            specialist=stats.cancelled_by_specialist,
        ),
        i18n(
            "stats.revenue",
            revenue=formats.money(stats.revenue, currency, i18n.locale),
            check=formats.money(stats.average_check, currency, i18n.locale)
            if stats.average_check is not None
            else "—",
        ),
    ]
    if stats.topups is not None:
        lines.append(
            i18n("stats.topups", amount=formats.money(stats.topups, currency, i18n.locale))
        )
    lines.append(
        i18n(
            "stats.clients",
            clients=stats.clients,
            new=stats.new_clients,
            returning=stats.returning_clients,
        )
    )
    if stats.occupancy is None:
        lines.append(i18n("stats.occupancy_none"))
    else:
        lines.append(
            i18n(
                "stats.occupancy",
                percent=f"{100 * stats.occupancy:.0f}",
                booked=_hours(stats.booked_minutes),
                working=_hours(stats.working_minutes),
            )
        )
    return "\n".join(lines)
