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
    assert await bench_slots.main(["--scale", "0.04", "--samples", "4", "--holds", "5"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"catalog: 1 locations, 2 specialists, 1 services, 800 appointments", out)
    assert re.search(r"^live holds: 5 of other clients across the business", out, re.MULTILINE)
    # Reading only the holds that bear on a day shows what a read of every hold shows.
    assert re.search(r"^holds: 0 of 4 days differ from a read of every live hold$", out, re.M)
    for label in (
        "busy intervals \\(asyncpg\\)",
        "Redis GET",
        "GET, stock client",
        "day_slots cold",
        "day_slots cached",
        "month calendar cold",
        "month calendar cached",
    ):
        match = re.search(rf"^{label}\s+{FIGURE}$", out, re.MULTILINE)
        assert match, f"missing {label!r} in:\n{out}"
        assert match.group(1) == "4"
    # Each figure against its same-run baseline: cold ones the raw busy-interval fetch,
    # cached ones the Redis GET.
    for label, base in (
        ("day_slots cold", "busy intervals"),
        ("day_slots cached", "Redis GET"),
        ("day_slots cached", "stock GET"),
        ("month calendar cold", "busy intervals"),
        ("month calendar cached", "Redis GET"),
    ):
        ratio = rf"^{label}\s+/ {base}: p50 x\s*[\d.]+\s+p95 x\s*[\d.]+$"
        assert re.search(ratio, out, re.MULTILINE), f"missing {label!r} / {base!r} in:\n{out}"
    assert re.search(
        r"^CPU of this process per call, median ms: busy intervals [\d.]+, ", out, re.M
    )
    assert re.search(r"^load average at the start: [\d.]+ \(1 min\)", out, re.MULTILINE)
    # The re-assignment cases: the busy days and the full ones (one day at this size).
    assert re.search(rf"^re-assignment check\s+{FIGURE}$", out, re.MULTILINE)
    full = re.search(
        rf"^re-assignment, full day\s+{FIGURE}\s+\((\d+) questions a day, \d+ % fit\)$",
        out,
        re.MULTILINE,
    )
    assert full, f"missing the full day in:\n{out}"
    assert full.group(1) == "1" and int(full.group(2)) > 100
