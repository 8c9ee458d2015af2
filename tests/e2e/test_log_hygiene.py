"""A whole run of the real `python -m bot` process with `LOG_FORMAT=json` at DEBUG: every line is
a JSON object, each update's line carries its id, user, handler and latency, and no line holds
the bot token, the payment provider token, a phone number, a payment payload or a charge id."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from bot.emulator import BotAPIEmulator
from bot.i18n import translate
from tests.e2e.test_process import bot_process
from tests.emulator.fixtures import process_env
from tests.money import rub

PROVIDER = "284685063:TEST:provider-secret-value"
PHONE = "+79161234567"


async def test_a_full_run_logs_json_and_no_secret_phone_or_payload(
    clean_db: Any,
    redis: Any,
    redis_prefix: str,
    database_url: str,
    emulator: BotAPIEmulator,
    tmp_path: Path,
) -> None:
    env = process_env(
        emulator,
        database_url,
        redis_prefix,
        RUN_WORKER="false",
        THROTTLE_RATE_PER_SECOND="1000",
        LOG_FORMAT="json",
        PAYMENT_PROVIDER_TOKEN=PROVIDER,
    )
    env["LOG_LEVEL"] = "DEBUG"
    zoe = emulator.user(4201, "Zoe", language_code="en")
    async with bot_process(emulator, env, tmp_path) as proc:
        await zoe.send("/start")
        await zoe.wait_for_message(translate("start.greeting", "en", name="Zoe"))
        await zoe.share_contact(PHONE)
        await zoe.wait_for_message(translate("phone.saved", "en"))
        await zoe.send("/wallet")
        await zoe.wait_for_message(lambda m: bool(m.button_texts()))
        await zoe.press(translate("account.btn.topup", "en"))
        await zoe.wait_for_message(translate("account.wallet.choose_amount", "en"))
        await zoe.press(rub(1000, "en"))
        invoice = await zoe.wait_for_message(lambda m: m.invoice is not None)
        assert invoice.invoice is not None
        payload = invoice.invoice["payload"]
        await zoe.pay(invoice, charge_id="charge-secret-4201")
        await zoe.wait_for_message(lambda m: rub(1000, "en") in (m.text or ""), timeout=30)
        await zoe.press_data("forged:data:123")  # a forged button: the error path logs too
        await zoe.wait_for_callback_answer()
        proc.send_signal(signal.SIGTERM)
        await proc.wait()

    text = "\n".join(p.read_text() for p in tmp_path.glob("bot-*.log"))
    for secret in (emulator.token, PROVIDER, PHONE, PHONE[1:], "9161234567", payload):
        assert secret not in text, secret
    assert "charge-secret-4201" not in text
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    updates = [r for r in records if r["logger"] == "bot.updates"]
    assert len(updates) >= 8
    for record in updates:
        assert record["update_id"] is not None and record["user_id"] == zoe.id
        assert isinstance(record["latency_ms"], float)
    handled = {r["handler"] for r in updates}
    assert {"on_start", "on_contact"} <= handled
