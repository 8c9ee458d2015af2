"""The admin area's services wired as the application wires them, and a whole-database
fingerprint to prove that a refused action changed no row in any table."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.admin.audit import AuditService
from bot.services.admin.clients import ClientDesk
from bot.services.admin.day import DayDesk
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles
from bot.services.clients import ClientService
from tests.integration.factories import Engine


@dataclass
class Desk:
    roles: AdminRoles
    audit: AuditService
    invites: InviteService
    clients: ClientDesk
    day: DayDesk
    profiles: ClientService


def build_desk(eng: Engine, sessions: async_sessionmaker[AsyncSession], redis: Redis) -> Desk:
    profiles = ClientService(sessions, redis, eng.settings)
    return Desk(
        roles=AdminRoles(sessions, eng.settings, profiles.invalidate),
        audit=AuditService(sessions, eng.settings),
        invites=InviteService(sessions, eng.settings, profiles.invalidate),
        clients=ClientDesk(sessions, eng.settings, eng.wallet, eng.booking),
        day=DayDesk(sessions, eng.settings),
        profiles=profiles,
    )


async def database_fingerprint(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Every table's rows, hashed (md5 of the ordered row texts): equal fingerprints mean no row
    was inserted, updated or deleted anywhere."""
    async with sessions() as s:
        tables = [
            r[0]
            for r in await s.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            )
        ]
        result = {}
        for table in tables:
            digest = await s.scalar(
                text(
                    f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                    f'FROM "{table}" t'
                )
            )
            result[table] = str(digest)
        return result


async def audit_actions(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as s:
        rows = await s.execute(text("SELECT action FROM audit_log ORDER BY id"))
        return [r[0] for r in rows]
