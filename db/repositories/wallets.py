"""Wallet and ledger queries. They never commit; the service that moves money does, and it
always updates the balance AND writes the ledger row in the same transaction, so
`balance == sum(wallet_transactions.amount)` holds at every commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Update, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import Base
from db.driver import fetch
from db.models import Client, ClientWallet, WalletTransaction
from db.repositories.waitlist import LIVE as LIVE_WAITLIST

# Ledger rows that pay for an appointment (signed): their negated sum is what the client paid.
CHARGE_KINDS = ("debit", "reschedule")

# Statements every booking runs, built once (SQLAlchemy Core on the tables) and run on the
# driver (`db.driver.fetch`).
_CLIENTS = Base.metadata.tables["clients"]
_LEDGER = Base.metadata.tables["wallet_transactions"]
WALLETS = Base.metadata.tables["client_wallets"]


def conditional_debit(client: Any, amount: Any) -> Update:
    """The one UPDATE that takes money from a wallet: `amount` from `client`'s balance, only
    if the balance covers it (no row updated otherwise). Its row lock makes concurrent debits
    queue, and the `balance >= amount` is re-checked on the latest row version. `client` and
    `amount` are SQL expressions (parameters); add the RETURNING the caller needs."""
    return (
        update(WALLETS)
        .where(WALLETS.c.client_id == client, WALLETS.c.balance >= amount)
        .values(balance=WALLETS.c.balance - amount)
    )


_DEBIT = conditional_debit(
    bindparam("client", type_=WALLETS.c.client_id.type),
    bindparam("amount", type_=WALLETS.c.balance.type),
).returning(WALLETS.c.balance)
_CREDIT = text(
    "UPDATE client_wallets SET balance = balance + :amount "
    "WHERE client_id = :client RETURNING balance"
)
_ADD_ENTRY = insert(_LEDGER).returning(_LEDGER.c.id)
_WAITLIST = Base.metadata.tables["waitlist"]
_BOOKING_TERMS = select(
    _CLIENTS.c.discount_percent,
    _CLIENTS.c.is_blocked,
    exists().where(
        _WAITLIST.c.client_id == _CLIENTS.c.id,
        # The live statuses spelled out, not an IN list: `db.driver.fetch` takes no
        # expanding parameters.
        or_(*(_WAITLIST.c.status == s.value for s in LIVE_WAITLIST)),
    ),
).where(_CLIENTS.c.id == bindparam("client"))


# Built once and run through `db.driver.fetch` (compiled once): PostgreSQL's INSERT ... ON
# CONFLICT has no SQLAlchemy cache key, so `session.execute` would compile it at every call.
_ENSURE = (
    pg_insert(WALLETS)
    .values(client_id=bindparam("client"))
    .on_conflict_do_nothing(index_elements=[WALLETS.c.client_id])
    .returning(WALLETS.c.client_id)
)


async def ensure(session: AsyncSession, client_id: int) -> bool:
    """Create the wallet (balance 0) if the client has none; True when it was created now.
    Safe: no exclusion constraints."""
    return bool(await fetch(session, _ENSURE, {"client": client_id}))


async def balance(session: AsyncSession, client_id: int) -> Decimal | None:
    result = await session.execute(
        select(ClientWallet.balance).where(ClientWallet.client_id == client_id)
    )
    return result.scalar_one_or_none()


async def debit(session: AsyncSession, client_id: int, amount: Decimal) -> Decimal | None:
    """Take `amount` only if the balance covers it; the new balance, or None (nothing changed).

    One conditional UPDATE: the row lock it takes makes concurrent debits queue, and the
    `WHERE balance >= amount` is re-checked on the latest row version.
    """
    rows = await fetch(session, _DEBIT, {"amount": amount, "client": client_id})
    return rows[0][0] if rows else None


async def credit(session: AsyncSession, client_id: int, amount: Decimal) -> Decimal | None:
    """Add `amount` (> 0); the new balance, or None if the client has no wallet."""
    result = await session.execute(_CREDIT, {"amount": amount, "client": client_id})
    return result.scalar_one_or_none()


async def add_entry(
    session: AsyncSession,
    *,
    client_id: int,
    amount: Decimal,
    kind: str,
    appointment_id: int | None = None,
    discount: Decimal = Decimal("0"),
    description: str | None = None,
    external_id: str | None = None,
    created_by: int | None = None,
) -> int:
    """Write one ledger row (amount signed, never 0) and return its id."""
    values = {
        "client_id": client_id,
        "amount": amount,
        "kind": kind,
        "appointment_id": appointment_id,
        "discount": discount,
        "description": description,
        "external_id": external_id,
        "created_by": created_by,
    }
    (row,) = await fetch(session, _ADD_ENTRY, values)
    return int(row[0])


async def charged_for(session: AsyncSession, appointment_id: int) -> Decimal:
    """What the client has paid for the appointment so far (debit and reschedule rows)."""
    result = await session.execute(
        select(func.coalesce(func.sum(WalletTransaction.amount), 0)).where(
            WalletTransaction.appointment_id == appointment_id,
            WalletTransaction.kind.in_(CHARGE_KINDS),
        )
    )
    return -Decimal(result.scalar_one())


async def refunded_for(session: AsyncSession, appointment_id: int) -> Decimal:
    """What was refunded for the appointment (its one refund row; 0 when none)."""
    result = await session.execute(
        select(func.coalesce(func.sum(WalletTransaction.amount), 0)).where(
            WalletTransaction.appointment_id == appointment_id,
            WalletTransaction.kind == "refund",
        )
    )
    return Decimal(result.scalar_one())


async def by_external_id(session: AsyncSession, external_id: str) -> WalletTransaction | None:
    result = await session.execute(
        select(WalletTransaction).where(WalletTransaction.external_id == external_id)
    )
    return result.scalar_one_or_none()


async def ledger(session: AsyncSession, client_id: int, limit: int) -> Sequence[WalletTransaction]:
    """The latest ledger rows of the client, newest first."""
    result = await session.execute(
        select(WalletTransaction)
        .where(WalletTransaction.client_id == client_id)
        .order_by(WalletTransaction.created_at.desc(), WalletTransaction.id.desc())
        .limit(limit)
    )
    return result.scalars().all()


async def discount_percent(session: AsyncSession, client_id: int) -> Decimal | None:
    """The client's personal discount (percent, 0-100), or None for an unknown client."""
    result = await session.execute(select(Client.discount_percent).where(Client.id == client_id))
    percent = result.scalar_one_or_none()
    return None if percent is None else Decimal(percent)


async def set_discount_percent(session: AsyncSession, client_id: int, percent: Decimal) -> bool:
    """Set the client's personal discount; False for an unknown client."""
    result = await session.execute(
        update(Client).where(Client.id == client_id).values(discount_percent=percent)
    )
    return bool(getattr(result, "rowcount", 0))


async def client_exists(session: AsyncSession, client_id: int) -> bool:
    result = await session.execute(select(Client.id).where(Client.id == client_id))
    return result.scalar_one_or_none() is not None


async def discount_percent_for_update(session: AsyncSession, client_id: int) -> Decimal | None:
    """The client's discount percent, row-locked until the transaction ends; None if unknown."""
    value = await session.scalar(
        select(Client.discount_percent).where(Client.id == client_id).with_for_update()
    )
    return Decimal(value) if value is not None else None


async def booking_terms(session: AsyncSession, client_id: int) -> tuple[Decimal, bool, bool] | None:
    """(discount percent, blocked by an admin, has a live waitlist entry) of the client, read
    in one query; None for an unknown client. A booking marks the client's live entries for
    its date fulfilled, a statement it can skip when there are none."""
    rows = await fetch(session, _BOOKING_TERMS, {"client": client_id})
    if not rows:
        return None
    percent, blocked, on_waitlist = rows[0]
    return Decimal(percent), bool(blocked), bool(on_waitlist)
