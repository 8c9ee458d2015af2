"""Telling an outage from a bug (`classify`) and logging it once per kind per minute
(`OutageLog`, on a hand-moved clock)."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.ops.outage import POSTGRESQL, REDIS, Outage, OutageLog, classify
from bot.ops.redis import RedisUnavailable


def _caused(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RedisTimeoutError("Timeout reading"), Outage(REDIS, "TimeoutError")),
        (RedisUnavailable("open"), Outage(REDIS, "RedisUnavailable")),
        (ConnectionRefusedError(111, "refused"), Outage(POSTGRESQL, "ConnectionRefusedError")),
        (
            DBAPIError("SELECT 1", None, asyncpg.ConnectionDoesNotExistError("closed")),
            Outage(POSTGRESQL, "ConnectionDoesNotExistError"),
        ),
        (
            _caused(RuntimeError("wrapped"), asyncpg.CannotConnectNowError("starting up")),
            Outage(POSTGRESQL, "CannotConnectNowError"),
        ),
    ],
)
def test_outages_are_recognised_through_wrappers(exc: BaseException, expected: Outage) -> None:
    assert classify(exc) == expected


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("a bug"),
        ResponseError("WRONGTYPE"),
        IntegrityError("INSERT", None, Exception("unique violation")),
        # A Telegram failure caused by a socket error is not an outage of ours.
        _caused(TelegramNetworkError(GetMe(), "no network"), ConnectionRefusedError(111, "x")),
    ],
)
def test_other_failures_are_not_outages(exc: BaseException) -> None:
    assert classify(exc) is None


def test_one_line_per_kind_per_minute_counting_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    outages = OutageLog(every=60.0, clock=lambda: now[0])
    pg = Outage(POSTGRESQL, "ConnectionRefusedError")
    assert outages.record(pg)
    for _ in range(5):
        now[0] += 5
        assert not outages.record(pg)
        assert not outages.record(Outage(POSTGRESQL, "ConnectionDoesNotExistError"))
    assert outages.record(Outage(REDIS, "TimeoutError"))  # another kind: its own line
    now[0] = 61.0
    assert outages.record(pg)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 3
    assert lines[0].startswith("PostgreSQL unavailable (ConnectionRefusedError)")
    assert lines[1].startswith("Redis unavailable (TimeoutError)")
    assert "and 10 more updates since the last line" in lines[2]
