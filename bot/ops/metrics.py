"""Prometheus metrics of one bot process (`GET /metrics`), with the `prometheus-client` library.

Counters only grow while the process lives; Prometheus' `rate()` and `increase()` read them.
The outbox gauges are measured from PostgreSQL at each scrape (`refresh_outbox`), so every
instance reports the same shared backlog. What to alert on is in the README (Operations).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.assignment import searches_given_up

CONTENT_TYPE = CONTENT_TYPE_LATEST

UPDATES = Counter(
    "bot_updates_total",
    "Updates handled, by type (message, callback_query, ...) and outcome "
    "(ok, unavailable: PostgreSQL or Redis failed, error: anything else).",
    ["type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "bot_handler_seconds",
    "Seconds from an update's arrival to the end of its handling, by handler.",
    ["handler"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BOOKINGS = Counter("bot_bookings_total", "Appointments booked (confirmed and paid).")
CANCELS = Counter("bot_cancels_total", "Appointments cancelled.")
REFUNDS = Counter("bot_refunds_total", "Cancellations that refunded money to a wallet.")
OUTBOX_BACKLOG = Gauge(
    "bot_outbox_backlog", "Notifications due now or earlier and not sent yet (all instances)."
)
OUTBOX_OLDEST_DUE_SECONDS = Gauge(
    "bot_outbox_oldest_due_seconds",
    "Age in seconds of the oldest notification that is due and not sent (0: none).",
)
SENDS = Counter(
    "bot_telegram_sends_total",
    "Notifications sent to Telegram by result: ok, 429 (asked to slow down), 403 (blocked), error.",
    ["result"],
)
REDIS_ERRORS = Counter(
    "bot_redis_errors_total", "Redis commands that failed (timeout, connection).", ["kind"]
)
POSTGRES_ERRORS = Counter(
    "bot_postgres_errors_total", "Updates that failed because PostgreSQL did not answer.", ["kind"]
)
POLLING = Gauge(
    "bot_polling",
    "1 while this process long-polls Telegram (it holds the polling lease, or Redis has not "
    "answered it since it started); 0 while it waits as a standby, and in webhook mode.",
)
# The process's own work per update, counted where it happens (the whole-stack benchmark and
# capacity planning read them: statements and checkouts per booking, commands per update).
SQL_STATEMENTS = Counter(
    "bot_sql_statements_total", "SQL statements sent to PostgreSQL (each execute, one batch each)."
)
POOL_CHECKOUTS = Counter(
    "bot_db_checkouts_total", "Connections taken from the database pool (one per transaction)."
)
REDIS_COMMANDS = Counter(
    "bot_redis_commands_total",
    "Redis commands sent (each command of a pipeline counts; a Lua script call is one).",
)

# The workplace search's limits (docs/rules.md#slot-grid): a time refused because a search gave
# up, not because it was proven full. Rare by design; a rise means days the search cannot
# settle (a very full location), where times may be shown taken that would fit.
HOLD_SEARCH_GAVE_UP = Counter(
    "bot_hold_search_gave_up_total",
    "Hold attempts refused because the hold script's workplace search gave up (SEARCH_BUDGET "
    "steps); a booking tries each free pair in turn, so one may count several.",
)
SLOT_CACHE_WRITES_SKIPPED = Counter(
    "bot_slot_cache_writes_skipped_total",
    "Slot-cache writes not made because WRITES_IN_FLIGHT were pending (Redis slow): the dates "
    "were served and not cached.",
)


class _SlotSearchLimit(Collector):
    """`bot_slot_search_gave_up_total`, read at each scrape from the domain's own count
    (`searches_given_up`): the domain imports no metrics library."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "bot_slot_search_gave_up",
            "Workplace searches of the slot engine (day builds, checks, confirms; a build may "
            "run several) that gave up at SEARCH_STATES and reported no room.",
            value=searches_given_up(),
        )


REGISTRY.register(_SlotSearchLimit())


def count_database_calls(engine: AsyncEngine) -> None:
    """Count the engine's statements and pool checkouts into `SQL_STATEMENTS` and
    `POOL_CHECKOUTS` (SQLAlchemy event listeners; about a microsecond each)."""
    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", _on_statement)
    event.listen(sync.pool, "checkout", _on_checkout)


def _on_statement(*_: object) -> None:
    SQL_STATEMENTS.inc()


def _on_checkout(*_: object) -> None:
    POOL_CHECKOUTS.inc()


# Outbox rows that still wait for a send (see bot/notify/worker.py's states).
_OUTBOX_DUE = text(
    "SELECT count(*), min(due_at) FROM outbox WHERE status = 'pending' AND due_at <= now()"
)


async def refresh_outbox(engine: AsyncEngine, *, now: datetime) -> None:
    """Measure the outbox gauges from the database (raises SQLAlchemy/driver errors)."""
    async with engine.connect() as conn:
        count, oldest = (await conn.execute(_OUTBOX_DUE)).one()
    OUTBOX_BACKLOG.set(int(count))
    OUTBOX_OLDEST_DUE_SECONDS.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


def render() -> bytes:
    """Every metric of this process in Prometheus' text format."""
    return generate_latest()
