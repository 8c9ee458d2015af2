"""Hot-path statements on the session's own asyncpg connection, inside its transaction.

SQLAlchemy's execute costs about 180 µs of CPU per statement on top of the driver's own 70 µs
(`SELECT 1` in a transaction, same run; docs/bench-booking.md), and a booking runs a dozen
fixed statements. `fetch` runs such a statement (SQLAlchemy Core, built once at import) on
the asyncpg connection the session has checked out, in the same transaction, through
asyncpg's prepared-statement cache (`execute_many` runs one per parameter set, in one round
trip):

- the statement is compiled once per (statement, parameter names) by the session's own
  dialect, so the SQL text is what SQLAlchemy itself would send;
- the session's transaction is begun first if it has not sent its BEGIN yet (SQLAlchemy's
  asyncpg adapter sends it lazily at the first statement), so a statement here never runs
  outside the transaction it belongs to; an autocommit session (`read_session`) runs it
  outside, as SQLAlchemy would;
- listeners of SQLAlchemy's `before_cursor_execute` event see the statement (the metrics'
  statement count, the tests' statement budgets);
- a driver error comes out as SQLAlchemy's `DBAPIError` with the same sqlstate and the
  engine's `hide_parameters`, as from `session.execute`: the callers' constraint and retry
  handling is unchanged, and no parameter reaches a log; an error that is not the driver's
  comes out unchanged;
- as SQLAlchemy does, an error that means the connection is gone invalidates it and marks
  every older connection of the pool for replacement at its next checkout (after a
  PostgreSQL restart all of them are dead), and a statement cancelled midway (a timeout)
  invalidates its connection, which may be left mid-message.

Only statements with plain parameters (no expanding IN lists: `= ANY(array)` instead) and
result columns the driver decodes itself (no SQLAlchemy result processing: integers,
numerics, text, booleans, timestamps; JSON and JSONB too, decoded by the codec SQLAlchemy's
asyncpg dialect installs on each connection) belong here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement

# A compiled statement: its SQL text, its parameters in $n order, each with its type's bind
# processor (None: passed as is) and its constant value (for values written in the statement).
_Compiled = tuple[str, list[tuple[str, Any, Any]]]
_COMPILED: dict[tuple[ClauseElement, frozenset[str]], _Compiled] = {}


def _compiled(statement: ClauseElement, dialect: Dialect, keys: frozenset[str]) -> _Compiled:
    found = _COMPILED.get((statement, keys))
    if found is None:
        compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("expanding IN parameters are not supported: use = ANY(array)")
        order = getattr(compiled, "positiontup", None) or ()  # the $n order (SQLCompiler)
        processors = getattr(compiled, "_bind_processors", None) or {}
        binds = getattr(compiled, "binds", None) or {}
        constants = {name: bind.effective_value for name, bind in binds.items()}
        found = (
            compiled.string,
            [(name, processors.get(name), constants.get(name)) for name in order],
        )
        _COMPILED[(statement, keys)] = found
    return found


async def fetch(
    session: AsyncSession, statement: ClauseElement, params: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """Run `statement` (SQLAlchemy Core, with `params` by name) on the session's connection,
    in its transaction; its rows as asyncpg records (tuples by position, as SQLAlchemy's
    rows). Raises `DBAPIError` (sqlstate as from `session.execute`)."""
    return await _run(session, statement, [params or {}], many=False)


async def execute_many(
    session: AsyncSession, statement: ClauseElement, param_sets: Sequence[Mapping[str, Any]]
) -> None:
    """Run `statement` once per parameter set, in their order, in one round trip (asyncpg's
    `executemany`), on the session's connection in its transaction; rows are discarded. One
    statement to the event's listeners, as SQLAlchemy's own executemany. Raises `DBAPIError`
    as `fetch`, and ValueError (before anything is sent) when the sets do not all name the
    same parameters; nothing is run for no sets."""
    if param_sets:
        await _run(session, statement, param_sets, many=True)


async def _run(
    session: AsyncSession,
    statement: ClauseElement,
    param_sets: Sequence[Mapping[str, Any]],
    *,
    many: bool,
) -> Sequence[Any]:
    keys = frozenset(param_sets[0])
    if many and any(frozenset(params) != keys for params in param_sets):
        raise ValueError("every parameter set of execute_many must name the same parameters")
    connection = await session.connection()
    sql, order = _compiled(statement, connection.dialect, keys)
    arg_sets = []
    for params in param_sets:
        args = []
        for name, process, constant in order:
            value = params.get(name, constant)
            args.append(value if process is None else process(value))
        arg_sets.append(args)
    # Listeners of SQLAlchemy's statement event (the metrics' statement count, the tests'
    # statement budgets) see these statements too.
    shown: Any = arg_sets if many else arg_sets[0]  # the parameters as SQLAlchemy shows them
    sync = connection.sync_connection
    if sync is not None and sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, sql, shown, None, many)
    pooled = await connection.get_raw_connection()
    adapted: Any = pooled.dbapi_connection  # SQLAlchemy's asyncpg adapter
    try:
        async with adapted._execute_mutex:  # one statement at a time, as the adapter does
            if not adapted._started and adapted.isolation_level != "autocommit":
                await adapted._start_transaction()  # the BEGIN the adapter still owes
            driver: Any = pooled.driver_connection  # asyncpg's own connection
            if many:
                await driver.executemany(sql, arg_sets)
                return ()
            records: Sequence[Any] = await driver.fetch(sql, *arg_sets[0])
            return records
    except DBAPIError:
        raise
    except Exception as error:
        await _raise_translated(connection, pooled, adapted, sql, shown, error)
        raise  # pragma: no cover - _raise_translated always raises
    except BaseException:
        # Cancelled (or interrupted) mid-statement: the connection may be left mid-message.
        # As SQLAlchemy does, this connection is invalidated (not the rest of the pool).
        await connection.invalidate()
        raise


async def _raise_translated(
    connection: AsyncConnection,
    pooled: Any,
    adapted: Any,
    sql: str,
    args: Any,
    error: Exception,
) -> None:
    """Raise `error` as `session.execute` would: the adapter's DB-API translation wrapped in
    SQLAlchemy's `DBAPIError` (parameters hidden as the engine says), or `error` itself when
    it is not the driver's. When it means the connection is gone, this connection is
    invalidated and every older one of the pool is replaced at its next checkout."""
    dialect = connection.dialect
    try:
        adapted._handle_exception(error)  # raises the DB-API translation (or `error`)
    except Exception as raised:
        dbapi_error: Any = raised
    if not isinstance(dbapi_error, dialect.loaded_dbapi.Error):
        raise dbapi_error
    disconnect = bool(dialect.is_disconnect(dbapi_error, adapted, None))
    if disconnect:
        engine = connection.sync_engine
        engine.pool._invalidate(pooled, dbapi_error, _checkin=False)
        await connection.invalidate(dbapi_error)
    raise DBAPIError.instance(
        sql,
        args,
        dbapi_error,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.sync_engine.hide_parameters,
        connection_invalidated=disconnect,
        dialect=dialect,
    ) from error
