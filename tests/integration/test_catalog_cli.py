"""`bot.catalog.cli.main` end to end: exit codes, messages, files, the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog.cli import main
from tests.conftest import ADMIN_URL, _with_db, asyncpg_url

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("BOT_TOKEN", raising=False)  # the catalog CLI must not need it
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    return tmp_path


async def run_cli(*argv: str) -> int:
    # main() runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(main, list(argv))


async def service_prices(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT name, price::text FROM services"))
        return {name: price for name, price in rows}


async def test_good_file_imports_and_exports(
    clean_db: AsyncEngine, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("import", str(EXAMPLE)) == 0
    out = capsys.readouterr().out
    assert "services: 5 created" in out
    assert (await service_prices(clean_db))["Маникюр"] == "2200.50"

    assert await run_cli("import", str(EXAMPLE)) == 0
    assert "no changes" in capsys.readouterr().out

    target = cli_env / "export.yaml"
    assert await run_cli("export", str(target)) == 0
    assert "exported 2 locations, 5 services, 5 specialists" in capsys.readouterr().out
    assert await run_cli("import", str(target)) == 0
    assert "no changes" in capsys.readouterr().out

    assert await run_cli("export", "-") == 0
    assert capsys.readouterr().out == target.read_text(encoding="utf-8")


async def test_bad_file_exits_2_with_every_error_and_changes_nothing(
    clean_db: AsyncEngine, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("import", str(EXAMPLE)) == 0
    before = await service_prices(clean_db)
    capsys.readouterr()

    bad = cli_env / "bad.yaml"
    source = EXAMPLE.read_text(encoding="utf-8")
    source = source.replace("price: 2500", "price: 2600\n    colour: red", 1)
    source = source.replace("timezone: Europe/Moscow", "timezone: Moscow", 1)
    bad.write_text(source, encoding="utf-8")

    assert await run_cli("import", str(bad)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2 problem(s), nothing was imported" in captured.err
    assert 'services[0] "Женская стрижка": colour: unknown field' in captured.err
    assert 'locations[0] "Салон на Тверской": timezone: "Moscow" is not an IANA' in captured.err
    assert "Traceback" not in captured.err
    assert await service_prices(clean_db) == before


async def test_dry_run_changes_nothing(
    clean_db: AsyncEngine, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("import", "--dry-run", str(EXAMPLE)) == 0
    assert "dry run, nothing written: services: 5 created" in capsys.readouterr().out
    assert await service_prices(clean_db) == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import"], "the following arguments are required"),
        (["frobnicate", "x"], "invalid choice"),
        (["import", "/nonexistent/catalog.yaml"], "cannot read /nonexistent/catalog.yaml"),
    ],
)
async def test_bad_command_lines_exit_2_without_a_traceback(
    cli_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert await run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/none",  # nothing listens
        # The test server (TEST_DATABASE_ADMIN_URL), but a database that does not exist there.
        asyncpg_url(_with_db(ADMIN_URL, "no_such_database_here")),
    ],
)
async def test_unreachable_database_exits_1_with_one_line(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert await run_cli("import", str(EXAMPLE)) == 1
    err = capsys.readouterr().err
    assert err.startswith("database error:")
    assert len(err.strip().splitlines()) == 1


async def test_bad_settings_exit_2(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    assert await run_cli("export", "-") == 2
    assert "DATABASE_URL" in capsys.readouterr().err


async def test_import_that_changes_something_drops_every_cached_slot(
    clean_db: AsyncEngine,
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_prefix: str,
    redis,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.conftest import REDIS_URL

    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("REDIS_PREFIX", redis_prefix)
    version_key = f"{redis_prefix}:slots:ver:catalog"

    assert await run_cli("import", str(EXAMPLE)) == 0
    assert await redis.get(version_key) == b"1"

    # The same file again changes nothing, so the cache stays valid.
    assert await run_cli("import", str(EXAMPLE)) == 0
    assert await redis.get(version_key) == b"1"
    capsys.readouterr()


async def test_import_with_redis_down_is_committed_but_exits_1_saying_slots_may_be_old(
    clean_db: AsyncEngine,
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.servers import free_port

    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    assert await run_cli("import", str(EXAMPLE)) == 1
    captured = capsys.readouterr()
    assert "services: 5 created" in captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert "could not be invalidated" in err[0] and "old slots" in err[0]
    assert "Traceback" not in captured.err
    # The import itself was committed: only the running bots' cache is stale.
    assert (await service_prices(clean_db))["Маникюр"] == "2200.50"
