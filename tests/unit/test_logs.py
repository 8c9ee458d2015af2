"""Log set-up: JSON lines with the update's context, the text format's context suffix, and
secrets replaced wherever they would appear (message, arguments, traceback)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.ops.logs import REDACTED, UpdateContext, configure_logging, current_update

TOKEN = "123456:SECRET-token-value"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Where the configured handler writes; the root logger is restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_update_context_and_extra_fields(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", secrets=[TOKEN], stream=stream)
    log = logging.getLogger("bot.test")
    log.info("outside any update")
    token = current_update.set(UpdateContext(update_id=7, user_id=42, handler="on_start"))
    try:
        log.info("handled in %s ms", 12, extra={"latency_ms": 12.0})
    finally:
        current_update.reset(token)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "outside any update" and first["update_id"] is None
    assert second["message"] == "handled in 12 ms"
    assert (second["update_id"], second["user_id"], second["handler"]) == (7, 42, "on_start")
    assert second["latency_ms"] == 12.0
    assert (second["level"], second["logger"]) == ("INFO", "bot.test")


def test_text_lines_show_the_update_context(stream: io.StringIO) -> None:
    configure_logging("INFO", "text", stream=stream)
    token = current_update.set(UpdateContext(update_id=7, user_id=42, handler="on_help"))
    try:
        logging.getLogger("bot.test").warning("slow")
    finally:
        current_update.reset(token)
    assert stream.getvalue().rstrip().endswith("WARNING bot.test: slow [update 7 user 42 on_help]")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_replaced_in_messages_arguments_and_tracebacks(
    stream: io.StringIO, fmt: str
) -> None:
    configure_logging("INFO", fmt, secrets=[TOKEN, "", "provider-secret"], stream=stream)
    log = logging.getLogger("bot.test")
    log.warning("url https://api.telegram.org/bot%s/getMe", TOKEN)
    log.warning(f"inline provider-secret and {TOKEN}")
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
    except RuntimeError:
        log.exception("send failed")
    out = stream.getvalue()
    assert TOKEN not in out and "provider-secret" not in out
    assert out.count(REDACTED) >= 4
    assert "RuntimeError" in out  # the traceback is still there, cleaned
