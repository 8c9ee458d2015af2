"""Client queries. Never commits: the calling service owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import Base
from db.driver import fetch
from db.models import Admin, Client, Specialist
from db.repositories import wallets


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: int
    tg_id: int | None
    first_name: str | None
    last_name: str | None
    username: str | None
    language: str


def _row(client: Client) -> ClientRow:
    return ClientRow(
        id=client.id,
        tg_id=client.tg_id,
        first_name=client.first_name,
        last_name=client.last_name,
        username=client.username,
        language=client.language,
    )


# The profile's read on a cache miss (the first update of a client's booking): Core on the
# tables, built once, rows as tuples. Parameter `tg`.
_CLIENTS = Base.metadata.tables["clients"]
_ADMINS = Base.metadata.tables["admins"]
_SPECIALISTS = Base.metadata.tables["specialists"]
_APPOINTMENTS = Base.metadata.tables["appointments"]
_PROFILE = select(
    _CLIENTS.c.id,
    _CLIENTS.c.tg_id,
    _CLIENTS.c.first_name,
    _CLIENTS.c.last_name,
    _CLIENTS.c.username,
    _CLIENTS.c.language,
    _CLIENTS.c.is_blocked,
    exists().where(_ADMINS.c.tg_id == bindparam("tg")),
    select(_SPECIALISTS.c.id)
    .where(_SPECIALISTS.c.tg_id == bindparam("tg"), _SPECIALISTS.c.is_active.is_(True))
    .scalar_subquery(),
    exists().where(_APPOINTMENTS.c.client_id == _CLIENTS.c.id),
).where(_CLIENTS.c.tg_id == bindparam("tg"))

# A new client, built once and run through `db.driver.fetch` (compiled once): PostgreSQL's
# INSERT ... ON CONFLICT has no SQLAlchemy cache key, so `session.execute` would compile it
# for each new client.
_INSERT_CLIENT = (
    insert(_CLIENTS)
    .values({c: bindparam(c) for c in ("tg_id", "first_name", "last_name", "username", "language")})
    .on_conflict_do_nothing(index_elements=[_CLIENTS.c.tg_id])
    .returning(_CLIENTS.c.id)
)


class ClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_absent(
        self,
        *,
        tg_id: int,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        language: str,
    ) -> int | None:
        """Insert the client; the new id, or None when `tg_id` is already registered.

        ON CONFLICT on the unique `tg_id` makes concurrent duplicate /start safe: exactly one
        insert wins, the others see None and read the existing row.
        """
        params = {
            "tg_id": tg_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language": language,
        }
        rows = await fetch(self.session, _INSERT_CLIENT, params)
        return rows[0][0] if rows else None

    async def ensure_wallet(self, client_id: int) -> bool:
        """Create the wallet (balance 0) unless it exists; True when it was created now."""
        return await wallets.ensure(self.session, client_id)

    async def reactivate(self, client_id: int) -> bool:
        """Mark the chat reachable again (it was marked inactive after Telegram's 403); True if
        it had been inactive. Writes nothing for an active client."""
        stmt = (
            update(Client)
            .where(Client.id == client_id, Client.is_active.is_(False))
            .values(is_active=True)
            .returning(Client.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def by_tg_id(self, tg_id: int, *, for_update: bool = False) -> ClientRow | None:
        stmt = select(Client).where(Client.tg_id == tg_id)
        if for_update:
            stmt = stmt.with_for_update()
        client = (await self.session.execute(stmt)).scalar_one_or_none()
        return _row(client) if client else None

    async def by_tg_id_with_roles(
        self, tg_id: int
    ) -> tuple[ClientRow, bool, int | None, tuple[bool, bool]] | None:
        """`by_tg_id` with `is_admin` and `specialist_id_for` of the same Telegram id and what
        the start of a booking asks of the client, in one statement: (the client, listed as a
        run-time admin, the active specialist's id, (blocked by an admin, has any appointment
        in any status))."""
        found = (await self.session.execute(_PROFILE, {"tg": tg_id})).one_or_none()
        if found is None:
            return None
        *columns, blocked, is_admin, specialist_id, booked_before = found
        start = (bool(blocked), bool(booked_before))
        return ClientRow(*columns), bool(is_admin), specialist_id, start

    async def update_names(
        self,
        client_id: int,
        *,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
    ) -> None:
        await self.session.execute(
            update(Client)
            .where(Client.id == client_id)
            .values(first_name=first_name, last_name=last_name, username=username)
        )

    async def set_phone(self, client_id: int, phone: str) -> None:
        await self.session.execute(update(Client).where(Client.id == client_id).values(phone=phone))

    async def set_language(self, client_id: int, language: str) -> None:
        await self.session.execute(
            update(Client).where(Client.id == client_id).values(language=language)
        )

    async def sync_specialist_language(self, tg_id: int, language: str) -> None:
        """A specialist linked to this Telegram account gets their messages in the language the
        account chose (written only when it differs)."""
        await self.session.execute(
            update(Specialist)
            .where(Specialist.tg_id == tg_id, Specialist.language != language)
            .values(language=language)
        )

    async def is_admin(self, tg_id: int) -> bool:
        """Admins added at run time (ADMIN_IDS from settings are checked by the service)."""
        return bool(await self.session.scalar(select(exists().where(Admin.tg_id == tg_id))))

    async def specialist_id_for(self, tg_id: int) -> int | None:
        result = await self.session.execute(
            select(Specialist.id).where(Specialist.tg_id == tg_id, Specialist.is_active.is_(True))
        )
        return result.scalar_one_or_none()
