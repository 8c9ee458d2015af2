"""CSV exports of a period: its appointments and its ledger (stdlib `csv`).

UTF-8 with a byte-order mark, so spreadsheet programs open Cyrillic names correctly; comma
separated with a header row of stable column names; times in the row's location time zone
(`YYYY-MM-DD HH:MM`); amounts as plain decimals with a dot and two places (`-1500.00`).

A report, not a file to load back (the catalog YAML is that): the appointments carry the base
names (`location`, `workplace`, `specialist`, `service`: stable whatever the reader's language,
so files of different admins line up) and the same names in the admin's language
(`location_<lang>`... : the translated name, or the base one where there is none).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.names import localized_name
from bot.domain.periods import Period
from bot.domain.policies import money
from bot.services.transaction import read_session
from db.repositories import exports
from db.repositories import stats as stats_repo
from db.repositories.stats import Scope

APPOINTMENT_COLUMNS = (
    "id",
    "start",
    "end",
    "location",
    "workplace",
    "specialist",
    "service",
    "client_id",
    "client",
    "status",
    "price",
    "discount",
    "cancelled_by",
)
# The named columns repeated in the reader's language (`location_en`...).
NAMED_COLUMNS = ("location", "workplace", "specialist", "service")
LEDGER_COLUMNS = (
    "id",
    "created",
    "client_id",
    "client",
    "kind",
    "amount",
    "discount",
    "appointment_id",
    "description",
)


def amount(value: Decimal) -> str:
    """A plain decimal with two places and a dot: `1500.00`, `-250.50`."""
    return f"{money(value):f}"


def _local(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _name(first: object, last: object) -> str:
    return " ".join(str(p) for p in (first, last) if p)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV text encoded as UTF-8 with a BOM."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


class StatsExport:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], default_timezone: str
    ) -> None:
        self._sessions = session_factory
        self._default_timezone = default_timezone

    async def appointments_csv(self, scope: Scope, period: Period, language: str) -> bytes:
        """Every appointment of the scope starting in the period, cancelled ones included; the
        names also in `language` (see the module notes)."""
        async with read_session(self._sessions) as session:
            w = await stats_repo.window(session, scope, period.first, period.last)
            rows = await exports.appointment_rows(session, scope, w)
        return to_csv(
            (*APPOINTMENT_COLUMNS, *(f"{c}_{language}" for c in NAMED_COLUMNS)),
            (
                (
                    r.id,
                    _local(r.start_time, r.timezone),
                    _local(r.end_time, r.timezone),
                    r.location,
                    r.workplace,
                    r.specialist,
                    r.service,
                    r.client_id,
                    _name(r.first_name, r.last_name),
                    r.status,
                    amount(r.price),
                    amount(r.discount),
                    r.cancelled_by or "",
                    *(
                        localized_name(getattr(r, c), getattr(r, f"{c}_i18n"), language)
                        for c in NAMED_COLUMNS
                    ),
                )
                for r in rows
            ),
        )

    async def ledger_csv(self, scope: Scope, period: Period) -> bytes:
        """The ledger rows written in the period (see `exports.ledger_rows` for the scope)."""
        unattached = (
            stats_repo.zone_bounds(self._default_timezone, period.first, period.last)
            if scope == Scope()
            else None
        )
        async with read_session(self._sessions) as session:
            w = await stats_repo.window(session, scope, period.first, period.last)
            rows = await exports.ledger_rows(session, scope, w, self._default_timezone, unattached)
        return to_csv(
            LEDGER_COLUMNS,
            (
                (
                    r.id,
                    _local(r.created_at, r.timezone),
                    r.client_id,
                    _name(r.first_name, r.last_name),
                    r.kind,
                    amount(r.amount),
                    amount(r.discount),
                    r.appointment_id or "",
                    r.description or "",
                )
                for r in rows
            ),
        )
