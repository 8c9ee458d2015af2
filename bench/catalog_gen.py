"""A big, realistic catalog with appointments, written straight into a migrated database.

    from bench.catalog_gen import CatalogSize, generate
    catalog = await generate("postgresql://postgres@127.0.0.1:5432/bench", CatalogSize(), today=...)

Shape (default size: 5 locations, 50 specialists, 20 services, 20 000 appointments):
- locations in different time zones (Moscow, Berlin, New York, London, Tokyo), open 09:00-21:00
  Monday to Saturday, closed on Sunday, one closed holiday each within the horizon, optional
  capacity;
- specialists spread over the locations, each with a home workplace and 4-6 services (custom
  price or duration on some), shifts of 9-12 hours on 5-6 weekdays, a few breaks;
- workplaces: one per specialist at their location, hosting their home specialist's services
  plus a few more, some with their own price, duration or break;
- appointments in each specialist's shifts at their home workplace, over the past 90 days and
  the horizon (about half of the possible times taken at the default size), never
  overlapping (the database's EXCLUDE constraints check that).
Rows are written with COPY, so the default size loads in a few seconds. Ids are explicit and
the sequences are moved past them afterwards. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg

TIMEZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo"]
OPEN, CLOSE = time(9), time(21)
# Appointments also fill this many days before `today` (history, like a live salon).
PAST_DAYS = 90


@dataclass(frozen=True)
class CatalogSize:
    locations: int = 5
    specialists: int = 50
    services: int = 20
    appointments: int = 20_000
    horizon_days: int = 30
    capacity: int | None = None

    def scaled(self, factor: float) -> CatalogSize:
        """Shrink (or grow) everything but the horizon; at least one of each."""
        return replace(
            self,
            locations=max(1, round(self.locations * factor)),
            specialists=max(1, round(self.specialists * factor)),
            services=max(1, round(self.services * factor)),
            appointments=max(1, round(self.appointments * factor)),
        )


@dataclass
class GeneratedCatalog:
    location_ids: list[int]
    service_ids: list[int]
    specialist_ids: list[int]
    client_ids: list[int]
    # (location_id, service_id) -> the specialists who do that service there.
    qualified: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    appointments: int = 0


@dataclass
class _Spec:
    id: int
    location: int
    workplace: int
    services: list[int]
    days: list[int]
    start: time
    end: time


async def generate(
    url: str, size: CatalogSize = CatalogSize(), *, today: date, seed: int = 1
) -> GeneratedCatalog:
    """Fill an empty, migrated database (plain `postgresql://` URL) and describe what it has.

    Appointments fill dates from `PAST_DAYS` before `today` up to `today + horizon_days`, so
    the horizon the bot offers is partly booked, like a live salon."""
    rnd = random.Random(seed)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            return await _fill(conn, size, today, rnd)
    finally:
        await conn.close()


async def _fill(
    conn: asyncpg.Connection, size: CatalogSize, today: date, rnd: random.Random
) -> GeneratedCatalog:
    loc_ids = list(range(1, size.locations + 1))
    await conn.copy_records_to_table(
        "locations",
        columns=["id", "name", "address", "capacity", "timezone"],
        records=[
            (i, f"Location {i}", f"Street {i}", size.capacity, TIMEZONES[(i - 1) % len(TIMEZONES)])
            for i in loc_ids
        ],
    )
    await conn.copy_records_to_table(
        "location_schedules",
        columns=["location_id", "day_of_week", "start_time", "end_time", "is_day_off"],
        records=[(loc, dow, OPEN, CLOSE, False) for loc in loc_ids for dow in range(1, 7)],
    )
    await conn.copy_records_to_table(
        "holidays",
        columns=["location_id", "date", "is_working", "description"],
        records=[
            (loc, today + timedelta(days=rnd.randrange(1, size.horizon_days)), False, "Holiday")
            for loc in loc_ids
        ],
    )
    svc_ids = list(range(1, size.services + 1))
    service_terms = {
        s: (
            rnd.choice([30, 45, 60, 90, 120]),
            rnd.choice([0, 0, 10, 15]),
            rnd.randrange(10, 60) * 100,
        )
        for s in svc_ids
    }
    await conn.copy_records_to_table(
        "services",
        columns=["id", "name", "duration_min", "break_min", "price"],
        records=[
            (s, f"Service {s}", dur, brk, Decimal(price))
            for s, (dur, brk, price) in service_terms.items()
        ],
    )
    specs: list[_Spec] = []
    for i in range(1, size.specialists + 1):
        start = rnd.choice([time(9), time(9), time(10), time(12)])
        end = rnd.choice([time(18), time(20), time(21)])
        specs.append(
            _Spec(
                id=i,
                location=loc_ids[(i - 1) % len(loc_ids)],
                workplace=i,
                services=rnd.sample(svc_ids, min(len(svc_ids), rnd.randint(4, 6))),
                days=sorted(rnd.sample(range(1, 7), rnd.choice([5, 6]))),
                start=start,
                end=end,
            )
        )
    await conn.copy_records_to_table(
        "specialists",
        columns=["id", "name", "specialization"],
        records=[(s.id, f"Specialist {s.id}", "stylist") for s in specs],
    )
    await conn.copy_records_to_table(
        "workplaces",
        columns=["id", "location_id", "name", "type"],
        records=[(s.workplace, s.location, f"Chair {s.workplace}", "chair") for s in specs],
    )
    ws_rows = []
    for s in specs:
        extra = rnd.sample(svc_ids, min(len(svc_ids), 2))
        for svc in sorted(set(s.services) | set(extra)):
            override = rnd.random() < 0.2
            ws_rows.append(
                (
                    s.workplace,
                    svc,
                    Decimal(service_terms[svc][2] + 200) if override else None,
                    None,
                    rnd.choice([5, 20]) if override else None,
                )
            )
    await conn.copy_records_to_table(
        "workplace_services",
        columns=["workplace_id", "service_id", "price", "duration_min", "break_min"],
        records=ws_rows,
    )
    ss_rows = []
    for s in specs:
        for svc in s.services:
            custom = rnd.random() < 0.25
            ss_rows.append(
                (
                    svc,
                    s.id,
                    Decimal(service_terms[svc][2] - 100) if custom else None,
                    service_terms[svc][0] + 15 if custom else None,
                )
            )
    await conn.copy_records_to_table(
        "service_specialists",
        columns=["service_id", "specialist_id", "custom_price", "custom_duration"],
        records=ss_rows,
    )
    await conn.copy_records_to_table(
        "specialist_schedules",
        columns=["specialist_id", "location_id", "day_of_week", "start_time", "end_time"],
        records=[(s.id, s.location, dow, s.start, s.end) for s in specs for dow in s.days],
    )
    break_rows = []
    for s in specs:
        for _ in range(3):
            day = today + timedelta(days=rnd.randrange(0, size.horizon_days))
            if rnd.random() < 0.3:
                break_rows.append((s.id, day, None, None, "Day off"))
            else:
                break_rows.append((s.id, day, time(14), time(14, 30), "Lunch"))
    await conn.copy_records_to_table(
        "breaks",
        columns=["specialist_id", "date", "start_time", "end_time", "reason"],
        records=break_rows,
    )
    appointments = _appointments(specs, service_terms, size, today, rnd)
    n_clients = max(100, len(appointments) // 20)
    client_ids = list(range(1, n_clients + 1))
    await conn.copy_records_to_table(
        "clients",
        columns=["id", "first_name"],
        records=[(c, f"Client {c}") for c in client_ids],
    )
    await conn.copy_records_to_table(
        "client_wallets",
        columns=["client_id", "balance"],
        records=[(c, Decimal(0)) for c in client_ids],
    )
    # Sorted by start, neighbours get different clients: a client's two appointments are
    # n_clients positions apart, far more than can overlap (one per specialist at a time).
    appointments.sort(key=lambda a: a[4])
    history = _history(appointments, client_ids, today, random.Random(rnd.random()))
    await conn.copy_records_to_table(
        "appointments",
        columns=[
            "location_id",
            "service_id",
            "workplace_id",
            "specialist_id",
            "start_time",
            "end_time",
            "blocked_until",
            "price",
            "status",
            "id",
            "client_id",
            "created_at",
            "cancelled_by",
        ],
        records=[(*a[:8], *h) for a, h in zip(appointments, history.appointments, strict=True)],
    )
    await conn.copy_records_to_table(
        "wallet_transactions",
        columns=["client_id", "appointment_id", "amount", "kind", "created_at"],
        records=history.ledger,
    )
    for table in ("locations", "services", "specialists", "workplaces", "clients", "appointments"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    qualified: dict[tuple[int, int], list[int]] = {}
    for s in specs:
        for svc in s.services:
            qualified.setdefault((s.location, svc), []).append(s.id)
    return GeneratedCatalog(
        location_ids=loc_ids,
        service_ids=svc_ids,
        specialist_ids=[s.id for s in specs],
        client_ids=client_ids,
        qualified=qualified,
        appointments=len(appointments),
    )


@dataclass
class _History:
    # Per appointment: (status, id, client_id, created_at, cancelled_by).
    appointments: list[tuple[object, ...]]
    # (client_id, appointment_id, amount, kind, created_at).
    ledger: list[tuple[object, ...]]


def _history(
    appointments: list[tuple[object, ...]],
    client_ids: list[int],
    today: date,
    rnd: random.Random,
) -> _History:
    """What happened to each appointment, as in a live salon: booked 1-14 days ahead (never
    after `today`), paid from the wallet at booking; past ones completed or (1 in 20) a
    no-show; a cancelled one refunded in full by an admin or, by the client, in full or half.
    Each client's wallet was topped up by exactly what they spent, so balances stay 0 and
    `balance == sum(ledger)`."""
    now = datetime.combine(today, time(12), UTC)
    rows: list[tuple[object, ...]] = []
    ledger: list[tuple[object, ...]] = []
    spent: dict[int, Decimal] = {}
    first_seen: dict[int, datetime] = {}
    for i, a in enumerate(appointments):
        appt_id, client = i + 1, client_ids[i % len(client_ids)]
        start, price, status = a[4], a[7], a[8]
        assert isinstance(start, datetime) and isinstance(price, Decimal)
        created = min(start - timedelta(days=rnd.randint(1, 14), hours=rnd.randint(0, 9)), now)
        cancelled_by = None
        ledger.append((client, appt_id, -price, "debit", created))
        net = price
        if status == "cancelled":
            cancelled_by = rnd.choice(["client", "client", "admin"])
            refund = price if cancelled_by == "admin" or rnd.random() < 0.7 else price / 2
            ledger.append((client, appt_id, refund, "refund", created + timedelta(hours=5)))
            net -= refund
        elif start < now:
            status = "no_show" if rnd.random() < 0.05 else "completed"
        rows.append((status, appt_id, client, created, cancelled_by))
        spent[client] = spent.get(client, Decimal(0)) + net
        first_seen[client] = min(first_seen.get(client, created), created)
    for client, total in spent.items():
        if total:
            ledger.append((client, None, total, "topup", first_seen[client] - timedelta(days=1)))
    return _History(rows, ledger)


def _appointments(
    specs: list[_Spec],
    service_terms: dict[int, tuple[int, int, int]],
    size: CatalogSize,
    today: date,
    rnd: random.Random,
) -> list[tuple[object, ...]]:
    """Pack every shift from `PAST_DAYS` before `today` to the end of the horizon with
    back-to-back appointments (random gaps), then keep a random `size.appointments` of them:
    about half of the opportunities at the default size, so the horizon is partly booked."""
    rows: list[tuple[object, ...]] = []
    first = today - timedelta(days=PAST_DAYS)
    for s in specs:
        tz = ZoneInfo(TIMEZONES[(s.location - 1) % len(TIMEZONES)])
        for offset in range(PAST_DAYS + size.horizon_days):
            day = first + timedelta(days=offset)
            if day.isoweekday() not in s.days:
                continue
            cursor = datetime.combine(day, s.start, tzinfo=tz).astimezone(UTC)
            close = datetime.combine(day, s.end, tzinfo=tz).astimezone(UTC)
            while True:
                cursor += timedelta(minutes=15 * rnd.choice([0, 0, 1, 2]))
                svc = rnd.choice(s.services)
                duration, brk, price = service_terms[svc]
                end = cursor + timedelta(minutes=duration)
                blocked = end + timedelta(minutes=brk)
                if blocked > close:
                    break
                status = "booked" if rnd.random() < 0.95 else "cancelled"
                rows.append(
                    (
                        s.location,
                        svc,
                        s.workplace,
                        s.id,
                        cursor,
                        end,
                        blocked,
                        Decimal(price),
                        status,
                    )
                )
                cursor = blocked
    # Dropping appointments never creates an overlap, so any subset is valid.
    return rnd.sample(rows, min(size.appointments, len(rows)))
