"""A fixed data set for the statistics tests, small enough to compute every figure by hand.

The period is Monday 24.03.2031 - Sunday 30.03.2031. Berlin moves its clocks forward on
Sunday 30.03 at 02:00 (CET +1 -> CEST +2); Moscow stays at +3.

"Центр" (Europe/Berlin): Mon-Sat 09:00-18:00, Sun 00:00-06:00; closed holiday Wed 26.03.
  Анна: Mon-Sat 09:00-18:00, Sun 01:00-05:00 (3 real hours on the DST day); break Tue 12-13.
  Борис: Mon-Fri 10:00-14:00; off all of Thu 27.03 (a whole-day break).
"Север" (Europe/Moscow): every day 09:00-21:00. Вера: every day 10:00-12:00.

Working minutes in the period: Анна 540+480+0+540+540+540+180 = 2820, Борис
240+240+0+0+240 = 720, Вера 7*120 = 840.

Appointments (local times; price; created; ledger):
  a0  K1 Анна  10.03 10:00 60m completed 1000, debit 05.03          (before the period)
  a1  K1 Анна  24.03 10:00 60m completed 1000, created+debit 20.03
  a2  K2 Анна  25.03 14:00 90m completed 1500, created+debit 24.03 00:30 CET (23.03 UTC)
  a3  K2 Борис 28.03 10:00 60m no_show    800, created+debit 25.03 12:00
  a4  K3 Анна  28.03 15:00 60m cancelled by the client late: debit 26.03, refund 500 28.03
  a5  K3 Борис 24.03 11:00 60m cancelled by an admin: debit 24.03 08:00, refund 24.03 09:00
  a6  K3 Анна  30.03 03:30 CEST 60m booked 1200, created+debit 30.03 00:30 CET (29.03 UTC)
  a7  K2 Анна  31.03 09:00 60m booked 700, created+debit 31.03 00:30 CEST (30.03 22:30 UTC)
  a8  K4 Анна  29.03 10:00 60m cancelled by the client: debit 22.03, refund 1000 27.03
  b1  K1 Вера  26.03 10:00 MSK 60m completed 900, created+debit 25.03 10:00 MSK
Other ledger rows (dated in Moscow time): K1 top-up 5000 01.03 and 400 at 31.03 00:30 MSK;
K2 top-up 3000 24.03; K3 payment 2500 25.03; K4 top-up 1000 20.03; K2 adjustment +100 26.03.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Appointment,
    Break,
    Client,
    ClientWallet,
    Holiday,
    Location,
    LocationSchedule,
    Service,
    Specialist,
    SpecialistSchedule,
    WalletTransaction,
    Workplace,
)

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")


def at(zone: ZoneInfo, day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2031, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class StatsWorld:
    center: int
    north: int
    anna: int
    boris: int
    vera: int
    clients: dict[str, int]
    appointments: dict[str, int]


async def build(sessions: async_sessionmaker[AsyncSession]) -> StatsWorld:
    async with sessions() as s, s.begin():
        center = Location(name="Центр", timezone="Europe/Berlin")
        north = Location(name="Север", timezone="Europe/Moscow")
        service = Service(name="Стрижка", duration_min=60, price=Decimal("1000.00"))
        anna, boris, vera = (
            Specialist(name="Анна"),
            Specialist(name="Борис"),
            Specialist(name="Вера"),
        )
        s.add_all([center, north, service, anna, boris, vera])
        await s.flush()
        w1 = Workplace(location_id=center.id, name="Кресло 1")
        w2 = Workplace(location_id=north.id, name="Кресло 1")
        s.add_all([w1, w2])
        for day in range(1, 7):
            s.add(
                LocationSchedule(
                    location_id=center.id, day_of_week=day, start_time=time(9), end_time=time(18)
                )
            )
            s.add(
                SpecialistSchedule(
                    specialist_id=anna.id,
                    location_id=center.id,
                    day_of_week=day,
                    start_time=time(9),
                    end_time=time(18),
                )
            )
        s.add(
            LocationSchedule(
                location_id=center.id, day_of_week=7, start_time=time(0), end_time=time(6)
            )
        )
        s.add(
            SpecialistSchedule(
                specialist_id=anna.id,
                location_id=center.id,
                day_of_week=7,
                start_time=time(1),
                end_time=time(5),
            )
        )
        for day in range(1, 6):
            s.add(
                SpecialistSchedule(
                    specialist_id=boris.id,
                    location_id=center.id,
                    day_of_week=day,
                    start_time=time(10),
                    end_time=time(14),
                )
            )
        for day in range(1, 8):
            s.add(
                LocationSchedule(
                    location_id=north.id, day_of_week=day, start_time=time(9), end_time=time(21)
                )
            )
            s.add(
                SpecialistSchedule(
                    specialist_id=vera.id,
                    location_id=north.id,
                    day_of_week=day,
                    start_time=time(10),
                    end_time=time(12),
                )
            )
        s.add(Holiday(location_id=center.id, date=datetime(2031, 3, 26).date(), is_working=False))
        s.add(
            Break(
                specialist_id=anna.id,
                date=datetime(2031, 3, 25).date(),
                start_time=time(12),
                end_time=time(13),
            )
        )
        s.add(Break(specialist_id=boris.id, date=datetime(2031, 3, 27).date()))
        clients = {
            name: Client(first_name=first, last_name=last)
            for name, first, last in (
                ("K1", "Ирина", "Петрова"),
                ("K2", "John", "Smith"),
                ("K3", "Ёжик", None),
                ("K4", "Катя", None),
            )
        }
        s.add_all(clients.values())
        await s.flush()
        cid = {k: c.id for k, c in clients.items()}

        def appt(
            client: str,
            spec: Specialist,
            start: datetime,
            minutes: int,
            status: str,
            price: str,
            created: datetime,
            cancelled_by: str | None = None,
        ) -> Appointment:
            loc, wp = (north, w2) if spec is vera else (center, w1)
            end = start + timedelta(minutes=minutes)
            return Appointment(
                location_id=loc.id,
                service_id=service.id,
                workplace_id=wp.id,
                specialist_id=spec.id,
                client_id=cid[client],
                start_time=start,
                end_time=end,
                blocked_until=end,
                status=status,
                price=Decimal(price),
                created_at=created,
                updated_at=created,
                cancelled_by=cancelled_by,
            )

        b = BERLIN
        rows = {
            "a0": appt("K1", anna, at(b, 10, 10), 60, "completed", "1000", at(b, 5, 10)),
            "a1": appt("K1", anna, at(b, 24, 10), 60, "completed", "1000", at(b, 20, 12)),
            "a2": appt("K2", anna, at(b, 25, 14), 90, "completed", "1500", at(b, 24, 0, 30)),
            "a3": appt("K2", boris, at(b, 28, 10), 60, "no_show", "800", at(b, 25, 12)),
            "a4": appt("K3", anna, at(b, 28, 15), 60, "cancelled", "1000", at(b, 26, 12), "client"),
            "a5": appt("K3", boris, at(b, 24, 11), 60, "cancelled", "1000", at(b, 24, 8), "admin"),
            "a6": appt("K3", anna, at(b, 30, 3, 30), 60, "booked", "1200", at(b, 30, 0, 30)),
            "a7": appt("K2", anna, at(b, 31, 9), 60, "booked", "700", at(b, 31, 0, 30)),
            "a8": appt("K4", anna, at(b, 29, 10), 60, "cancelled", "1000", at(b, 22, 10), "client"),
            "b1": appt("K1", vera, at(MOSCOW, 26, 10), 60, "completed", "900", at(MOSCOW, 25, 10)),
        }
        s.add_all(rows.values())
        await s.flush()
        ids = {k: a.id for k, a in rows.items()}

        ledger: list[tuple[str, str, str, datetime, str | None]] = [
            ("K1", "5000", "topup", at(MOSCOW, 1, 10), None),
            ("K1", "400", "topup", at(MOSCOW, 31, 0, 30), None),
            ("K2", "3000", "topup", at(MOSCOW, 24, 10), None),
            ("K3", "2500", "payment", at(MOSCOW, 25, 12), None),
            ("K4", "1000", "topup", at(MOSCOW, 20, 10), None),
            ("K2", "100", "adjustment", at(MOSCOW, 26, 10), None),
            ("K1", "-1000", "debit", at(b, 5, 10), "a0"),
            ("K1", "-1000", "debit", at(b, 20, 12), "a1"),
            ("K2", "-1500", "debit", at(b, 24, 0, 30), "a2"),
            ("K2", "-800", "debit", at(b, 25, 12), "a3"),
            ("K3", "-1000", "debit", at(b, 26, 12), "a4"),
            ("K3", "500", "refund", at(b, 28, 14, 30), "a4"),
            ("K3", "-1000", "debit", at(b, 24, 8), "a5"),
            ("K3", "1000", "refund", at(b, 24, 9), "a5"),
            ("K3", "-1200", "debit", at(b, 30, 0, 30), "a6"),
            ("K2", "-700", "debit", at(b, 31, 0, 30), "a7"),
            ("K4", "-1000", "debit", at(b, 22, 10), "a8"),
            ("K4", "1000", "refund", at(b, 27, 10), "a8"),
            ("K1", "-900", "debit", at(MOSCOW, 25, 10), "b1"),
        ]
        balances: dict[str, Decimal] = dict.fromkeys(cid, Decimal(0))
        for client, amount, *_ in ledger:
            balances[client] += Decimal(amount)
        for client, balance in balances.items():
            s.add(ClientWallet(client_id=cid[client], balance=balance))
        await s.flush()
        for client, amount, kind, created, appt_key in ledger:
            s.add(
                WalletTransaction(
                    client_id=cid[client],
                    amount=Decimal(amount),
                    kind=kind,
                    created_at=created,
                    appointment_id=ids[appt_key] if appt_key else None,
                    description="Пополнение" if kind == "topup" else None,
                )
            )
    return StatsWorld(center.id, north.id, anna.id, boris.id, vera.id, cid, ids)
