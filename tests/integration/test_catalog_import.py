"""Catalog import/export against the real PostgreSQL: idempotence, round trips, rejection,
targeted changes, atomicity and concurrent imports."""

from __future__ import annotations

import asyncio
import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalog import importer
from bot.catalog.checks import CatalogError, parse_catalog
from bot.catalog.exporter import export_catalog
from bot.catalog.importer import ImportSummary, import_catalog
from bot.catalog.yamlio import dump_catalog, load_yaml
from bot.domain.walltime import WallTime
from db.models import Break, Holiday, Service, ServiceSpecialist, Specialist

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"
TZ = "Europe/Moscow"
CATALOG_TABLES = (
    "services",
    "locations",
    "location_schedules",
    "holidays",
    "workplaces",
    "workplace_services",
    "specialists",
    "service_specialists",
    "specialist_schedules",
    "breaks",
)

Snapshot = dict[str, dict[int, tuple[Any, ...]]]


async def snapshot(engine: AsyncEngine) -> tuple[Snapshot, Snapshot]:
    """Every catalog row by table and id, and each row's xmin (changes on any UPDATE)."""
    rows: Snapshot = {}
    xmins: Snapshot = {}
    async with engine.connect() as conn:
        for table in CATALOG_TABLES:
            result = await conn.execute(text(f"SELECT xmin::text AS x, t.* FROM {table} t"))
            rows[table] = {}
            xmins[table] = {}
            for row in result.mappings():
                values = dict(row)
                xmins[table][values["id"]] = (values.pop("x"),)
                rows[table][values["id"]] = tuple(values.items())
    return rows, xmins


def example_data() -> dict[str, Any]:
    data = load_yaml(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


async def run_import(
    factory: async_sessionmaker[AsyncSession], data: object, **kwargs: Any
) -> ImportSummary:
    return await import_catalog(factory, parse_catalog(data), default_timezone=TZ, **kwargs)


async def export_text(factory: async_sessionmaker[AsyncSession]) -> str:
    async with factory() as session:
        return dump_catalog(await export_catalog(session))


# Rows examples/catalog.yaml describes, counted by hand from the file (not by the parser under
# test): 5 services; 2 locations; weekly hours 7 (Тверская) + 7 (Невский: `sun: off` is a
# day-off row); holidays 2 + 2; workplaces 3 + 2; workplace services 3 + 2 + 2 + 3 + 1;
# 5 specialists; their services 2 + 2 + 2 + 3 + 1; schedule days 5 (Анна: 3 + 2) + 4 + 5 + 4
# + 3; breaks 1 (Анна) + 2 (Мария).
EXAMPLE_ROWS = {
    "services": 5,
    "locations": 2,
    "location_schedules": 14,
    "holidays": 4,
    "workplaces": 5,
    "workplace_services": 11,
    "specialists": 5,
    "service_specialists": 10,
    "specialist_schedules": 21,
    "breaks": 3,
}


def changed(before: Snapshot, after: Snapshot) -> dict[str, set[int]]:
    """Ids whose row appeared, vanished or differs, per table (empty tables left out)."""
    out = {}
    for table in CATALOG_TABLES:
        ids = set(before[table]) | set(after[table])
        diff = {i for i in ids if before[table].get(i) != after[table].get(i)}
        if diff:
            out[table] = diff
    return out


async def test_example_imported_twice_writes_nothing_the_second_time(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    first = await run_import(session_factory, data)
    rows, xmins = await snapshot(clean_db)

    counts = {t: len(r) for t, r in rows.items()}
    assert counts == EXAMPLE_ROWS
    created = {k: c.created for k, c in first.counts.items()}
    assert sum(created.values()) == sum(counts.values())

    second = await run_import(session_factory, data)
    assert second.changes == 0
    assert second.lines() == ["no changes: the database already matches the file"]
    rows2, xmins2 = await snapshot(clean_db)
    assert rows2 == rows
    assert xmins2 == xmins  # not a single row rewritten, not even with equal values


async def test_export_import_round_trips(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    await run_import(session_factory, data)
    # Make the database hold what the example lacks: inactive entries, a tg_id, a capacity of 0.
    changed_data = copy.deepcopy(data)
    changed_data["specialists"].pop()  # deactivated, still exported
    changed_data["specialists"][0]["tg_id"] = 700001
    changed_data["locations"][0]["capacity"] = 0
    changed_data["locations"][0]["workplaces"][1]["active"] = False
    changed_data["specialists"][1]["services"][1] = {"service": "Женская стрижка", "active": False}
    changed_data["locations"][0]["workplaces"][0]["name_i18n"] = {"en": "Chair 1"}
    await run_import(session_factory, changed_data)

    exported = await export_text(session_factory)
    rows, xmins = await snapshot(clean_db)
    again = await run_import(session_factory, load_yaml(exported))
    assert again.changes == 0
    assert await snapshot(clean_db) == (rows, xmins)

    # Into an empty database, then out again: the same file, byte for byte.
    await clean_db_tables(clean_db)
    await run_import(session_factory, load_yaml(exported))
    assert await export_text(session_factory) == exported
    assert "active: false" in exported
    assert "tg_id: 700001" in exported
    # Translated names go out and back in: services, locations, workplaces, specialists.
    out = load_yaml(exported)
    assert isinstance(out, dict)
    assert out["services"][0]["name_i18n"] == {"en": "Women's haircut"}
    assert out["locations"][0]["name_i18n"] == {"en": "Tverskaya salon"}
    assert out["locations"][0]["workplaces"][0]["name_i18n"] == {"en": "Chair 1"}
    assert out["specialists"][0]["name_i18n"] == {"en": "Anna Smirnova"}
    assert "name_i18n" not in out["locations"][0]["workplaces"][1]  # none: not written


async def clean_db_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(CATALOG_TABLES)} RESTART IDENTITY CASCADE"))


async def test_broken_file_is_rejected_and_nothing_changes(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    await run_import(session_factory, data)
    before = await snapshot(clean_db)

    broken = copy.deepcopy(data)
    broken["services"][0]["price"] = 999  # a valid change: must not be applied either
    broken["services"][1]["pricee"] = 1  # unknown field
    broken["services"].append(dict(broken["services"][2]))  # duplicate name
    broken["locations"][1]["timezone"] = "Europe/Moskva"
    broken["locations"][0]["hours"]["mon"] = "21:00-10:00"
    broken["specialists"][0]["services"].append("Массаж")
    broken["specialists"][1]["schedule"][0]["workplace"] = "Маникюрный стол"
    broken["specialists"][1]["schedule"][0]["location"] = "Салон на Невском"
    broken["specialists"][3]["schedule"][0]["workplace"] = "Кресло 2"  # not in Невский

    with pytest.raises(CatalogError) as caught:
        await run_import(session_factory, broken)
    issues = caught.value.issues
    assert 'services[1] "Мужская стрижка": pricee: unknown field (check the spelling)' in issues
    assert 'services[5] "Окрашивание": name: "Окрашивание" is already used by services[2]' in (
        issues
    )
    assert (
        'locations[1] "Салон на Невском": timezone: "Europe/Moskva" is not an IANA time zone'
        " (e.g. Europe/Moscow)" in issues
    )
    assert (
        'locations[0] "Салон на Тверской": hours.mon: "21:00-10:00": the end must be after the'
        " start" in issues
    )
    assert 'specialists[0] "Анна Смирнова": services[2]: unknown service "Массаж"' in issues
    assert (
        'specialists[3] "Ольга Волкова": schedule[0].workplace: "Кресло 2" is not a workplace'
        ' of location "Салон на Невском"' in issues
    )
    assert len(issues) == 6  # the valid edits of specialists[1] raise nothing
    assert await snapshot(clean_db) == before


async def test_a_failure_while_writing_rolls_everything_back(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = example_data()
    await run_import(session_factory, data)
    before = await snapshot(clean_db)
    changed_data = copy.deepcopy(data)
    changed_data["services"][0]["price"] = 3100
    changed_data["locations"][0]["hours"]["sun"] = "off"

    async def explode(self: Any, spec: Any, specialist: Any) -> None:
        raise RuntimeError("disk full")

    # Breaks are written last: everything before them is already flushed when this fails.
    monkeypatch.setattr(importer._Sync, "_breaks", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        await run_import(session_factory, changed_data)
    assert await snapshot(clean_db) == before


async def test_dry_run_reports_changes_and_writes_nothing(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    await run_import(session_factory, data)
    before = await snapshot(clean_db)
    changed_data = copy.deepcopy(data)
    changed_data["services"][0]["price"] = 3100
    summary = await run_import(session_factory, changed_data, dry_run=True)
    assert summary.counts["services"].updated == 1
    assert summary.changes == 1
    assert await snapshot(clean_db) == before


async def test_a_change_in_the_file_is_applied_and_only_that(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    await run_import(session_factory, data)
    before, before_x = await snapshot(clean_db)

    edited = copy.deepcopy(data)
    edited["services"][0]["price"] = Decimal("2700.50")  # Женская стрижка
    removed = edited["specialists"].pop(1)["name"]  # Игорь Петров
    edited["locations"][0]["holidays"].append({"date": date(2027, 1, 2), "description": "Отдых"})
    summary = await run_import(session_factory, edited)

    assert {
        k: (c.created, c.updated, c.deactivated, c.deleted)
        for k, c in summary.counts.items()
        if c.total
    } == {
        "services": (0, 1, 0, 0),
        "specialists": (0, 0, 1, 0),
        "holidays": (1, 0, 0, 0),
    }
    after, after_x = await snapshot(clean_db)
    async with session_factory() as session:
        service = await session.scalar(select(Service).where(Service.name == "Женская стрижка"))
        specialist = await session.scalar(select(Specialist).where(Specialist.name == removed))
        holiday = await session.scalar(select(Holiday).where(Holiday.date == date(2027, 1, 2)))
        assert service is not None and specialist is not None and holiday is not None
        assert service.price == Decimal("2700.50")
        assert specialist.is_active is False
        assert holiday.is_working is False
        # The removed specialist keeps their links and schedule: only the flag changed.
        links = await session.scalars(
            select(ServiceSpecialist).where(ServiceSpecialist.specialist_id == specialist.id)
        )
        assert all(link.is_active for link in links)
    assert changed(before, after) == {
        "services": {service.id},
        "specialists": {specialist.id},
        "holidays": {holiday.id},
    }
    rewritten = {
        t: {i for i in after_x[t] if before_x[t].get(i) != after_x[t][i]} for t in CATALOG_TABLES
    }
    assert {t: ids for t, ids in rewritten.items() if ids} == changed(before, after)


async def test_schedules_breaks_and_links_are_replaced_by_the_file(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    await run_import(session_factory, data)
    edited = copy.deepcopy(data)
    anna = edited["specialists"][0]
    anna["schedule"] = anna["schedule"][:1]  # no longer at Невский
    anna["schedule"][0]["hours"]["sat"] = "12:00-16:00"
    anna["breaks"] = [{"date": date(2026, 12, 20), "reason": "Отпуск"}]
    anna["services"] = ["Женская стрижка"]  # Окрашивание link deactivated
    summary = await run_import(session_factory, edited)

    assert summary.counts["specialist_schedules"].deleted == 2
    assert summary.counts["specialist_schedules"].created == 1
    assert summary.counts["breaks"].deleted == 1
    assert summary.counts["breaks"].created == 1
    assert summary.counts["specialist_services"].deactivated == 1
    async with session_factory() as session:
        breaks = list(await session.scalars(select(Break).order_by(Break.date)))
        anna_breaks = [b for b in breaks if b.reason == "Отпуск" and b.date == date(2026, 12, 20)]
        assert len(anna_breaks) == 1
        assert anna_breaks[0].start_time is None and anna_breaks[0].end_time is None
    # And back: the original file restores the original rows (links re-activated).
    back = await run_import(session_factory, data)
    assert back.counts["specialist_services"].updated == 1
    assert back.counts["specialist_schedules"].created == 2
    assert back.counts["specialist_schedules"].deleted == 1


async def test_a_telegram_account_moves_to_the_renamed_specialist(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    data["specialists"][0]["tg_id"] = 4242
    await run_import(session_factory, data)
    renamed = copy.deepcopy(data)
    renamed["specialists"][0]["name"] = "Анна Смирнова-Орлова"
    summary = await run_import(session_factory, renamed)
    assert summary.counts["specialists"].created == 1
    assert summary.counts["specialists"].deactivated == 1
    async with session_factory() as session:
        rows = {s.name: s for s in await session.scalars(select(Specialist))}
    assert rows["Анна Смирнова-Орлова"].tg_id == 4242
    assert rows["Анна Смирнова"].tg_id is None
    assert rows["Анна Смирнова"].is_active is False
    assert (await run_import(session_factory, renamed)).changes == 0


async def test_concurrent_imports_of_one_file_do_not_collide(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    data = example_data()
    results = await asyncio.wait_for(
        asyncio.gather(*(run_import(session_factory, data) for _ in range(3))), timeout=30
    )
    # The advisory lock orders them: one creates everything, the others find nothing to do.
    assert sorted(r.changes for r in results)[:2] == [0, 0]
    rows, _ = await snapshot(clean_db)
    assert {t: len(r) for t, r in rows.items()} == EXAMPLE_ROWS


async def test_location_hours_and_working_holiday_hours_are_stored_as_local_times(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await run_import(session_factory, example_data())
    async with session_factory() as session:
        holiday = await session.scalar(
            select(Holiday).where(
                Holiday.date == date(2026, 12, 31), Holiday.start_time.is_not(None)
            )
        )
        assert holiday is not None
        assert (holiday.is_working, holiday.start_time, holiday.end_time) == (
            True,
            WallTime.hm(10),
            WallTime.hm(16),
        )
