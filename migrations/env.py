"""Alembic environment (async engine).

The database URL comes from `DATABASE_URL` (environment or `.env`), or from
`-x database_url=...` / `config.attributes["database_url"]` for tests. EXCLUDE constraints are
written by hand in the migrations and kept out of autogenerate comparisons (alembic #958, #1300).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from db.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or context.get_x_argument(as_dictionary=True).get(
        "database_url"
    )
    if url:
        return str(url)
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    try:
        from dotenv import dotenv_values  # optional, ships with pydantic-settings' deps

        value = dotenv_values(".env").get("DATABASE_URL")
        if value:
            return value
    except ImportError:  # pragma: no cover
        pass
    raise SystemExit("configuration error: DATABASE_URL is required for migrations")


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # Hand-written EXCLUDE constraints and their GiST indexes are invisible to the models.
    return not (type_ in {"index", "unique_constraint"} and name and name.startswith("ex_"))


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
