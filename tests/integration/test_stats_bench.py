"""The statistics benchmark runs end to end at a tiny scale and prints every figure it
promises (so `bench/stats.py` cannot rot unnoticed). Timing values are not asserted."""

from __future__ import annotations

import re

import pytest

from bench import stats as bench_stats
from tests.conftest import ADMIN_URL

FIGURE = r"p50=\s*[\d.]+ ms\s+p95=\s*[\d.]+ ms\s+max=\s*[\d.]+ ms\s+n=(\d+)"


async def test_stats_bench_prints_its_figures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        bench_stats, "ADMIN_URL", ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    )
    assert await bench_stats.main(["--scale", "0.04", "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"catalog: 1 locations, 2 specialists, 800 appointments, \d+ ledger rows", out)
    assert re.search(r"^load average before: [\d.]+ [\d.]+ [\d.]+ \(\d+ CPUs\)$", out, re.M)
    for label in (
        "figures, whole business",
        "figures, one location",
        "figures, one specialist",
        "baseline: one raw SQL aggregate",
    ):
        match = re.search(rf"^{re.escape(label)}\s+{FIGURE}$", out, re.MULTILINE)
        assert match, f"missing {label!r} in:\n{out}"
        assert match.group(1) == "3"
