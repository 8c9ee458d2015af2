"""Front desk, clients: find a client, show the card, create a walk-in client, notes, block,
and the money an admin moves (top-up, adjustment, discount).

Money rules (docs/rules.md#wallet, docs/rules.md#admin-rights): an amount is positive (an
adjustment may be negative, never zero), has at most two decimals and at most 1,000,000 per
operation; the wallet never goes below zero (an adjustment below zero raises
`InsufficientFunds` with the balance). Each movement is one transaction: balance, ledger row
and audit row together, via `WalletService`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.admin_input import (
    COMMENT_MAX,
    NAME_MAX,
    NOTES_MAX,
    check_amount,
    check_percent,
    check_text,
    looks_like_phone,
    to_e164,
    unquote,
)
from bot.domain.errors import InputProblem, InvalidInput, NotFound
from bot.services.admin_gate import require_admin
from bot.services.audit_trail import AuditAction, write_audit
from bot.services.booking import AppointmentView, BookingService
from bot.services.transaction import read_session
from bot.services.wallet import LedgerEntry, WalletService
from db.models import Client
from db.repositories import desk as desk_repo

SEARCH_LIMIT = 20
CARD_ROWS = 5


def _number(text: str) -> bool:
    """Only the digits 0-9: an id. `str.isdigit` alone also takes "²" or "①", which `int`
    refuses, and other scripts' digits, which no id is typed in."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class ClientSummary:
    id: int
    tg_id: int | None
    first_name: str | None
    last_name: str | None
    username: str | None
    phone: str | None
    language: str
    is_blocked: bool

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or f"#{self.id}"


@dataclass(frozen=True, slots=True)
class ClientCard:
    client: ClientSummary
    notes: str | None
    discount_percent: Decimal
    balance: Decimal
    ledger: list[LedgerEntry]
    upcoming: list[AppointmentView]
    past: list[AppointmentView]
    no_shows: int


@dataclass(frozen=True, slots=True)
class ClientPage:
    """One page of a client search and how many clients match in all."""

    clients: list[ClientSummary]
    total: int


def summary(client: Client) -> ClientSummary:
    return ClientSummary(
        id=client.id,
        tg_id=client.tg_id,
        first_name=client.first_name,
        last_name=client.last_name,
        username=client.username,
        phone=client.phone,
        language=client.language,
        is_blocked=client.is_blocked,
    )


class ClientDesk:
    """The admin's client use cases; each checks the role on the server in its transaction."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        wallet: WalletService,
        booking: BookingService,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._wallet = wallet
        self._booking = booking

    # --- finding --------------------------------------------------------------------------

    async def search(self, admin: int, query: str) -> list[ClientSummary]:
        """The first `SEARCH_LIMIT` clients `find` gives for `query` (empty for an empty one)."""
        if not query.strip():
            await self.find(admin, "", limit=0)
            return []
        return (await self.find(admin, query, limit=SEARCH_LIMIT)).clients

    async def find(self, admin: int, query: str, *, limit: int, offset: int = 0) -> ClientPage:
        """One page of the clients matching `query`, by name: `#<client id>`, a Telegram id,
        `@username`, a phone (any format, compared in E.164) or part of a name, each also in
        quotes ("Anna Petrova" is that phrase); every client for an empty `query`.
        `AccessDenied` for a non-admin."""
        text = unquote(query)
        client_id: int | None = None
        tg_id: int | None = None
        username: str | None = None
        phone: str | None = None
        name: str | None = None
        if text.startswith("#") and _number(text[1:]) and len(text) < 12:
            client_id = int(text[1:]) if int(text[1:]) < 2**31 else 0
        elif text.startswith("@") and len(text) > 1:
            username = text[1:]
        elif text:
            if _number(text) and len(text) < 17:
                tg_id = int(text)
            phone = to_e164(text, self._settings.phone_region) if looks_like_phone(text) else None
            if phone is None and not _number(text):
                name = text
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            if text and not (client_id or tg_id or username or phone or name):
                return ClientPage([], 0)
            rows, total = await desk_repo.find_clients(
                session,
                client_id=client_id,
                tg_id=tg_id,
                username=username,
                phone=phone,
                name=name,
                limit=limit,
                offset=offset,
            )
            return ClientPage([summary(c) for c in rows], total)

    async def get(self, admin: int, client_id: int) -> ClientSummary:
        """The client's summary; `NotFound` for an unknown client."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            client = await session.get(Client, client_id)
            if client is None:
                raise NotFound(f"client {client_id}")
            return summary(client)

    async def card(self, admin: int, client_id: int, *, now: dt.datetime) -> ClientCard:
        """Contact, notes, discount, balance, the last ledger rows, upcoming and past
        appointments and the no-show count. `NotFound` for an unknown client."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            client = await session.get(Client, client_id)
            if client is None:
                raise NotFound(f"client {client_id}")
            no_shows = await desk_repo.no_show_count(session, client_id)
            base = summary(client)
            notes, discount = client.notes, Decimal(client.discount_percent)
        wallet = await self._wallet.balance_and_ledger(client_id, limit=CARD_ROWS)
        upcoming = await self._booking.list_for_client(client_id, now=now, limit=CARD_ROWS)
        past = await self._booking.list_for_client(client_id, now=now, past=True, limit=CARD_ROWS)
        return ClientCard(
            client=base,
            notes=notes,
            discount_percent=discount,
            balance=wallet.balance,
            ledger=wallet.entries,
            upcoming=upcoming,
            past=past,
            no_shows=no_shows,
        )

    # --- walk-in clients, notes, block --------------------------------------------------------

    async def find_or_create(
        self, admin: int, *, name: str, phone: str, language: str | None = None
    ) -> tuple[ClientSummary, bool]:
        """The client with this phone, or a new one without a Telegram account (`tg_id` NULL)
        and an empty wallet; True when created. `InvalidInput` for a bad name or phone."""
        full = check_text(name, NAME_MAX, required=True, empty=InputProblem.NAME_EMPTY)
        assert full is not None
        e164 = to_e164(phone, self._settings.phone_region)
        if e164 is None:
            raise InvalidInput(InputProblem.PHONE_INVALID)
        first, _, last = full.partition(" ")
        async with self._sessions() as session, session.begin():
            await require_admin(session, self._settings, admin)
            existing = await desk_repo.clients_by_phone(session, e164, limit=1)
            if existing:
                return summary(existing[0]), False
            client_id = await desk_repo.add_walk_in(
                session,
                first_name=first,
                last_name=last.strip() or None,
                phone=e164,
                language=language or self._settings.default_language,
            )
            await write_audit(
                session,
                actor_tg_id=admin,
                action=AuditAction.CLIENT_CREATED,
                entity="client",
                entity_id=client_id,
                after={"name": full, "phone": e164},
            )
            created = await session.get(Client, client_id)
            assert created is not None
            return summary(created), True

    async def set_notes(self, admin: int, client_id: int, notes: str | None) -> str | None:
        """Replace the client's notes (stored as typed, at most `NOTES_MAX` characters)."""
        value = check_text(notes, NOTES_MAX, required=False)
        async with self._sessions() as session, session.begin():
            client = await self._locked(session, admin, client_id)
            before = client.notes
            await desk_repo.set_notes(session, client_id, value)
            await write_audit(
                session,
                actor_tg_id=admin,
                action=AuditAction.CLIENT_NOTES,
                entity="client",
                entity_id=client_id,
                before={"notes": before},
                after={"notes": value},
            )
        return value

    async def set_blocked(self, admin: int, client_id: int, blocked: bool) -> bool:
        """Block (they cannot book; their appointments stay) or unblock; False when it was
        already so (nothing written)."""
        async with self._sessions() as session, session.begin():
            client = await self._locked(session, admin, client_id)
            if client.is_blocked == blocked:
                return False
            await desk_repo.set_blocked(session, client_id, blocked)
            await write_audit(
                session,
                actor_tg_id=admin,
                action=AuditAction.CLIENT_BLOCKED if blocked else AuditAction.CLIENT_UNBLOCKED,
                entity="client",
                entity_id=client_id,
                before={"is_blocked": not blocked},
                after={"is_blocked": blocked},
            )
        return True

    # --- money ------------------------------------------------------------------------------

    async def top_up(
        self, admin: int, client_id: int, amount: Decimal, comment: str | None
    ) -> Decimal:
        """Credit a desk payment (cash or card); the new balance."""
        amount = check_amount(amount)
        note = check_text(comment, COMMENT_MAX, required=False)
        return await self._wallet.top_up(
            client_id,
            amount,
            comment=note,
            admin_id=admin,
            audit_hook=self._audited(admin, client_id, AuditAction.WALLET_TOPUP, note),
        )

    async def adjust(self, admin: int, client_id: int, amount: Decimal, comment: str) -> Decimal:
        """Correct the balance by a signed amount with a required comment; the new balance.
        `InsufficientFunds` (nothing written) when it would go below zero."""
        amount = check_amount(amount, signed=True)
        note = check_text(comment, COMMENT_MAX, required=True)
        return await self._wallet.adjust(
            client_id,
            amount,
            comment=note,
            admin_id=admin,
            audit_hook=self._audited(admin, client_id, AuditAction.WALLET_ADJUST, note),
        )

    async def set_discount(self, admin: int, client_id: int, percent: Decimal) -> Decimal:
        """Set the discount percent (0..100) applied from the next booking."""
        value = check_percent(percent)
        return await self._wallet.set_discount(
            client_id,
            value,
            audit_hook=self._audited(admin, client_id, AuditAction.DISCOUNT_SET, None),
        )

    def _audited(
        self, admin: int, client_id: int, action: AuditAction, comment: str | None
    ) -> _AuditMove:
        return _AuditMove(self._settings, admin, client_id, action, comment)

    async def _locked(self, session: AsyncSession, admin: int, client_id: int) -> Client:
        await require_admin(session, self._settings, admin)
        client = await desk_repo.client_for_update(session, client_id)
        if client is None:
            raise NotFound(f"client {client_id}")
        return client


@dataclass(frozen=True, slots=True)
class _AuditMove:
    """Inside a wallet movement's transaction: the role check and the audit row."""

    settings: Settings
    admin: int
    client_id: int
    action: AuditAction
    comment: str | None

    async def __call__(self, session: AsyncSession, before: Decimal, after: Decimal) -> None:
        await require_admin(session, self.settings, self.admin)
        await write_audit(
            session,
            actor_tg_id=self.admin,
            action=self.action,
            entity="client",
            entity_id=self.client_id,
            before={"value": before},
            after={"value": after, "comment": self.comment},
        )
