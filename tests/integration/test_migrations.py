"""Migrations: every revision upgrades, downgrades cleanly and upgrades again (the stairway), and
the migrated schema matches the models, so the two cannot drift apart unnoticed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Base
from tests.conftest import alembic_config, create_database, drop_database

# Guards written by hand in the migrations; autogenerate cannot see them, so they are checked here.
HAND_WRITTEN_EXCLUSIONS = {
    "ex_appointments_specialist_busy",
    "ex_appointments_workplace_busy",
    "ex_appointments_client_busy",
}
HAND_WRITTEN_TRIGGERS = {"trg_appointments_blocked_until"}

# Schema objects, read from the catalogs. Objects owned by an extension (btree_gist is left
# installed on downgrade on purpose) and Alembic's own bookkeeping table are not the schema.
SNAPSHOT_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'alembic_version'
    """,
    "constraints": """
        SELECT cl.relname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = 'public' AND cl.relname <> 'alembic_version'
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'
    """,
    "triggers": """
        SELECT cl.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid
        WHERE NOT t.tgisinternal
    """,
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND NOT EXISTS (
            SELECT 1 FROM pg_depend d
            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    """,
    "types": """
        SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r') AND NOT EXISTS (
            SELECT 1 FROM pg_depend d
            WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    """,
    "sequences": """
        SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'
    """,
}

Snapshot = dict[str, frozenset[tuple[Any, ...]]]


async def schema_snapshot(url: str) -> Snapshot:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return {
            key: frozenset(tuple(row) for row in await conn.fetch(sql))
            for key, sql in SNAPSHOT_QUERIES.items()
        }
    finally:
        await conn.close()


# Alembic's env.py and the database helpers run their own event loop (asyncio.run); they run in
# a worker thread so that the tests' shared event loop is left alone.
async def upgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


def describe_difference(expected: Snapshot, actual: Snapshot) -> str:
    lines = []
    for key in SNAPSHOT_QUERIES:
        for row in sorted(expected[key] - actual[key], key=repr):
            lines.append(f"missing {key}: {row}")
        for row in sorted(actual[key] - expected[key], key=repr):
            lines.append(f"extra {key}: {row}")
    return "\n".join(lines)


def revisions_in_order() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("unused"))
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def _autogenerate_differences(url: str) -> list[Any]:
    """What `alembic revision --autogenerate` would write: run the real env.py (its
    include_object, its type comparison) and compare the models with the migrated database."""
    cfg = alembic_config(url)
    script = ScriptDirectory.from_config(cfg)
    differences: list[Any] = []

    def compare(_heads: Any, context: MigrationContext) -> list[Any]:
        context.opts["compare_server_default"] = True
        differences.extend(compare_metadata(context, Base.metadata))
        return []  # compare only, migrate nothing

    with EnvironmentContext(cfg, script, fn=compare):
        script.run_env()
    return differences


async def autogenerate_differences(url: str) -> list[Any]:
    return await asyncio.to_thread(_autogenerate_differences, url)


@pytest.fixture
async def scratch_database() -> AsyncIterator[str]:
    name = f"booking_migrations_{uuid.uuid4().hex[:10]}"
    url = await asyncio.to_thread(create_database, name)
    try:
        yield url
    finally:
        await asyncio.to_thread(drop_database, name)


def test_history_is_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config("unused"))
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads {heads}: add a merge revision or re-chain"
    assert revisions_in_order()[0] == "0001"


async def test_stairway(scratch_database: str) -> None:
    """For every revision in order: upgrade, downgrade one step (the schema is exactly what it
    was before), upgrade again (the schema is exactly what the first upgrade built)."""
    url = scratch_database
    for revision in revisions_in_order():
        before = await schema_snapshot(url)
        await upgrade(url, revision)
        after = await schema_snapshot(url)
        assert after != before, f"{revision} changed nothing"

        await downgrade(url, "-1")
        reverted = await schema_snapshot(url)
        assert reverted == before, (
            f"downgrade of {revision} left the schema changed:\n"
            + describe_difference(before, reverted)
        )

        await upgrade(url, revision)
        again = await schema_snapshot(url)
        assert again == after, (
            f"{revision} built a different schema the second time:\n"
            + describe_difference(after, again)
        )

    head = await schema_snapshot(url)
    constraints = {name for _table, name, _definition in head["constraints"]}
    assert constraints >= HAND_WRITTEN_EXCLUSIONS
    triggers = {name for _table, name, _definition in head["triggers"]}
    assert triggers >= HAND_WRITTEN_TRIGGERS

    # Full round trip: everything down to an empty schema and back up.
    await downgrade(url, "base")
    assert all(not rows for rows in (await schema_snapshot(url)).values())
    await upgrade(url, "head")
    assert await schema_snapshot(url) == head


async def test_models_match_migrations(scratch_database: str) -> None:
    await upgrade(scratch_database, "head")
    differences = await autogenerate_differences(scratch_database)
    assert differences == [], (
        "db/models.py and migrations/ disagree; write a migration:\n"
        + "\n".join(map(repr, differences))
    )


async def test_drift_would_be_detected(scratch_database: str) -> None:
    """The comparison is not vacuous: a column the migrations never created is reported."""
    await upgrade(scratch_database, "head")
    conn = await asyncpg.connect(scratch_database.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("ALTER TABLE clients DROP COLUMN notes")
    finally:
        await conn.close()
    differences = await autogenerate_differences(scratch_database)
    assert any(d[0] == "add_column" and d[3].name == "notes" for d in differences), differences


async def test_test_database_is_at_head(engine: AsyncEngine) -> None:
    """The shared test fixture database is built by the migrations, up to the latest one."""
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == revisions_in_order()[-1]
