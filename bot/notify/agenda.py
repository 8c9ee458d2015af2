"""`/agenda` as a rendered message: the agenda service's days drawn by `render_agenda`."""

from __future__ import annotations

import datetime as dt

from bot.notify.render import Rendered, render_agenda
from bot.services.agenda import AgendaService


class SpecialistAgenda(AgendaService):
    """`AgendaService` plus the rendered `/agenda` message (with the completed / no-show
    buttons)."""

    async def render_for(self, tg_id: int, *, now: dt.datetime, lang: str) -> Rendered | None:
        """The agenda message for the specialist behind `tg_id`; None for a non-specialist."""
        days = await self.days_for(tg_id, now=now)
        if days is None:
            return None
        return render_agenda(days, lang=lang, now=now, with_buttons=True)
