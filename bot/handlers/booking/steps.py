"""Which booking screen to show, after which use case: the step a button asks for, the summary
after picking a time (the hold is taken by `BookingFlow.pick_time`), or the summary again
(`BookingFlow.resume`). A time that is gone leads back to that day's times with the reason."""

from __future__ import annotations

from bot.handlers.booking.context import Deps, Draft
from bot.handlers.booking.screens import (
    Picked,
    Screen,
    dates,
    desk_client,
    locations,
    resolve,
    services,
    specialists,
    summary_screen,
    times,
)
from bot.keyboards.booking import BookStep
from bot.services.booking_flow import LostReason, SummaryQuote, TimeChoice, TimeGone

# The notice above the times when the picked time is gone, by reason.
LOST_NOTICES = {
    LostReason.TAKEN: "booking.taken",
    LostReason.HOLD_EXPIRED: "booking.hold_expired",
    LostReason.UNAVAILABLE: "booking.unavailable",
}
# At the desk: the notices that would say "you" name the client instead.
DESK_LOST_NOTICES = {**LOST_NOTICES, LostReason.HOLD_EXPIRED: "admin.desk.hold_expired"}


def lost_notice(deps: Deps, draft: Draft, reason: LostReason) -> str:
    """Why the picked time is gone; at the desk it names the client."""
    client = desk_client(deps, draft)
    notices = LOST_NOTICES if client is None else DESK_LOST_NOTICES
    return deps.i18n(notices[reason], client=client)


async def screen_for(
    deps: Deps, draft: Draft, step: BookStep, *, notice: str = "", lost: int | None = None
) -> Screen:
    """The screen of `step` (or of the first step whose earlier choices are missing); `lost`, a
    start (epoch seconds), is left out of a times screen (`screens.times`)."""
    picked = await resolve(deps, draft)
    if step is BookStep.LOCATION or picked.location is None:
        return await locations(deps, draft, notice=notice)
    if step is BookStep.SERVICE or picked.service is None:
        return await services(deps, draft, picked, notice=notice)
    if step is BookStep.SPECIALIST or (picked.specialist is None and not draft.any_specialist):
        return await specialists(deps, draft, picked, notice=notice)
    if step is BookStep.DATE or draft.day is None:
        return await dates(deps, draft, picked, notice=notice)
    if step is BookStep.TIME or draft.start is None:
        return await times(deps, draft, picked, notice=notice, lost=lost)
    return await resume_summary(deps, draft, picked, notice=notice)


def time_choice(deps: Deps, draft: Draft, picked: Picked) -> TimeChoice:
    assert picked.location is not None and picked.service is not None
    start = draft.start_at
    assert start is not None
    return TimeChoice(
        client_id=deps.client_id,
        location_id=picked.location.id,
        service_id=picked.service.id,
        specialist_id=draft.chosen_specialist,
        start=start,
    )


async def pick_time(deps: Deps, draft: Draft, picked: Picked) -> Screen:
    """Hold the draft's start and show the summary; a lost time re-offers that day's times."""
    try:
        quote = await deps.flow.pick_time(time_choice(deps, draft, picked), now=deps.now)
    except TimeGone as gone:
        return await times_after_loss(deps, draft, picked, gone.reason)
    remember_quote(draft, quote)
    return summary_screen(deps, draft, picked, quote)


def remember_quote(draft: Draft, quote: SummaryQuote) -> None:
    """Keep what the summary promises (the hold, its specialist and price) for the confirm,
    and the hold's workplace: the confirm locks the hold's pair without reading it back."""
    draft.hold_id = quote.hold_id
    draft.assigned_specialist = quote.specialist_id
    draft.held_workplace = quote.workplace_id
    draft.quoted_price = str(quote.price)


async def resume_summary(deps: Deps, draft: Draft, picked: Picked, *, notice: str = "") -> Screen:
    """The summary again (stale button, restart): the live hold, or the time held again."""
    try:
        quote = await deps.flow.resume(
            time_choice(deps, draft, picked), draft.hold_id, now=deps.now
        )
    except TimeGone as gone:
        return await times_after_loss(deps, draft, picked, gone.reason)
    remember_quote(draft, quote)
    return summary_screen(deps, draft, picked, quote, notice=notice)


async def times_after_loss(deps: Deps, draft: Draft, picked: Picked, reason: LostReason) -> Screen:
    """That day's free times as they are now, without the time just lost, with why it is gone."""
    notice = lost_notice(deps, draft, reason)
    return await times(deps, draft, picked, notice=notice, lost=draft.start)
