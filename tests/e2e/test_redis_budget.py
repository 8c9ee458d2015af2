"""Redis commands per update through the real dispatcher, middlewares, handlers and services
(every command the bot's client sends is recorded with the update it served), so the count
cannot silently grow back (README, Performance):

- the middlewares' share (update gate: dedupe, throttle, profile, conversation) is two commands
  for an update that leaves the conversation as it was and three for a step of a flow;
- a plain message, /book (the date step it opens), the date and the time steps of a booking
  stay within five commands in all: the slot cache's versions and entries and the live holds
  are read in one script call, and the dates' entries written in one more;
- Confirm stays within five: the gate's three, the live holds under the locks, and one script
  call after the commit (the slot cache's version bump, the events, the hold's release); the
  hold's pair comes with the conversation's data, so the hold is not read back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.redis_commands import CommandLog
from bot.app import BotApp
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.middlewares import UpdateGate
from tests.e2e.booking_support import booking_bot, new_client, t
from tests.e2e.test_booking_flow import booked, is_summary, to_summary
from tests.integration.factories import make_catalog

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

COMMANDS_PER_UPDATE = 5


def gate_commands(app: BotApp) -> set[str]:
    """What the middlewares send: the gate's and the FSM storage's scripts (by SHA) and the
    profile cache's key (a miss fills it)."""
    [gate] = [m for m in app.dispatcher.update.outer_middleware if isinstance(m, UpdateGate)]
    storage = gate.fsm_storage
    shas = {s.sha for s in (gate._begin, gate._end, storage._read, storage._write)}
    return {*shas, f"{app.settings.redis_prefix}:profile:"}


async def test_a_booking_stays_within_the_redis_budget_per_update(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    first, _ = await new_client(emulator, session_factory, 5901, lang="en")
    user, _ = await new_client(emulator, session_factory, 5902, lang="en")

    async with booking_bot(make_bot_settings) as app:
        # Scripts are loaded into Redis once per server, and the profile cached once per
        # user: a first booking and a first message do that.
        await to_summary(first, "en")
        await first.press(t("booking.btn.confirm", "en"))
        await first.wait_for_message(booked("en"))
        await user.send("/start")  # registers, drops the cached profile
        await user.wait_for_message()
        await user.send("/help")  # caches the profile again
        await user.wait_for_message(t("help.text", "en"))

        log = CommandLog()
        with log.attach(app.redis):
            help_id = await user.send("/help")
            await user.wait_for_message(t("help.text", "en"))
            book_id = await user.send("/book")
            await user.wait_for_message(t("booking.ask.date", "en"))
            date_id = await user.press("03.03")
            await user.wait_for_message(t("booking.ask.time", "en", zone=""))
            time_id = await user.press("11:00")
            await user.wait_for_message(is_summary("en"))
            confirm_id = await user.press(t("booking.btn.confirm", "en"))
            await user.wait_for_message(booked("en"))
            await emulator.wait_for(lambda: not emulator.pending_updates())
        ours = gate_commands(app)

    measured = (help_id, book_id, date_id, time_id, confirm_id)
    whole = {k: v for k, v in log.per_update().items() if k in measured}
    gate = {k: v for k, v in log.per_update(ours).items() if k in measured}
    report = f"all:\n{log.summary()}\nmiddlewares:\n{log.summary(ours)}"
    print(report)
    assert set(whole) == set(measured), report
    assert len(gate[help_id]) == 2, report  # /help leaves the conversation as it was
    assert all(len(gate[k]) <= 3 for k in measured), report
    for update_id in (help_id, book_id, date_id, time_id):
        assert len(whole[update_id]) <= COMMANDS_PER_UPDATE, report
    # Confirm: the gate's three, the live holds under the locks, then one script call: the
    # slot cache's version bump, three events and the hold's release.
    assert len(whole[confirm_id]) <= COMMANDS_PER_UPDATE, report
