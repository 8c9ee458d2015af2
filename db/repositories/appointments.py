"""Appointment queries and resource locks. They never commit; the booking service does.

Appointments are only ever created with a plain INSERT: `INSERT ... ON CONFLICT` on this table
(the one with EXCLUDE constraints) deadlocks under contention
(docs/rules.md#pitfalls-we-design-around). Conflicts come back as sqlstate 23P01/23505 and the
service maps them to `SlotTaken`."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, and_, bindparam, func, literal, select, text, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from bot.domain.statuses import AppointmentStatus
from db.base import Base
from db.driver import execute_many, fetch
from db.models import Appointment, Client, Location, Service, Specialist, Workplace
from db.repositories import wallets

BOOKED = AppointmentStatus.BOOKED
CANCELLED = AppointmentStatus.CANCELLED

# Advisory lock classes (first key of the two-int form). Locks are always taken in ascending
# (class, id) order, so concurrent bookings queue up instead of deadlocking.
LOCK_BOOKING_KEY = 0
LOCK_SPECIALIST = 1
LOCK_WORKPLACE = 2
LOCK_LOCATION_CAPACITY = 3

# The booking path's statements, built once (SQLAlchemy Core on the table, rows as tuples):
# per call only the parameters change, so nothing is rebuilt or turned into ORM objects. The
# booking key lookup and the insert run on the driver (`db.driver.fetch`).
_APPOINTMENTS = Base.metadata.tables["appointments"]
_LOCK = text("SELECT pg_advisory_xact_lock(:c, :i)")
_TRY_LOCK_FIRST = text(
    "SELECT i FROM unnest(CAST(:ids AS integer[])) AS t(i) "
    "WHERE pg_try_advisory_xact_lock(:c, i) LIMIT 1"
)
_BY_BOOKING_KEY = select(_APPOINTMENTS.c.id, _APPOINTMENTS.c.client_id).where(
    _APPOINTMENTS.c.booking_key == bindparam("key")
)
_INSERT = sa_insert(_APPOINTMENTS).returning(_APPOINTMENTS.c.id)
_LEDGER = Base.metadata.tables["wallet_transactions"]
# The columns a booking writes (`insert_paid`'s keyword arguments besides the amount).
PAID_COLUMNS = (
    "location_id",
    "service_id",
    "workplace_id",
    "specialist_id",
    "client_id",
    "start_time",
    "end_time",
    "blocked_until",
    "status",
    "price",
    "discount",
    "booking_key",
)


def _insert_paid_statement() -> Select[Any]:
    """`insert_paid`'s statement: the debit, the appointment and its ledger row, each step
    fed by the row the one before returns (no row, nothing after it). Its parameters are the
    columns' names with `paid_` before them: a parameter named like a column of an INSERT
    would be taken for a value of that column (`db.driver.fetch` compiles with the keys)."""

    def param(name: str) -> Any:
        return bindparam(f"paid_{name}", type_=_APPOINTMENTS.c[name].type)

    amount = bindparam("paid_amount", type_=_LEDGER.c.amount.type)
    client = param("client_id")
    debit = (
        wallets.conditional_debit(client, amount)
        .returning(wallets.WALLETS.c.client_id)
        .cte("debit")
    )
    booked = (
        sa_insert(_APPOINTMENTS)
        .from_select(
            list(PAID_COLUMNS), select(*(param(n) for n in PAID_COLUMNS)).select_from(debit)
        )
        .returning(_APPOINTMENTS.c.id)
        .cte("booked")
    )
    entry = (
        sa_insert(_LEDGER)
        .from_select(
            ["client_id", "appointment_id", "amount", "discount", "kind"],
            select(client, booked.c.id, -amount, param("discount"), literal("debit")).select_from(
                booked
            ),
        )
        .returning(_LEDGER.c.appointment_id)
        .cte("entry")
    )
    return select(entry.c.appointment_id)


_INSERT_PAID = _insert_paid_statement()


def booking_key_lock(key: str) -> tuple[int, int]:
    """The advisory lock (class, id) that serializes confirms of the same hold (a double
    press): `LOCK_BOOKING_KEY`, the first in the fixed order, with 32 bits of the key's
    BLAKE2b hash (two keys sharing them only queue behind each other). Taken with
    `lock_resources`, alone or along with the resource locks in the same round trip."""
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return LOCK_BOOKING_KEY, int.from_bytes(digest, "big", signed=True)


async def lock_resources(session: AsyncSession, keys: Iterable[tuple[int, int]]) -> None:
    """Take transaction-scoped advisory locks on (class, id) resources in a fixed order, in
    one round trip (the driver's executemany runs them one after another, in list order)."""
    ordered = [{"c": cls, "i": ident} for cls, ident in sorted(set(keys))]
    await execute_many(session, _LOCK, ordered)


async def try_lock_first(session: AsyncSession, cls: int, idents: Sequence[int]) -> int | None:
    """Try the transaction-scoped advisory locks (`cls`, id) for `idents` in their order,
    without waiting: the first id whose lock was taken, or None when every one is held by
    another transaction. Never waits, so it cannot deadlock with the fixed-order locks."""
    if not idents:
        return None
    found = await session.execute(_TRY_LOCK_FIRST, {"c": cls, "ids": list(idents)})
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


async def by_booking_key(session: AsyncSession, key: str) -> tuple[int, int] | None:
    """(appointment id, client id) of the appointment booked with hold id `key`, or None."""
    rows = await fetch(session, _BY_BOOKING_KEY, {"key": key})
    return (rows[0][0], rows[0][1]) if rows else None


async def get(session: AsyncSession, appointment_id: int) -> Appointment | None:
    return await session.get(Appointment, appointment_id, populate_existing=True)


async def in_progress_peak(
    session: AsyncSession,
    location_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    exclude_appointment_id: int | None = None,
) -> int:
    """The most active appointments in progress at one instant during [start, end).

    The peak is reached at the start of some appointment (or at `start`), so it is enough to
    count the overlaps at those instants.
    """
    exclude = exclude_appointment_id or 0
    sql = text(
        """
        WITH a AS (
            SELECT start_time, end_time FROM appointments
            WHERE location_id = :loc AND status <> 'cancelled' AND id <> :ex
              AND start_time < :end AND end_time > :start
        ), points AS (
            SELECT greatest(start_time, :start) AS p FROM a
        )
        SELECT coalesce(max(
            (SELECT count(*) FROM a WHERE a.start_time <= points.p AND a.end_time > points.p)
        ), 0)
        FROM points
        """
    )
    params = {"loc": location_id, "start": start, "end": end, "ex": exclude}
    return int((await session.execute(sql, params)).scalar_one())


async def insert(session: AsyncSession, **values: Any) -> int:
    """Plain INSERT (never ON CONFLICT, see the module docstring) of one appointment with the
    given column values, run at once so a conflict surfaces here (sqlstate 23P01 / 23505 in
    `DBAPIError`); returns the new id."""
    (row,) = await fetch(session, _INSERT, values)
    return int(row[0])


async def insert_paid(session: AsyncSession, *, amount: Decimal, **values: Any) -> int | None:
    """Take `amount` (> 0) from the client's wallet, insert the appointment (`values`: every
    column of `PAID_COLUMNS`) and write its debit to the ledger (-`amount`, the appointment's
    `discount`), in one statement: one round trip instead of three. Returns the new id, or
    None when the balance does not cover `amount` (nothing written).

    The debit is `wallets.conditional_debit`, as in `wallets.debit`; as `insert`, a conflict
    raises sqlstate 23P01 / 23505 in `DBAPIError`, and then nothing of the statement is
    written."""
    if set(values) != set(PAID_COLUMNS):
        raise ValueError(f"insert_paid takes exactly {', '.join(PAID_COLUMNS)} and amount")
    params = {f"paid_{name}": value for name, value in values.items()}
    rows = await fetch(session, _INSERT_PAID, {**params, "paid_amount": amount})
    return int(rows[0][0]) if rows else None


async def mark_cancelled(
    session: AsyncSession, appointment_id: int, *, now: dt.datetime, by: str
) -> bool:
    """Cancel if still booked. False when someone else already changed it (double cancel)."""
    result = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == BOOKED)
        .values(status=CANCELLED, cancelled_at=now, cancelled_by=by, updated_at=func.now())
        .returning(Appointment.id)
    )
    return result.scalar_one_or_none() is not None


async def move(
    session: AsyncSession,
    appointment_id: int,
    *,
    expected_start: dt.datetime,
    start: dt.datetime,
    end: dt.datetime,
    blocked_until: dt.datetime,
    workplace_id: int,
    specialist_id: int,
    price: Decimal,
    discount: Decimal,
) -> bool:
    """Move a booked appointment, only if it still starts at `expected_start` (no lost update).

    Flushes immediately so an EXCLUDE conflict surfaces here.
    """
    result = await session.execute(
        update(Appointment)
        .where(
            Appointment.id == appointment_id,
            Appointment.status == BOOKED,
            Appointment.start_time == expected_start,
        )
        .values(
            start_time=start,
            end_time=end,
            blocked_until=blocked_until,
            workplace_id=workplace_id,
            specialist_id=specialist_id,
            price=price,
            discount=discount,
            client_confirmed_at=None,
            updated_at=func.now(),
        )
        .returning(Appointment.id)
    )
    return result.scalar_one_or_none() is not None


async def set_status(
    session: AsyncSession,
    appointment_id: int,
    *,
    status: AppointmentStatus,
    allowed_from: Sequence[AppointmentStatus],
) -> bool:
    result = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status.in_(allowed_from))
        .values(status=status, updated_at=func.now())
        .returning(Appointment.id)
    )
    return result.scalar_one_or_none() is not None


async def set_client_confirmed(
    session: AsyncSession, appointment_id: int, *, now: dt.datetime
) -> bool:
    """Record "I'll come" once (the first press wins); False if not booked any more."""
    result = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == BOOKED)
        .values(client_confirmed_at=func.coalesce(Appointment.client_confirmed_at, now))
        .returning(Appointment.id)
    )
    return result.scalar_one_or_none() is not None


ViewRow = Row[tuple[Appointment, Location, Service, Specialist, Workplace, Client]]


def view_select() -> Select[tuple[Appointment, Location, Service, Specialist, Workplace, Client]]:
    return (
        select(Appointment, Location, Service, Specialist, Workplace, Client)
        .join(Location, Location.id == Appointment.location_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Specialist, Specialist.id == Appointment.specialist_id)
        .join(Workplace, Workplace.id == Appointment.workplace_id)
        .join(Client, Client.id == Appointment.client_id)
    )


class ViewAppointment(NamedTuple):
    """The appointment's columns a view and its notifications read (names as `Appointment`'s)."""

    id: int
    client_id: int
    location_id: int
    service_id: int
    specialist_id: int
    workplace_id: int
    start_time: dt.datetime
    end_time: dt.datetime
    blocked_until: dt.datetime
    status: str
    price: Decimal
    discount: Decimal
    client_confirmed_at: dt.datetime | None
    cancelled_by: str | None


class ViewLocation(NamedTuple):
    name: str
    address: str | None
    timezone: str
    name_i18n: dict[str, str]


class ViewService(NamedTuple):
    name: str
    name_i18n: dict[str, str]


class ViewSpecialist(NamedTuple):
    id: int
    name: str
    name_i18n: dict[str, str]
    tg_id: int | None
    chat_active: bool
    language: str


class ViewWorkplace(NamedTuple):
    name: str
    name_i18n: dict[str, str]


class ViewClient(NamedTuple):
    id: int
    tg_id: int | None
    is_active: bool
    language: str
    first_name: str | None
    last_name: str | None
    username: str | None
    phone: str | None


# `view_select`'s row for one appointment as plain rows: what `view_facts` returns.
ViewFacts = tuple[
    ViewAppointment, ViewLocation, ViewService, ViewSpecialist, ViewWorkplace, ViewClient
]

# Each part of `ViewFacts`: its table, the appointment's column that joins it (None for the
# appointment itself) and its row type, whose fields are the columns read.
_VIEW_PARTS: tuple[tuple[str, str | None, type[Any]], ...] = (
    ("appointments", None, ViewAppointment),
    ("locations", "location_id", ViewLocation),
    ("services", "service_id", ViewService),
    ("specialists", "specialist_id", ViewSpecialist),
    ("workplaces", "workplace_id", ViewWorkplace),
    ("clients", "client_id", ViewClient),
)


def _view_facts_statement() -> Select[Any]:
    appt = Base.metadata.tables["appointments"]
    columns = []
    joined: FromClause = appt
    for name, key, part in _VIEW_PARTS:
        table = Base.metadata.tables[name]
        columns += [table.c[field] for field in part._fields]
        if key is not None:
            joined = joined.join(table, table.c.id == appt.c[key])
    return select(*columns).select_from(joined).where(appt.c.id == bindparam("id"))


# A confirm reads its new appointment's view once: built once, run on the driver.
_VIEW_FACTS = _view_facts_statement()


async def view_facts(session: AsyncSession, appointment_id: int) -> ViewFacts | None:
    """The appointment with the names a message shows (location, service, specialist, ...), as
    plain rows (`ViewAppointment`, ..., `ViewClient`: the columns a view and its
    notifications read, named as the models'), in one prepared statement on the session's
    connection (`db.driver.fetch`) rather than six ORM objects (`view_select`): about half the
    CPU, on every booking (docs/bench-booking.md). None when there is no such appointment."""
    rows = await fetch(session, _VIEW_FACTS, {"id": appointment_id})
    if not rows:
        return None
    values, first = tuple(rows[0]), 0
    parts: list[Any] = []
    for _, _, part in _VIEW_PARTS:
        size = len(part._fields)
        parts.append(part(*values[first : first + size]))
        first += size
    appointment, location, service, specialist, workplace, client = parts
    return appointment, location, service, specialist, workplace, client


async def client_rows(
    session: AsyncSession, client_id: int, *, now: dt.datetime, past: bool, limit: int
) -> Sequence[ViewRow]:
    """Upcoming booked appointments (soonest first) or the history (latest first)."""
    stmt = view_select().where(Appointment.client_id == client_id)
    if past:
        stmt = stmt.where(
            and_(Appointment.start_time < now) | (Appointment.status != BOOKED)
        ).order_by(Appointment.start_time.desc(), Appointment.id.desc())
    else:
        stmt = stmt.where(Appointment.status == BOOKED, Appointment.end_time > now).order_by(
            Appointment.start_time, Appointment.id
        )
    return (await session.execute(stmt.limit(limit))).all()
