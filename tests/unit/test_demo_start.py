"""The demo's start-up order: the embedded PostgreSQL and Redis start at the same time, and when
one of them fails, the one that did start is still handed back to be stopped."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.demo import runner, services
from bot.demo.services import DemoError, Service


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> runner.Settings:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return runner.base_settings()


def embedded(name: str, stopped: list[str]) -> Service:
    return Service(name, f"{name}://demo", True, "?", "data", stop=lambda: stopped.append(name))


@pytest.fixture
def fake_postgres_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    async def version(url: str, database: str = "postgres") -> str:
        return "18.6"

    async def ensure(url: str) -> bool:
        return True

    monkeypatch.setattr(services, "postgres_version", version)
    monkeypatch.setattr(services, "ensure_database", ensure)


@pytest.mark.usefixtures("fake_postgres_checks")
async def test_both_servers_start_at_the_same_time(
    settings: runner.Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stopped: list[str] = []
    redis_starting = threading.Event()

    def start_postgres(data_dir: Path) -> Service:
        # Started one after the other, Redis would not start before PostgreSQL is up.
        assert redis_starting.wait(10), "Redis did not start while PostgreSQL was starting"
        return embedded("PostgreSQL", stopped)

    def start_redis(data_dir: Path) -> Service:
        redis_starting.set()
        return embedded("Redis", stopped)

    monkeypatch.setattr(services, "start_embedded_postgres", start_postgres)
    monkeypatch.setattr(services, "start_embedded_redis", start_redis)
    started: list[Service] = []
    await runner.start_services(settings, tmp_path, started)
    assert [s.name for s in started] == ["PostgreSQL", "Redis"]
    assert started[0].version == "18.6"
    assert stopped == []


@pytest.mark.usefixtures("fake_postgres_checks")
async def test_a_failing_redis_leaves_the_started_postgres_to_be_stopped(
    settings: runner.Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stopped: list[str] = []

    def no_redis(data_dir: Path) -> Service:
        raise DemoError("embedded Redis cannot start: no space left on device")

    monkeypatch.setattr(
        services, "start_embedded_postgres", lambda data_dir: embedded("PostgreSQL", stopped)
    )
    monkeypatch.setattr(services, "start_embedded_redis", no_redis)
    started: list[Service] = []
    with pytest.raises(DemoError, match="no space left"):
        await runner.start_services(settings, tmp_path, started)
    assert [s.name for s in started] == ["PostgreSQL"]
    runner.stop_services(started)
    assert stopped == ["PostgreSQL"]


async def test_a_postgres_that_starts_but_does_not_answer_is_stopped_at_once(
    settings: runner.Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stopped: list[str] = []

    async def silent(url: str, database: str = "postgres") -> str:
        raise DemoError("embedded PostgreSQL does not answer")

    monkeypatch.setattr(services, "postgres_version", silent)
    monkeypatch.setattr(
        services, "start_embedded_postgres", lambda data_dir: embedded("PostgreSQL", stopped)
    )
    monkeypatch.setattr(
        services, "start_embedded_redis", lambda data_dir: embedded("Redis", stopped)
    )
    started: list[Service] = []
    with pytest.raises(DemoError, match="does not answer"):
        await runner.start_services(settings, tmp_path, started)
    assert stopped == ["PostgreSQL"]
    assert [s.name for s in started] == ["Redis"]
