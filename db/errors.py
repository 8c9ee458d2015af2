"""PostgreSQL error codes (sqlstates) the services translate, and how to read them.

Constraint violations become domain errors at the service boundary (an exclusion violation on
appointments is `SlotTaken`, a unique violation on the ledger is "already refunded", ...).
Serialization failures and deadlocks are transient: the whole transaction is simply run again
(`bot.services.transaction.in_transaction`).
"""

from __future__ import annotations

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
CHECK_VIOLATION = "23514"
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
RETRYABLE = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL sqlstate behind a SQLAlchemy/asyncpg error, if there is one."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def constraint_name(exc: BaseException) -> str | None:
    """The violated constraint's name, when the driver reports it."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        name = getattr(seen, "constraint_name", None)
        if isinstance(name, str):
            return name
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None
