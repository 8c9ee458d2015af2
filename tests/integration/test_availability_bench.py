"""The slot benchmark runs end to end at a tiny scale and prints every figure it promises
(so `bench/slots.py` cannot rot unnoticed). Timing values are not asserted."""

from __future__ import annotations

import re

import pytest

from bench import slots as bench_slots
from tests.conftest import ADMIN_URL, REDIS_URL

FIGURE = r"p50=\s*[\d.]+ ms\s+p95=\s*[\d.]+ ms\s+max=\s*[\d.]+ ms\s+n=(\d+)"


async def test_slot_bench_prints_its_figures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        bench_slots, "ADMIN_URL", ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    )
    monkeypatch.setattr(bench_slots, "REDIS_URL", REDIS_URL)
    assert await bench_slots.main(["--scale", "0.04", "--samples", "4"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"catalog: 1 locations, 2 specialists, 1 services, 800 appointments", out)
    for label in (
        "day_slots cold",
        "day_slots cached",
        "month calendar cold",
        "month calendar cached",
    ):
        match = re.search(rf"^{label}\s+{FIGURE}$", out, re.MULTILINE)
        assert match, f"missing {label!r} in:\n{out}"
        assert match.group(1) == "4"
