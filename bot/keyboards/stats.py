"""The statistics screen's buttons: period, scope (the business, a location, a specialist) and
the chart with the CSV files. Callback data carries a period token and ids only; the handler
re-checks the admin role and every id on the server."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from pydantic import AfterValidator

from bot.domain.periods import PeriodKind
from bot.i18n import Translator
from bot.keyboards.builder import KeyboardBuilder
from bot.keyboards.fields import OptionalDbId, parse_day_code
from bot.services.stats import Scope, ScopeChoices

NAMED = (PeriodKind.TODAY, PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.LAST_30)
MAX_SPECIALISTS = 40


class StatsAction(str, Enum):
    show = "show"  # the figures of (period, scope) as text
    files = "files"  # the chart and the two CSV files
    specialists = "specs"  # list the specialists to pick one


def _checked_period_token(token: str) -> str:
    """A named period, or `YYYYMMDD-YYYYMMDD` with both dates in the sane range."""
    if token in {kind.value for kind in NAMED}:
        return token
    first, dash, last = token.partition("-")
    if not dash:
        raise ValueError("not a period token")
    parse_day_code(first)
    parse_day_code(last)
    return token


# bot.domain.periods.period_token, checked while the button is parsed.
PeriodToken = Annotated[str, AfterValidator(_checked_period_token)]


class StatsCb(CallbackData, prefix="st"):
    action: StatsAction
    period: PeriodToken
    location_id: OptionalDbId = 0
    specialist_id: OptionalDbId = 0


def scope_of(data: StatsCb) -> Scope:
    return Scope(data.location_id or None, data.specialist_id or None)


def stats_keyboard(
    token: str,
    scope: Scope,
    choices: ScopeChoices,
    i18n: Translator,
    *,
    list_specialists: bool = False,
) -> InlineKeyboardMarkup:
    """Periods, then the business and its locations, then specialists (listed on demand),
    then the files. The current period and scope are marked with a dot."""
    here = {"location_id": scope.location_id or 0, "specialist_id": scope.specialist_id or 0}

    def mark(text: str, current: bool) -> str:
        return f"• {text}" if current else text

    kb = KeyboardBuilder()
    for kind in NAMED:
        kb.button(
            text=mark(i18n(f"stats.period.{kind.value}"), token == kind.value),
            callback_data=StatsCb(action=StatsAction.show, period=kind.value, **here),
        )
    sizes = [len(NAMED)]
    places = [(i18n("stats.scope.all"), Scope())] + [
        (name, Scope(location_id=loc)) for loc, name in choices.locations
    ]
    for text, target in places:
        kb.button(
            text=mark(text, target == scope),
            callback_data=StatsCb(
                action=StatsAction.show,
                period=token,
                location_id=target.location_id or 0,
            ),
        )
    sizes += [3] * ((len(places) + 2) // 3)
    if list_specialists:
        shown = choices.specialists[:MAX_SPECIALISTS]
        for spec_id, name in shown:
            kb.button(
                text=mark(name, scope.specialist_id == spec_id),
                callback_data=StatsCb(action=StatsAction.show, period=token, specialist_id=spec_id),
            )
        sizes += [2] * ((len(shown) + 1) // 2)
    else:
        kb.button(
            text=i18n("stats.btn.specialists"),
            callback_data=StatsCb(action=StatsAction.specialists, period=token, **here),
        )
        sizes.append(1)
    kb.button(
        text=i18n("stats.btn.files"),
        callback_data=StatsCb(action=StatsAction.files, period=token, **here),
    )
    sizes.append(1)
    kb.adjust(*sizes)
    return kb.as_markup()
