"""kill -9 of the real `python -m bot` after Confirm's transaction committed and before its reply
reached Telegram: after the restart the re-delivered Confirm shows the same "you are booked"
card with its buttons (never "start again"), with one appointment and one
debit."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import BotAPIEmulator
from bot.emulator.types import EmuMessage
from tests.e2e.booking_support import (
    appointments_of,
    assert_money_invariant,
    new_client,
    t,
    wallet_of,
)
from tests.e2e.test_process import bot_process
from tests.emulator.fixtures import process_env
from tests.integration.factories import make_catalog

# The bot runs on the real clock here: the catalog is open every day, so some date and time
# are always offered; the test presses the first of each.


def first_button(message: EmuMessage, marker: str) -> str:
    for row in message.buttons:
        for button in row:
            data = str(button.get("callback_data", ""))
            if marker in data:
                return data
    raise AssertionError(f"no {marker} button in {message.button_texts()}")


def offers(marker: str) -> Callable[[EmuMessage], bool]:
    return lambda m: any(marker in str(b.get("callback_data", "")) for r in m.buttons for b in r)


async def test_killed_between_commit_and_reply_the_redelivered_confirm_shows_the_card(
    clean_db: Any,
    redis: Any,
    redis_prefix: str,
    database_url: str,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    await make_catalog(session_factory, specialists=1, opens=time(0, 0), closes=time(23, 59))
    user, client_id = await new_client(emulator, session_factory, 5401, lang="en")
    env = process_env(
        emulator, database_url, redis_prefix, RUN_WORKER="false", THROTTLE_RATE_PER_SECOND="1000"
    )
    async with bot_process(emulator, env, tmp_path) as proc:
        await user.send("/book")
        dates = await user.wait_for_message(offers(":d:pick:"), timeout=30)
        await user.press_data(first_button(dates, ":d:pick:"), message_id=dates.message_id)
        times = await user.wait_for_message(offers(":t:pick:"), timeout=30)
        await user.press_data(first_button(times, ":t:pick:"), message_id=times.message_id)
        summary = await user.wait_for_message(offers(":c:ok:"), timeout=30)
        # The card's edit hangs in "Telegram": the transaction has committed when it is sent.
        emulator.delay("editMessageText", 120)
        mark = emulator.last_seq
        update_id = await user.press_data(
            first_button(summary, ":c:ok:"), message_id=summary.message_id
        )
        await emulator.wait_for_call("editMessageText", chat_id=user.chat_id, after=mark)
        proc.kill()
        await proc.wait()
    emulator.delay("editMessageText", 0)
    assert len(await appointments_of(session_factory, client_id)) == 1  # committed
    assert update_id in [u["update_id"] for u in emulator.pending_updates()]

    async with bot_process(emulator, env, tmp_path) as proc:
        await emulator.wait_for(lambda: not emulator.pending_updates(), timeout=60)
        await emulator.wait_for_call(
            "editMessageText", chat_id=user.chat_id, completed=True, after=mark, timeout=60
        )
        card = emulator.message(user.chat_id, summary.message_id)
        assert card is not None
        assert (card.text or "").startswith(t("booking.done", "en").split("\n", 1)[0])
        texts = card.button_texts()
        assert t("booking.btn.cancel_appointment", "en") in texts
        assert t("booking.btn.calendar", "en") in texts
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert not [m for m in user.messages if t("booking.notice.flow_gone", "en") in (m.text or "")]
    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.status == "booked"
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("4000.00")
    assert [r.kind for r in ledger] == ["topup", "debit"]
    await assert_money_invariant(session_factory)
