"""What a catalog change does to booked clients: the preview writes nothing, apply keeps or
cancels with a full refund in one transaction with its audit row, and every client sees the
new slots on the next read."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalog.exporter import export_catalog
from bot.domain.errors import DomainError, InputProblem, InvalidInput, NotFound
from bot.domain.walltime import WallTime
from bot.services.booking import AppointmentView
from bot.services.catalog_changes import (
    AddBreak,
    ImportCatalog,
    MoveWorkplace,
    PutHoliday,
    PutLocationHours,
    PutSpecialistHours,
    SetActive,
    SetCapacity,
)
from bot.services.catalog_impact import CatalogImpactService, ImpactChanged, TouchReason
from tests.integration.factories import (
    DESK_ADMIN,
    NOW,
    START,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
    money_invariant_violations,
)

TUESDAY = date(2031, 3, 4)  # START's local date (10:00-11:00 in Moscow)
WEDNESDAY = date(2031, 3, 5)
ADMIN = DESK_ADMIN  # in ADMIN_IDS: an admin's cancel re-checks the role
HOURS, OFF = TouchReason.HOURS, TouchReason.INACTIVE
RICH = Decimal("5000.00")


@pytest.fixture
async def eng(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> Engine:
    return build_engine(session_factory, redis, redis_prefix)


@pytest.fixture
async def cat(session_factory: async_sessionmaker[AsyncSession], eng: Engine) -> Catalog:
    return await make_catalog(session_factory, specialists=2, workplaces=2)


@pytest.fixture
def impact(session_factory: async_sessionmaker[AsyncSession], eng: Engine) -> CatalogImpactService:
    return CatalogImpactService(session_factory, eng.booking, eng.availability)


async def q(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> Any:
    async with sessions() as s:
        return (await s.execute(text(sql), params)).scalar_one()


class Book(Protocol):
    async def __call__(
        self, *, start: datetime = ..., specialist: int = ...
    ) -> AppointmentView: ...


@pytest.fixture
def book(eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]) -> Book:
    """A new client with money books the catalog's service with specialist index `specialist`."""

    async def booked(*, start: datetime = START, specialist: int = 0) -> AppointmentView:
        client = await make_client(session_factory, balance=RICH)
        spec = cat.specialist_ids[specialist]
        return await eng.booking.confirm(
            booking_request(cat, client, start=start, specialist=spec), now=NOW
        )

    return booked


def dates_args(cat: Catalog) -> dict[str, Any]:
    return {
        "location_id": cat.location_id,
        "service_id": cat.service_id,
        "specialist_id": None,
        "now": NOW,
    }


async def test_a_holiday_is_gone_from_the_calendar_on_the_next_read(
    eng: Engine, cat: Catalog, impact: CatalogImpactService
) -> None:
    assert TUESDAY in await eng.availability.available_dates(**dates_args(cat))
    assert TUESDAY in await eng.availability.available_dates(**dates_args(cat))  # cached now
    await impact.apply(
        PutHoliday(cat.location_id, TUESDAY), admin_tg_id=ADMIN, cancel_touched=False, now=NOW
    )
    dates = await eng.availability.available_dates(**dates_args(cat))
    assert TUESDAY not in dates and WEDNESDAY in dates
    assert await eng.availability.day_slots(
        location_id=cat.location_id, service_id=cat.service_id, specialist_id=None,
        day=TUESDAY, now=NOW,
    ) == []  # fmt: skip


async def test_preview_lists_the_touched_and_writes_nothing(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService, session_factory: Any
) -> None:
    view = await book()
    other = await book(start=START + timedelta(days=1))
    found = await impact.preview(PutHoliday(cat.location_id, TUESDAY), now=NOW)
    assert [(t.appointment_id, t.reason) for t in found.touched] == [(view.id, TouchReason.HOURS)]
    assert other.id not in found.ids
    assert await q(session_factory, "SELECT count(*) FROM holidays") == 0
    assert await q(session_factory, "SELECT count(*) FROM audit_log") == 0


async def test_cancel_with_refund_in_one_transaction_with_its_audit_row(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService, session_factory: Any
) -> None:
    view = await book()
    client = await q(session_factory, "SELECT client_id FROM appointments WHERE id = :a", a=view.id)
    expected = (await impact.preview(PutHoliday(cat.location_id, TUESDAY), now=NOW)).ids
    done = await impact.apply(
        PutHoliday(cat.location_id, TUESDAY),
        admin_tg_id=ADMIN,
        cancel_touched=True,
        now=NOW,
        expected=expected,
    )
    assert [c.refund for c in done.cancelled] == [cat.price]
    row = await q(
        session_factory,
        "SELECT status || '/' || cancelled_by FROM appointments WHERE id = :a",
        a=view.id,
    )
    assert row == "cancelled/admin"
    balance = await q(
        session_factory, "SELECT balance FROM client_wallets WHERE client_id = :c", c=client
    )
    assert balance == RICH
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []
    notices = await q(
        session_factory,
        "SELECT count(*) FROM outbox WHERE appointment_id = :a AND kind LIKE '%cancel%'",
        a=view.id,
    )
    assert notices >= 1
    audit = await q(
        session_factory,
        "SELECT action || ' ' || (after->>'touched') || ' ' || (after->>'touched_cancelled') "
        "FROM audit_log WHERE actor_tg_id = :a AND action <> 'appointment.cancelled'",
        a=ADMIN,
    )
    assert audit == f"location.holiday [{view.id}] true"
    # Each cancel is an admin's change too: its own audit row, with the refund.
    cancelled = await q(
        session_factory,
        "SELECT after->>'refund' FROM audit_log WHERE action = 'appointment.cancelled' "
        "AND entity_id = :v",
        v=view.id,
    )
    assert cancelled == str(cat.price)


async def test_keep_leaves_the_appointment_booked(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService, session_factory: Any
) -> None:
    view = await book()
    done = await impact.apply(
        PutHoliday(cat.location_id, TUESDAY), admin_tg_id=ADMIN, cancel_touched=False, now=NOW
    )
    assert done.ids == {view.id} and done.cancelled == ()
    assert (
        await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=view.id)
        == "booked"
    )
    assert await q(session_factory, "SELECT count(*) FROM holidays") == 1
    # Already outside working time: the next change does not count it again.
    again = await impact.preview(
        AddBreak(cat.specialist_ids[0], WEDNESDAY, WallTime.hm(15), WallTime.hm(16)), now=NOW
    )
    assert again.touched == []


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda c: AddBreak(c.specialist_ids[0], TUESDAY, WallTime.hm(10, 30), WallTime.hm(11)),
            HOURS,
        ),
        (lambda c: AddBreak(c.specialist_ids[0], TUESDAY), HOURS),
        (lambda c: PutLocationHours(c.location_id, 2, WallTime.hm(11), WallTime.hm(20)), HOURS),
        (lambda c: PutSpecialistHours(c.specialist_ids[0], c.location_id, 2, None, None), HOURS),
        (lambda c: SetActive("specialist", c.specialist_ids[0]), OFF),
        (lambda c: SetActive("service", c.service_id), OFF),
        (lambda c: SetActive("location", c.location_id), OFF),
    ],
)  # fmt: skip
async def test_each_kind_of_change_touches_the_booked_time(
    book: Book,
    eng: Engine,
    cat: Catalog,
    impact: CatalogImpactService,
    make: Any,
    reason: TouchReason,
) -> None:
    view = await book()
    found = await impact.preview(make(cat), now=NOW)
    assert [(t.appointment_id, t.reason) for t in found.touched] == [(view.id, reason)]


async def test_changes_that_miss_the_booked_time_touch_nothing(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService
) -> None:
    await book()
    for change in (
        AddBreak(cat.specialist_ids[0], TUESDAY, WallTime.hm(12), WallTime.hm(13)),
        AddBreak(cat.specialist_ids[1], TUESDAY),
        PutLocationHours(cat.location_id, 2, WallTime.hm(10), WallTime.hm(20)),
        SetActive("specialist", cat.specialist_ids[1]),
        SetCapacity(cat.location_id, 1),
    ):
        assert (await impact.preview(change, now=NOW)).touched == [], change


async def test_a_capacity_cut_touches_the_later_booked(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService
) -> None:
    first = await book(specialist=0)
    second = await book(specialist=1)
    found = await impact.preview(SetCapacity(cat.location_id, 1), now=NOW)
    assert [(t.appointment_id, t.reason) for t in found.touched] == [
        (second.id, TouchReason.CAPACITY)
    ]
    assert first.id not in found.ids


async def test_a_catalog_file_without_a_specialist_touches_their_appointments(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService, session_factory: Any
) -> None:
    view = await book(specialist=1)
    async with session_factory() as s:
        current = await export_catalog(s)
    gone = await q(
        session_factory, "SELECT name FROM specialists WHERE id = :i", i=cat.specialist_ids[1]
    )
    smaller = current.model_copy(
        update={"specialists": [sp for sp in current.specialists if sp.name != gone]}
    )
    change = ImportCatalog(smaller, "Europe/Moscow")
    found = await impact.preview(change, now=NOW)
    assert [(t.appointment_id, t.reason) for t in found.touched] == [
        (view.id, TouchReason.INACTIVE)
    ]
    assert found.summary is not None and found.summary.counts["specialists"].deactivated == 1
    assert await q(session_factory, "SELECT count(*) FROM specialists WHERE is_active") == 2


async def test_apply_refuses_when_the_picture_changed(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService, session_factory: Any
) -> None:
    change = PutHoliday(cat.location_id, TUESDAY)
    expected = (await impact.preview(change, now=NOW)).ids
    await book()  # booked between the preview and the apply
    with pytest.raises(ImpactChanged):
        await impact.apply(
            change, admin_tg_id=ADMIN, cancel_touched=True, now=NOW, expected=expected
        )
    assert await q(session_factory, "SELECT count(*) FROM holidays") == 0
    assert await q(session_factory, "SELECT count(*) FROM audit_log") == 0


async def test_a_missing_entity_is_not_found(cat: Catalog, impact: CatalogImpactService) -> None:
    with pytest.raises(NotFound):
        await impact.preview(SetActive("workplace", 999_999), now=NOW)
    with pytest.raises(NotFound):
        await impact.preview(AddBreak(999_999, TUESDAY), now=NOW)


def test_the_fixed_instants_agree() -> None:
    assert datetime(2031, 3, 4, 7, 0, tzinfo=UTC) == START  # Tuesday 10:00 in Moscow


@pytest.mark.parametrize("round_", range(4))
async def test_a_holiday_racing_a_booking_leaves_nothing_booked_that_day(
    round_: int,
    eng: Engine,
    cat: Catalog,
    impact: CatalogImpactService,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Whichever commits first, the holiday with cancel_touched wins the day: a booking that
    got in first is touched and cancelled, one that comes after is refused."""
    client = await make_client(session_factory, balance=RICH)
    start = START + timedelta(hours=round_)
    request = booking_request(cat, client, start=start, specialist=cat.specialist_ids[0])
    holiday = impact.apply(
        PutHoliday(cat.location_id, TUESDAY), admin_tg_id=ADMIN, cancel_touched=True, now=NOW
    )
    booked, changed = await asyncio.gather(
        eng.booking.confirm(request, now=NOW), holiday, return_exceptions=True
    )
    assert not isinstance(changed, BaseException), changed
    if isinstance(booked, BaseException):
        assert isinstance(booked, DomainError), booked
        assert changed.touched == []
    else:
        assert changed.ids == {booked.id}
    still_booked = await q(
        session_factory, "SELECT count(*) FROM appointments WHERE status = 'booked'"
    )
    assert still_booked == 0
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []


async def another_location(sessions: async_sessionmaker[AsyncSession], *workplaces: str) -> int:
    """A second location (with these workplaces) to move a workplace to."""
    async with sessions() as s, s.begin():
        location = await s.scalar(
            text(
                "INSERT INTO locations (name, timezone) "
                "SELECT 'Location ' || (count(*) + 1), 'Europe/Moscow' FROM locations RETURNING id"
            )
        )
        for name in workplaces:
            await s.execute(
                text("INSERT INTO workplaces (location_id, name) VALUES (:l, :n)"),
                {"l": location, "n": name},
            )
    return int(location)


async def test_moving_a_workplace_touches_its_booked_appointments_and_is_audited(
    book: Book, eng: Engine, cat: Catalog, impact: CatalogImpactService, session_factory: Any
) -> None:
    view = await book()
    used = await q(
        session_factory, "SELECT workplace_id FROM appointments WHERE id = :a", a=view.id
    )
    free = next(w for w in cat.workplace_ids if w != used)
    second = await another_location(session_factory)
    found = await impact.preview(MoveWorkplace(used, second), now=NOW)
    assert [(t.appointment_id, t.reason) for t in found.touched] == [(view.id, OFF)]
    assert (await impact.preview(MoveWorkplace(free, second), now=NOW)).touched == []
    assert await q(session_factory, "SELECT count(*) FROM audit_log") == 0

    done = await impact.apply(
        MoveWorkplace(used, second),
        admin_tg_id=ADMIN,
        cancel_touched=False,
        now=NOW,
        expected=found.ids,
    )
    assert done.ids == {view.id} and done.cancelled == ()
    assert (
        await q(session_factory, "SELECT location_id FROM workplaces WHERE id = :w", w=used)
        == second
    )
    audit = await q(
        session_factory,
        "SELECT json_build_array(action, entity, entity_id, before, after->'location_id', "
        "after->'touched') FROM audit_log",
    )
    assert audit == [
        "workplace.moved",
        "workplace",
        used,
        {"location_id": cat.location_id},
        second,
        [view.id],
    ]
    assert (
        await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=view.id)
        == "booked"
    )


async def test_a_workplace_move_is_refused_on_a_name_clash_a_pin_or_to_where_it_is(
    cat: Catalog, impact: CatalogImpactService, session_factory: Any
) -> None:
    chair = cat.workplace_ids[0]
    name = await q(session_factory, "SELECT name FROM workplaces WHERE id = :w", w=chair)
    second = await another_location(session_factory, name.upper())
    with pytest.raises(InvalidInput) as clash:
        await impact.apply(
            MoveWorkplace(chair, second), admin_tg_id=ADMIN, cancel_touched=False, now=NOW
        )
    assert clash.value.reason is InputProblem.NAME_TAKEN
    third = await another_location(session_factory)
    async with session_factory() as s, s.begin():
        await s.execute(
            text("UPDATE specialist_schedules SET workplace_id = :w WHERE day_of_week = 2"),
            {"w": chair},
        )
    with pytest.raises(InvalidInput) as pinned:
        await impact.preview(MoveWorkplace(chair, third), now=NOW)
    assert pinned.value.reason is InputProblem.WORKPLACE_PINNED
    with pytest.raises(NotFound):
        await impact.preview(MoveWorkplace(chair, cat.location_id), now=NOW)
    with pytest.raises(NotFound):
        await impact.preview(MoveWorkplace(cat.workplace_ids[1], 999_999), now=NOW)
    assert (
        await q(session_factory, "SELECT location_id FROM workplaces WHERE id = :w", w=chair)
        == cat.location_id
    )
    assert await q(session_factory, "SELECT count(*) FROM audit_log") == 0


async def test_a_moved_workplace_leaves_its_old_location_s_slots_on_the_next_read(
    session_factory: async_sessionmaker[AsyncSession], eng: Engine, impact: CatalogImpactService
) -> None:
    """The move bumps the catalog version: slots cached before it are not offered after it."""
    alone = await make_catalog(session_factory)  # one workplace
    args = {
        "location_id": alone.location_id,
        "service_id": alone.service_id,
        "specialist_id": None,
        "day": TUESDAY,
        "now": NOW,
    }
    assert await eng.availability.day_slots(**args)
    assert await eng.availability.day_slots(**args)  # cached now
    second = await another_location(session_factory)
    await impact.apply(
        MoveWorkplace(alone.workplace_ids[0], second),
        admin_tg_id=ADMIN,
        cancel_touched=False,
        now=NOW,
    )
    assert await eng.availability.day_slots(**args) == []
