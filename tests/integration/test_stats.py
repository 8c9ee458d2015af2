"""Statistics against figures computed by hand from `stats_data` (see its docstring for the
data and the arithmetic): the whole business, one location, one specialist."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.periods import Period, PeriodKind
from bot.services.stats import Scope, StatsService
from bot.services.stats_chart import PNG_MAGIC, render_chart
from bot.services.stats_export import LEDGER_COLUMNS, StatsExport
from tests.integration import stats_data
from tests.integration.factories import money_invariant_violations

pytestmark = pytest.mark.usefixtures("clean_db")

PERIOD = Period(PeriodKind.CUSTOM, date(2031, 3, 24), date(2031, 3, 30))
D = Decimal


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> stats_data.StatsWorld:
    return await stats_data.build(session_factory)


@pytest.fixture
def service(session_factory: async_sessionmaker[AsyncSession]) -> StatsService:
    return StatsService(session_factory, "Europe/Moscow")


async def test_the_data_set_keeps_the_money_invariant(
    world: stats_data.StatsWorld, session: AsyncSession
) -> None:
    assert await money_invariant_violations(session) == []


async def test_whole_business(world: stats_data.StatsWorld, service: StatsService) -> None:
    s = await service.figures(Scope(), PERIOD)
    # a2 a3 a4 a5 a6 (Berlin dates) and b1 (Moscow); a7's row is 31.03 local, though 30.03 UTC.
    assert s.bookings_made == 6
    assert (s.held, s.completed, s.no_shows) == (5, 3, 1)
    assert (s.cancelled_by_client, s.cancelled_by_admin, s.cancelled_by_specialist) == (2, 1, 0)
    # 1500 + 800 + 1000 - 500 + (1000 - 1000) + 1200 + 900 - 1000 (a8's refund; debit before)
    assert s.revenue == D("3900.00")
    assert s.topups == D("5500.00")  # 3000 + 2500; 400 at 00:30 Moscow on 31.03 is outside
    assert s.average_check == D("1080.00")  # (1000 + 1500 + 800 + 1200 + 900) / 5
    assert (s.clients, s.new_clients, s.returning_clients) == (3, 2, 1)  # K1 came on 10.03
    assert (s.booked_minutes, s.working_minutes) == (330, 2820 + 720 + 840)
    assert s.occupancy == pytest.approx(330 / 4380)
    by_name = {o.name: (o.booked_minutes, o.working_minutes) for o in s.specialists}
    assert by_name == {"Анна": (210, 2820), "Борис": (60, 720), "Вера": (60, 840)}
    assert [(d.day.day, d.appointments, d.revenue) for d in s.days] == [
        (24, 1, D("1500.00")),  # a2's debit at 00:30 CET is 23.03 in UTC
        (25, 1, D("1700.00")),
        (26, 1, D("1000.00")),  # the holiday: b1 is at the other location
        (27, 0, D("-1000.00")),
        (28, 1, D("-500.00")),
        (29, 0, D("0.00")),
        (30, 1, D("1200.00")),  # the DST day; a6's debit is 29.03 in UTC
    ]


async def test_one_location(world: stats_data.StatsWorld, service: StatsService) -> None:
    s = await service.figures(Scope(location_id=world.center), PERIOD)
    assert s.bookings_made == 5
    assert (s.held, s.completed, s.no_shows) == (4, 2, 1)
    assert (s.cancelled_by_client, s.cancelled_by_admin) == (2, 1)
    assert s.revenue == D("3000.00")
    assert s.topups is None
    assert s.average_check == D("1125.00")
    assert (s.clients, s.new_clients) == (3, 2)
    assert (s.booked_minutes, s.working_minutes) == (270, 2820 + 720)


async def test_one_specialist(world: stats_data.StatsWorld, service: StatsService) -> None:
    s = await service.figures(Scope(specialist_id=world.boris), PERIOD)
    assert s.bookings_made == 2
    assert (s.held, s.no_shows, s.cancelled_by_admin) == (1, 1, 1)
    assert s.revenue == D("800.00")
    assert s.average_check == D("800.00")
    # K2 had a2 with Анна on 25.03 before a3 on 28.03: returning to the business.
    assert (s.clients, s.new_clients) == (1, 0)
    assert [(o.name, o.booked_minutes, o.working_minutes) for o in s.specialists] == [
        ("Борис", 60, 720)
    ]


async def name_in_english(
    sessions: async_sessionmaker[AsyncSession], table: str, row: int, name: str
) -> None:
    async with sessions() as s, s.begin():
        await s.execute(
            text(
                f"UPDATE {table} SET name_i18n = jsonb_build_object('en', CAST(:n AS text)) "
                "WHERE id = :i"
            ),
            {"n": name, "i": row},
        )


@pytest.mark.parametrize(("language", "boris"), [("en", "Boris"), ("ru", "Борис"), (None, "Борис")])
async def test_scopes_and_specialists_are_named_in_the_admins_language(
    world: stats_data.StatsWorld,
    service: StatsService,
    session_factory: async_sessionmaker[AsyncSession],
    language: str | None,
    boris: str,
) -> None:
    await name_in_english(session_factory, "specialists", world.boris, "Boris")
    scope = Scope(specialist_id=world.boris)
    s = await service.figures(scope, PERIOD, language)
    assert [o.name for o in s.specialists] == [boris]
    assert await service.scope_name(scope, language) == boris
    assert (world.boris, boris) in (await service.choices(language)).specialists


async def test_an_empty_period_has_no_ratios(
    world: stats_data.StatsWorld, service: StatsService
) -> None:
    empty = Period(PeriodKind.CUSTOM, date(2031, 1, 6), date(2031, 1, 6))  # a Monday
    s = await service.figures(Scope(specialist_id=world.boris), empty)
    assert (s.held, s.revenue, s.average_check) == (0, D("0.00"), None)
    assert s.working_minutes == 240 and s.occupancy == 0.0


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_chart_is_a_png(
    world: stats_data.StatsWorld, service: StatsService, language: str
) -> None:
    png = render_chart(await service.figures(Scope(), PERIOD), language)
    assert png.startswith(PNG_MAGIC)
    # IHDR: width and height, big-endian, right after the 8-byte magic and the chunk header.
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (900, 900)
    assert len(png) > 10_000


def _read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_appointments_csv(
    world: stats_data.StatsWorld, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await name_in_english(session_factory, "locations", world.center, "Center")
    export = StatsExport(session_factory, "Europe/Moscow")
    rows = _read(await export.appointments_csv(Scope(location_id=world.center), PERIOD, "en"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "start", "end"]
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in body}
    assert set(by_id) == {world.appointments[k] for k in ("a1", "a2", "a3", "a4", "a5", "a6", "a8")}
    a6 = by_id[world.appointments["a6"]]
    assert (a6["start"], a6["end"]) == ("2031-03-30 03:30", "2031-03-30 04:30")
    assert (a6["location"], a6["specialist"], a6["client"]) == ("Центр", "Анна", "Ёжик")
    # The report also names them in the admin's language (the base name without a translation).
    assert header[-4:] == ["location_en", "workplace_en", "specialist_en", "service_en"]
    assert (a6["location_en"], a6["specialist_en"]) == ("Center", "Анна")
    russian = _read(await export.appointments_csv(Scope(location_id=world.center), PERIOD, "ru"))
    assert russian[0][-4:] == ["location_ru", "workplace_ru", "specialist_ru", "service_ru"]
    assert {r[russian[0].index("location_ru")] for r in russian[1:]} == {"Центр"}
    assert (a6["price"], a6["status"]) == ("1200.00", "booked")
    assert by_id[world.appointments["a4"]]["cancelled_by"] == "client"


async def test_ledger_csv(
    world: stats_data.StatsWorld, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    export = StatsExport(session_factory, "Europe/Moscow")
    rows = _read(await export.ledger_csv(Scope(), PERIOD))
    assert tuple(rows[0]) == LEDGER_COLUMNS
    amounts = sorted(r[5] for r in rows[1:])
    # Every row dated 24.03-30.03 in its zone (see stats_data), the adjustment included.
    assert amounts == sorted(
        ["3000.00", "2500.00", "100.00", "-1500.00", "-800.00", "-1000.00", "500.00",
         "-1000.00", "1000.00", "-1200.00", "1000.00", "-900.00"]
    )  # fmt: skip
    topup = next(r for r in rows[1:] if r[5] == "3000.00")
    assert (topup[3], topup[4], topup[7], topup[8]) == ("John Smith", "topup", "", "Пополнение")
    assert next(r for r in rows[1:] if r[3] == "Ирина Петрова")[5] == "-900.00"
