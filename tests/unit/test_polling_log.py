"""Long polling's outage log: aiogram's two lines per failed getUpdates become one line when
Telegram stops answering, a summary every `summary_seconds` while it stays away, and one line
when it answers again. Records go through aiogram's real logger; the clock is a variable."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.ops.polling_log import AIOGRAM_DISPATCHER, PollingOutageLog, install_polling_log

aiogram_log = logging.getLogger(AIOGRAM_DISPATCHER)


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outage_log(clock: Clock) -> Iterator[PollingOutageLog]:
    outage = PollingOutageLog(summary_seconds=600.0, clock=clock)
    remove = install_polling_log(outage)
    try:
        yield outage
    finally:
        remove()


def fail_once(tries: int) -> None:
    """What aiogram's polling loop logs for one failed getUpdates (its own two lines)."""
    aiogram_log.error("Failed to fetch updates - %s: %s", "TelegramNetworkError", "timed out")
    aiogram_log.warning(
        "Sleep for %f seconds and try again... (tryings = %d, bot id = %d)", 1.3, tries, 42
    )


def answered(tries: int) -> None:
    aiogram_log.info("Connection established (tryings = %d, bot id = %d)", tries, 42)


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.name, r.getMessage()) for r in caplog.records]


def test_an_outage_is_one_line_down_and_one_line_back(
    outage_log: PollingOutageLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for tries in range(40):
        fail_once(tries)
        clock.now += 5
    answered(40)
    assert lines(caplog) == [
        (
            "bot.polling",
            "Long polling gets no answer from Telegram (TelegramNetworkError: timed out); retrying "
            "with backoff, one line when it answers again",
        ),
        ("bot.polling", "Long polling reaches Telegram again after 200 s and 40 failed attempts"),
    ]
    assert caplog.records[0].levelno == logging.WARNING
    assert caplog.records[1].levelno == logging.INFO


def test_a_long_outage_adds_one_summary_per_period(
    outage_log: PollingOutageLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for tries in range(300):  # 25 minutes, one failure every 5 s
        fail_once(tries)
        clock.now += 5
    said = [message for _, message in lines(caplog)]
    assert len(said) == 3, said
    assert said[1] == (
        "Long polling still gets no answer from Telegram: 121 attempts in 600 s "
        "(last: TelegramNetworkError: timed out)"
    )
    assert said[2].startswith(
        "Long polling still gets no answer from Telegram: 241 attempts in 1200 s"
    )


def test_a_second_outage_is_said_again_and_other_records_pass(
    outage_log: PollingOutageLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answered(0)  # no outage was said: nothing to say now
    fail_once(0)
    answered(1)
    fail_once(0)
    fail_once(1)
    answered(2)
    aiogram_log.info("Start polling")
    said = [message for _, message in lines(caplog)]
    assert [m.split(" (")[0].split(" after")[0] for m in said] == [
        "Long polling gets no answer from Telegram",
        "Long polling reaches Telegram again",
        "Long polling gets no answer from Telegram",
        "Long polling reaches Telegram again",
        "Start polling",
    ]
    assert said[3].endswith("and 2 failed attempts")


def test_removed_it_lets_aiogram_speak_again(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    remove = install_polling_log(PollingOutageLog(clock=clock))
    remove()
    fail_once(0)
    assert len(caplog.records) == 2
