"""`python -m bot catalog import FILE.yaml [--dry-run]` and `python -m bot catalog export FILE`.

Exit codes: 0 done; 1 the database or the file system failed, or an import was committed but
the running bots' slot cache could not be invalidated (one line on stderr); 2 the file
or the command line is invalid (every problem on stderr). Bad input never prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

from bot.catalog.checks import CatalogError, parse_catalog
from bot.catalog.exporter import export_catalog
from bot.catalog.importer import import_catalog
from bot.catalog.yamlio import dump_catalog, load_yaml
from bot.config import ConfigError, DatabaseSettings, load_database_settings
from bot.ops.redis import make_redis
from bot.services.availability import SLOT_CACHE_TTL_SECONDS, invalidate_catalog
from db.engine import make_engine, make_session_factory

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2


async def _after_import(settings: DatabaseSettings) -> str | None:
    """Run after a committed import that changed something: drops the cached slots of every
    running bot (the catalog decides which slots exist). Returns why that failed, or None."""
    redis = make_redis(settings.redis_url, timeout=3.0, breaker_seconds=0)
    try:
        await invalidate_catalog(redis, settings.redis_prefix)
    except (RedisError, OSError) as exc:
        return str(exc) or type(exc).__name__
    finally:
        await redis.aclose()
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot catalog",
        description="Load or save the catalog (locations, services, specialists, schedules).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="make the database match a catalog file")
    imp.add_argument("file", help="the catalog YAML file")
    imp.add_argument(
        "--dry-run", action="store_true", help="check the file and show what would change"
    )
    exp = commands.add_parser("export", help="write the current catalog to a file")
    exp.add_argument("file", help="where to write the YAML ('-' for stdout)")
    return parser


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


async def _import(settings: DatabaseSettings, path: Path, *, dry_run: bool) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {path}: {exc}", EXIT_INVALID)
    try:
        catalog = parse_catalog(load_yaml(text))
    except CatalogError as exc:
        lines = [f"{path}: {len(exc.issues)} problem(s), nothing was imported:", *exc.issues]
        return _fail("\n".join(lines), EXIT_INVALID)

    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        summary = await import_catalog(
            make_session_factory(engine),
            catalog,
            default_timezone=settings.default_timezone,
            dry_run=dry_run,
        )
    finally:
        await engine.dispose()
    prefix = "dry run, nothing written: " if dry_run else ""
    for line in summary.lines():
        print(prefix + line)
    problem = await _after_import(settings) if summary.changes and not dry_run else None
    if problem is not None:
        return _fail(
            f"the catalog was imported, but the slot cache could not be invalidated ({problem}):"
            f" running bots may show old slots for up to {SLOT_CACHE_TTL_SECONDS} s",
            EXIT_FAILED,
        )
    return EXIT_OK


async def _export(settings: DatabaseSettings, target: str) -> int:
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        async with make_session_factory(engine)() as session:
            catalog = await export_catalog(session)
    finally:
        await engine.dispose()
    text = dump_catalog(catalog)
    if target == "-":
        sys.stdout.write(text)
        return EXIT_OK
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write {target}: {exc}", EXIT_FAILED)
    print(
        f"exported {len(catalog.locations)} locations, {len(catalog.services)} services, "
        f"{len(catalog.specialists)} specialists to {target}"
    )
    return EXIT_OK


def main(argv: Sequence[str]) -> int:
    """Run a catalog command; `argv` is like `["import", "catalog.yaml"]`. Returns the exit code."""
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exc:  # argparse already printed the usage
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    try:
        settings = load_database_settings()
    except ConfigError as exc:
        return _fail(str(exc), EXIT_INVALID)
    try:
        if args.command == "import":
            return asyncio.run(_import(settings, Path(args.file), dry_run=args.dry_run))
        return asyncio.run(_export(settings, args.file))
    except ValidationError as exc:
        # Export found a row the file format cannot hold (e.g. an unknown time zone).
        return _fail(f"the database holds an invalid catalog row: {exc}", EXIT_FAILED)
    except ProgrammingError as exc:
        first = str(exc.orig).splitlines()[0]
        return _fail(f"database error: {first} (run `alembic upgrade head`?)", EXIT_FAILED)
    except (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        # Connection errors come from asyncpg unwrapped; everything else through SQLAlchemy.
        return _fail(f"database error: {exc}".splitlines()[0], EXIT_FAILED)
