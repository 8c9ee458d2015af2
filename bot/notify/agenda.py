"""`/agenda` as a rendered message: the agenda service's days drawn by `render_agenda`."""

from __future__ import annotations

import datetime as dt

from bot.keyboards.notify import ScheduleView
from bot.notify.render import Rendered, render_agenda, render_home
from bot.services.agenda import AgendaService

# (first day from today, number of days) of each schedule view.
VIEW_DAYS = {ScheduleView.today: (0, 1), ScheduleView.tomorrow: (1, 1), ScheduleView.week: (0, 7)}


class SpecialistAgenda(AgendaService):
    """`AgendaService` plus the rendered `/agenda` message (with the completed / no-show
    buttons)."""

    async def render_for(
        self, tg_id: int, *, now: dt.datetime, lang: str, view: ScheduleView | None = None
    ) -> Rendered | None:
        """The agenda message for the specialist behind `tg_id`: today and tomorrow (`/agenda`),
        or one `view` (today, tomorrow, the week from today); None for a non-specialist."""
        first, count = VIEW_DAYS.get(view, (0, 2)) if view is not None else (0, 2)
        days = await self.days_for(tg_id, now=now, first=first, count=count)
        if days is None:
            return None
        today = days[0][0] - dt.timedelta(days=first)
        return render_agenda(days, lang=lang, now=now, with_buttons=True, today=today)

    async def home_for(self, tg_id: int, *, now: dt.datetime, lang: str) -> str | None:
        """`📋 Today: 3 appointments, next at 12:15` for a specialist; None for anyone else."""
        days = await self.days_for(tg_id, now=now, count=1)
        if days is None:
            return None
        return render_home(days[0][1], now=now, lang=lang)
