"""The quiet-pool benchmark runs end to end with a few uses and prints its four lines, with the
BEGINs counted: none for a read session, one for a transaction, pinged or not (so
`bench/quiet_pool.py` cannot rot unnoticed). Timing values are not asserted."""

from __future__ import annotations

import re

import pytest

from bench import quiet_pool
from tests.conftest import ADMIN_URL


async def test_quiet_pool_bench_prints_its_figures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        quiet_pool, "ADMIN_URL", ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    )
    assert await quiet_pool.main(["--uses", "5"]) == 0
    out = capsys.readouterr().out
    for pool in ("quiet pool \\(pinged\\)", "busy pool \\(no ping\\)"):
        for kind, begins in (("read session", "0.0"), ("transaction ", "1.0")):
            line = (
                rf"^{pool}\s+{kind}\s*wall p50\s+[\d.]+ ms\s+CPU\s+[\d.]+ ms\s+"
                rf"BEGINs {begins} per use$"
            )
            assert re.search(line, out, re.MULTILINE), f"missing {pool} {kind} in:\n{out}"
    assert re.search(r"^load average at the start: [\d.]+ \(1 min\)", out, re.MULTILINE)
