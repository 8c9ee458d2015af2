"""Queries of the admin area: run-time admins and specialist invites (the audit log's are in
`db.repositories.audit`). They never commit: the admin use case that calls them owns the
transaction, so its audit row is committed together with the change, or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import Base
from db.driver import fetch
from db.models import Admin, Client, Location, Specialist, SpecialistInvite
from db.repositories.names import name_contains

# --- admins ------------------------------------------------------------------------------------


async def stored_admins(session: AsyncSession) -> Sequence[Admin]:
    result = await session.execute(select(Admin).order_by(Admin.added_at, Admin.tg_id))
    return result.scalars().all()


async def people_by_tg_id(
    session: AsyncSession, tg_ids: Sequence[int]
) -> dict[int, tuple[str, str | None]]:
    """(full name, @username without the @) of each Telegram account the bot knows: as a
    client (name and username), else as a linked specialist (name). Unknown ids are absent;
    a client without a name or username counts as unknown."""
    wanted = sorted(set(tg_ids))
    if not wanted:
        return {}
    full = func.concat_ws(" ", Client.first_name, Client.last_name)
    people: dict[int, tuple[str, str | None]] = {}
    specialists = await session.execute(
        select(Specialist.tg_id, Specialist.name).where(Specialist.tg_id.in_(wanted))
    )
    for tg_id, name in specialists:
        if tg_id is not None and name:
            people[int(tg_id)] = (str(name), None)
    clients = await session.execute(
        select(Client.tg_id, full, Client.username).where(Client.tg_id.in_(wanted))
    )
    for tg_id, name, username in clients:
        if tg_id is not None and (name or username):
            people[int(tg_id)] = (str(name or ""), str(username) if username else None)
    return people


# Built once and run through `db.driver.fetch` (compiled once): PostgreSQL's INSERT ... ON
# CONFLICT has no SQLAlchemy cache key, so `session.execute` would compile it at every call.
_ADMINS = Base.metadata.tables["admins"]
_ADD_ADMIN = (
    insert(_ADMINS)
    .values(tg_id=bindparam("tg_id"), added_by=bindparam("added_by"))
    .on_conflict_do_nothing(index_elements=[_ADMINS.c.tg_id])
    .returning(_ADMINS.c.tg_id)
)


async def add_admin(session: AsyncSession, tg_id: int, *, added_by: int) -> bool:
    """True when added now, False when already an admin (nothing written)."""
    params = {"tg_id": tg_id, "added_by": added_by}
    return bool(await fetch(session, _ADD_ADMIN, params))


async def remove_admin(session: AsyncSession, tg_id: int) -> Admin | None:
    """Delete the stored admin; the removed row, or None when there was none."""
    row = await session.get(Admin, tg_id, with_for_update=True)
    if row is None:
        return None
    await session.execute(delete(Admin).where(Admin.tg_id == tg_id))
    return row


# --- specialist invites ------------------------------------------------------------------------


async def add_invite(
    session: AsyncSession,
    *,
    token_hash: str,
    specialist_id: int,
    created_by: int,
    created_at: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    session.add(
        SpecialistInvite(
            token_hash=token_hash,
            specialist_id=specialist_id,
            created_by=created_by,
            created_at=created_at,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def invite_for_update(session: AsyncSession, token_hash: str) -> SpecialistInvite | None:
    """The invite, row-locked: two redemptions of one token queue here, one sees it used."""
    return await session.get(SpecialistInvite, token_hash, with_for_update=True)


async def mark_invite_used(
    session: AsyncSession, token_hash: str, *, tg_id: int, now: dt.datetime
) -> bool:
    result = await session.execute(
        update(SpecialistInvite)
        .where(SpecialistInvite.token_hash == token_hash, SpecialistInvite.used_at.is_(None))
        .values(used_at=now, used_by=tg_id)
        .returning(SpecialistInvite.token_hash)
    )
    return result.scalar_one_or_none() is not None


# --- specialists' Telegram accounts ------------------------------------------------------------


async def specialist_for_update(session: AsyncSession, specialist_id: int) -> Specialist | None:
    return await session.get(Specialist, specialist_id, with_for_update=True)


async def specialist_by_tg_id(session: AsyncSession, tg_id: int) -> Specialist | None:
    result = await session.execute(select(Specialist).where(Specialist.tg_id == tg_id))
    return result.scalar_one_or_none()


async def set_specialist_account(
    session: AsyncSession, specialist_id: int, tg_id: int | None
) -> None:
    await session.execute(
        update(Specialist).where(Specialist.id == specialist_id).values(tg_id=tg_id)
    )


async def specialists_named(
    session: AsyncSession, query: str, *, limit: int
) -> Sequence[Specialist]:
    """Active and inactive specialists whose name, in any language, contains `query`
    (case-insensitive)."""
    result = await session.execute(
        select(Specialist)
        .where(name_contains(Specialist, query))
        .order_by(Specialist.name)
        .limit(limit)
    )
    return result.scalars().all()


async def locations_named(session: AsyncSession, query: str, *, limit: int) -> Sequence[Location]:
    """Locations whose name, in any language, contains `query` (case-insensitive)."""
    result = await session.execute(
        select(Location).where(name_contains(Location, query)).order_by(Location.name).limit(limit)
    )
    return result.scalars().all()
