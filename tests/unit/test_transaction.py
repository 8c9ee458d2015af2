"""The one transaction helper: which errors run the transaction again, how often, how long apart."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from bot.domain.errors import SlotTaken
from bot.services import transaction
from bot.services.transaction import TRANSACTION_ATTEMPTS, in_transaction, retry_delay


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def db_error(sqlstate: str) -> DBAPIError:
    return DBAPIError("statement", {}, _PgError(sqlstate))


class FakeSession:
    """Records how each transaction ended."""

    def __init__(self, log: list[str]) -> None:
        self._log = log

    async def __aenter__(self) -> FakeSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def begin(self) -> FakeSession.Tx:
        return FakeSession.Tx(self._log)

    class Tx:
        def __init__(self, log: list[str]) -> None:
            self._log = log

        async def __aenter__(self) -> None:
            return None

        async def __aexit__(self, exc_type: Any, *rest: object) -> None:
            self._log.append("commit" if exc_type is None else "rollback")


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def sessions(log: list[str]) -> Any:
    return lambda: FakeSession(log)


def failing(*errors: BaseException, result: str = "done") -> Any:
    """A body that raises the given errors on its first runs, then returns `result`."""
    runs: list[int] = []

    async def body(session: FakeSession) -> str:
        runs.append(1)
        if len(runs) <= len(errors):
            raise errors[len(runs) - 1]
        return result

    body.runs = runs  # type: ignore[attr-defined]
    return body


async def test_serialization_failures_and_deadlocks_run_the_transaction_again() -> None:
    log: list[str] = []
    sleep = Sleeps()
    body = failing(db_error("40001"), db_error("40P01"))
    assert await in_transaction(sessions(log), body, sleep=sleep) == "done"
    assert len(body.runs) == 3
    assert log == ["rollback", "rollback", "commit"]
    assert len(sleep.delays) == 2
    assert all(0 <= d <= transaction.RETRY_BACKOFF_CAP_SECONDS for d in sleep.delays)


async def test_gives_up_after_the_attempt_count_with_the_last_error() -> None:
    log: list[str] = []
    errors = [db_error("40P01") for _ in range(TRANSACTION_ATTEMPTS)]
    body = failing(*errors)
    with pytest.raises(DBAPIError) as info:
        await in_transaction(sessions(log), body, sleep=Sleeps())
    assert info.value is errors[-1]
    assert len(body.runs) == TRANSACTION_ATTEMPTS
    assert log == ["rollback"] * TRANSACTION_ATTEMPTS


@pytest.mark.parametrize(
    "error",
    [db_error("23505"), db_error("23P01"), SlotTaken("just taken"), RuntimeError("bug")],
    ids=["unique", "exclusion", "domain", "other"],
)
async def test_other_errors_roll_back_and_propagate_at_once(error: Exception) -> None:
    log: list[str] = []
    sleep = Sleeps()
    body = failing(error)
    with pytest.raises(type(error)):
        await in_transaction(sessions(log), body, sleep=sleep)
    assert len(body.runs) == 1
    assert log == ["rollback"]
    assert sleep.delays == []


def test_retry_delays_are_jittered_and_capped() -> None:
    rng = random.Random(7)
    first = [retry_delay(1, rng=rng) for _ in range(200)]
    late = [retry_delay(30, rng=rng) for _ in range(200)]
    assert max(first) <= transaction.RETRY_BACKOFF_BASE_SECONDS
    assert len(set(first)) > 100  # jittered, not one fixed pause
    assert max(late) <= transaction.RETRY_BACKOFF_CAP_SECONDS
    assert max(late) > transaction.RETRY_BACKOFF_BASE_SECONDS * 4  # and it grows


async def test_at_least_one_attempt_is_required() -> None:
    with pytest.raises(ValueError):
        await in_transaction(sessions([]), failing(), attempts=0)
