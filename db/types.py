"""Column types that need care at the database boundary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from sqlalchemy import Text, Time, cast, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import UserDefinedType

from bot.domain.walltime import WallTime


class WallClock(UserDefinedType[WallTime]):
    """A PostgreSQL `time` column read and written as `WallTime`, so `24:00` (the end of a day,
    which PostgreSQL stores and asyncpg cannot decode into `datetime.time`) round-trips.

    The column stays `time` (the seed's type, its CHECKs and comparisons unchanged); only the
    wire format is text: SELECT reads `CAST(col AS TEXT)` and parameters are sent as text and
    cast to `time` in SQL. Parameters may be `WallTime` or `datetime.time`.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "TIME WITHOUT TIME ZONE"

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return cast(cast(bindvalue, Text), Time)

    def column_expression(self, colexpr: Any) -> ColumnElement[Any]:
        return type_coerce(cast(colexpr, Text), self)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], str | None]:
        def process(value: Any) -> str | None:
            if value is None:
                return None
            if isinstance(value, time):
                value = WallTime.of(value)
            if not isinstance(value, WallTime):
                raise TypeError(f"expected WallTime or time, got {type(value).__name__}")
            return str(value)

        return process

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], WallTime | None]:
        def process(value: Any) -> WallTime | None:
            return None if value is None else WallTime.parse(str(value))

        return process

    @property
    def python_type(self) -> type[WallTime]:
        return WallTime
