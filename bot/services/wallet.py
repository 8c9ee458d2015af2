"""Wallet use cases: top-up, adjustment, discount, Telegram payments, balance and ledger.

Every money movement updates `client_wallets.balance` AND inserts the ledger row in one
transaction, so `balance == sum(wallet_transactions.amount)` and `balance >= 0` hold at every
commit (docs/rules.md#wallet). Debits of appointments live in the booking service; the rules are the
same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import InsufficientFunds, NotAllowed, NotAllowedReason, NotFound
from bot.domain.policies import HUNDRED, ZERO, money
from bot.services.transaction import in_transaction, read_session
from db.errors import FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, sqlstate
from db.repositories import wallets

# Runs inside a money movement's transaction with (session, value before, value after): the
# admin area checks the role and writes its audit row there, so both commit with the change.
AuditHook = Callable[[AsyncSession, Decimal, Decimal], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger row as the wallet screen shows it (`amount` signed: + credit, - debit)."""

    id: int
    amount: Decimal
    discount: Decimal
    kind: str
    description: str | None
    appointment_id: int | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class WalletView:
    client_id: int
    balance: Decimal
    entries: list[LedgerEntry]


class WalletService:
    """Moves money in and out of client wallets; each call is one transaction."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def top_up(
        self,
        client_id: int,
        amount: Decimal,
        *,
        comment: str | None,
        admin_id: int | None,
        audit_hook: AuditHook | None = None,
    ) -> Decimal:
        """An admin credits `amount` (currency, > 0, rounded to 2 decimals) with a comment;
        returns the new balance. `NotAllowed(AMOUNT_NOT_POSITIVE)`, `NotFound` for an unknown
        client. Rule: docs/rules.md#top-up-and-payments."""
        amount = money(amount)
        if amount <= ZERO:
            raise NotAllowed(NotAllowedReason.AMOUNT_NOT_POSITIVE)
        return await self._move(
            client_id,
            amount,
            kind="topup",
            comment=comment,
            created_by=admin_id,
            audit_hook=audit_hook,
        )

    async def adjust(
        self,
        client_id: int,
        amount: Decimal,
        *,
        comment: str | None,
        admin_id: int | None,
        audit_hook: AuditHook | None = None,
    ) -> Decimal:
        """An admin corrects the balance by a signed `amount` (currency, 2 decimals); never
        below zero (`InsufficientFunds` and nothing written). Returns the new balance.
        `NotAllowed(AMOUNT_ZERO)`, `NotFound`. Rule: docs/rules.md#wallet."""
        amount = money(amount)
        if amount == ZERO:
            raise NotAllowed(NotAllowedReason.AMOUNT_ZERO)
        return await self._move(
            client_id,
            amount,
            kind="adjustment",
            comment=comment,
            created_by=admin_id,
            audit_hook=audit_hook,
        )

    async def credit_payment(
        self, client_id: int, amount: Decimal, *, charge_id: str, comment: str | None = None
    ) -> bool:
        """Credit a successful Telegram payment exactly once per `charge_id`.

        Returns True when credited now, False when this charge was already credited (Telegram
        may deliver the successful payment twice). The ledger's unique `external_id` decides,
        so concurrent deliveries cannot both credit. `amount` is in the currency (2 decimals);
        raises `NotAllowed(AMOUNT_NOT_POSITIVE)`, `NotFound` for an unknown client.
        Rule: docs/rules.md#top-up-and-payments.
        """
        amount = money(amount)
        if amount <= ZERO:
            raise NotAllowed(NotAllowedReason.AMOUNT_NOT_POSITIVE)

        async def credit(session: AsyncSession) -> bool:
            if await wallets.by_external_id(session, charge_id) is not None:
                return False
            await wallets.ensure(session, client_id)
            # The ledger row first: a duplicate charge fails here before any credit.
            await wallets.add_entry(
                session,
                client_id=client_id,
                amount=amount,
                kind="payment",
                description=comment,
                external_id=charge_id,
            )
            await wallets.credit(session, client_id, amount)
            return True

        try:
            return await in_transaction(self._sessions, credit)
        except DBAPIError as exc:
            code = sqlstate(exc)
            if code == UNIQUE_VIOLATION:
                return False
            if code == FOREIGN_KEY_VIOLATION:
                raise NotFound(f"client {client_id}") from exc
            raise

    async def set_discount(
        self, client_id: int, percent: Decimal | int, *, audit_hook: AuditHook | None = None
    ) -> Decimal:
        """Set the client's discount percent (0..100, 2 decimals), applied at the next confirm
        or move; returns it. `NotAllowed(DISCOUNT_OUT_OF_RANGE)`, `NotFound`. `audit_hook`
        gets (session, percent before, percent after) inside the transaction.
        Rule: docs/rules.md#discount."""
        if not ZERO <= Decimal(percent) <= HUNDRED:  # before rounding: 1e30 cannot be rounded
            raise NotAllowed(NotAllowedReason.DISCOUNT_OUT_OF_RANGE)
        value = Decimal(percent).quantize(Decimal("0.01"))

        async def store(session: AsyncSession) -> None:
            before = await wallets.discount_percent_for_update(session, client_id)
            if before is None or not await wallets.set_discount_percent(session, client_id, value):
                raise NotFound(f"client {client_id}")
            if audit_hook is not None:
                await audit_hook(session, before, value)

        await in_transaction(self._sessions, store)
        return value

    async def balance_and_ledger(self, client_id: int, limit: int = 20) -> WalletView:
        """The balance and the latest `limit` ledger rows, newest first (signed amounts:
        + credit, - debit). `NotFound` for an unknown client. Rule: docs/rules.md#wallet."""
        async with read_session(self._sessions) as session:
            balance = await wallets.balance(session, client_id)
            if balance is None:
                if not await wallets.client_exists(session, client_id):
                    raise NotFound(f"client {client_id}")
                balance = ZERO
            rows = await wallets.ledger(session, client_id, limit)
        entries = [
            LedgerEntry(
                id=r.id,
                amount=r.amount,
                discount=r.discount,
                kind=r.kind,
                description=r.description,
                appointment_id=r.appointment_id,
                created_at=r.created_at,
            )
            for r in rows
        ]
        return WalletView(client_id=client_id, balance=balance, entries=entries)

    async def _move(
        self,
        client_id: int,
        amount: Decimal,
        *,
        kind: str,
        comment: str | None,
        created_by: int | None,
        audit_hook: AuditHook | None = None,
    ) -> Decimal:
        async def move(session: AsyncSession) -> Decimal:
            await wallets.ensure(session, client_id)
            if amount > ZERO:
                new_balance = await wallets.credit(session, client_id, amount)
            else:
                new_balance = await wallets.debit(session, client_id, -amount)
                if new_balance is None:
                    current = await wallets.balance(session, client_id) or ZERO
                    raise InsufficientFunds(-amount, current)
            if new_balance is None:
                raise NotFound(f"client {client_id}")
            await wallets.add_entry(
                session,
                client_id=client_id,
                amount=amount,
                kind=kind,
                description=comment,
                created_by=created_by,
            )
            if audit_hook is not None:
                await audit_hook(session, new_balance - amount, new_balance)
            return new_balance

        try:
            return await in_transaction(self._sessions, move)
        except DBAPIError as exc:
            if sqlstate(exc) == FOREIGN_KEY_VIOLATION:
                raise NotFound(f"client {client_id}") from exc
            raise
