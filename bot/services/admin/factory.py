"""Builds the admin area's services once per process, on the booking engine's services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.admin.audit import AuditService
from bot.services.admin.clients import ClientDesk
from bot.services.admin.day import DayDesk
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles
from bot.services.clients import ClientService
from bot.services.factory import Services


@dataclass(frozen=True, slots=True)
class AdminServices:
    roles: AdminRoles
    audit: AuditService
    invites: InviteService
    clients: ClientDesk
    day: DayDesk


def build_admin_services(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    services: Services,
    profiles: ClientService,
) -> AdminServices:
    """Role changes and invites drop the cached profile of the account they touch."""
    return AdminServices(
        roles=AdminRoles(session_factory, settings, profiles.invalidate),
        audit=AuditService(session_factory, settings),
        invites=InviteService(session_factory, settings, profiles.invalidate),
        clients=ClientDesk(session_factory, settings, services.wallet, services.booking),
        day=DayDesk(session_factory, settings),
    )
