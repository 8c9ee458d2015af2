"""The container: what lives for the whole process (APP scope) and what belongs to one update
(REQUEST scope).

APP: settings, Redis, the engine's session factory, the clock, and the services. The services
keep no per-update state and open one session per use case (the use case owns its transaction),
so building them per update would only cost time; they are made once.
REQUEST: the update's `Now`, its `Translator`, the `CurrentClient` and the handler bundles
(`Deps`, `AccountDeps`). Each is made only when a handler asks for it.

`setup_dishka(container, dispatcher)` (see `bot.app`) opens a request scope per event; handlers
ask with `FromDishka[T]` parameters (injected into every handler when the dispatcher is built).
"""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import User
from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide
from dishka.integrations.aiogram import AiogramMiddlewareData, AiogramProvider
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.handlers.account.context import AccountDeps
from bot.handlers.booking.context import Deps, acting_client
from bot.i18n import Translator
from bot.ioc.types import Clock, CurrentClient, Now
from bot.notify.agenda import SpecialistAgenda
from bot.ops.outage import OutageLog
from bot.services.admin.audit import AuditService
from bot.services.admin.clients import ClientDesk
from bot.services.admin.day import DayDesk
from bot.services.admin.factory import AdminServices, build_admin_services
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles
from bot.services.admin_gate import AdminGate
from bot.services.availability import AvailabilityService
from bot.services.booking import BookingService
from bot.services.booking_flow import BookingFlow
from bot.services.booking_menu import BookingMenuService
from bot.services.catalog_cache import CatalogCache
from bot.services.catalog_editor import CatalogEditor
from bot.services.catalog_file import CatalogFileService
from bot.services.catalog_impact import CatalogImpactService
from bot.services.clients import ClientService, TelegramUser
from bot.services.events import EventBus
from bot.services.factory import Services
from bot.services.holds import HoldStore
from bot.services.reschedule_flow import RescheduleFlow
from bot.services.stats import StatsService
from bot.services.stats_export import StatsExport
from bot.services.waitlist import WaitlistService
from bot.services.wallet import WalletService


class AppProvider(Provider):
    """Process-wide objects: given to the container at start-up, or built once from them."""

    scope = Scope.APP

    settings = from_context(provides=Settings)
    redis = from_context(provides=Redis)
    session_factory = from_context(provides=async_sessionmaker[AsyncSession])
    clock = from_context(provides=Clock)
    clients = from_context(provides=ClientService)
    services = from_context(provides=Services)

    @provide
    def outages(self) -> OutageLog:
        return OutageLog()

    @provide
    def availability(self, services: Services) -> AvailabilityService:
        return services.availability

    @provide
    def catalog(self, services: Services) -> CatalogCache:
        return services.catalog

    @provide
    def booking(self, services: Services) -> BookingService:
        return services.booking

    @provide
    def holds(self, services: Services) -> HoldStore:
        return services.holds

    @provide
    def wallet(self, services: Services) -> WalletService:
        return services.wallet

    @provide
    def waitlist(self, services: Services) -> WaitlistService:
        return services.waitlist

    @provide
    def events(self, services: Services) -> EventBus:
        return services.events

    @provide
    def stats(
        self, session_factory: async_sessionmaker[AsyncSession], settings: Settings
    ) -> StatsService:
        return StatsService(session_factory, settings.default_timezone)

    @provide
    def catalog_file(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        booking: BookingService,
        availability: AvailabilityService,
    ) -> CatalogFileService:
        impact = CatalogImpactService(session_factory, booking, availability)
        return CatalogFileService(session_factory, impact, settings.default_timezone)

    @provide
    def catalog_editor(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        booking: BookingService,
        availability: AvailabilityService,
        gate: AdminGate,
    ) -> CatalogEditor:
        impact = CatalogImpactService(session_factory, booking, availability)
        return CatalogEditor(session_factory, impact, gate, settings.default_timezone)

    @provide
    def admin_gate(
        self, session_factory: async_sessionmaker[AsyncSession], settings: Settings
    ) -> AdminGate:
        return AdminGate(session_factory, settings)

    @provide
    def stats_export(
        self, session_factory: async_sessionmaker[AsyncSession], settings: Settings
    ) -> StatsExport:
        return StatsExport(session_factory, settings.default_timezone)

    @provide
    def admin(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        services: Services,
        clients: ClientService,
    ) -> AdminServices:
        return build_admin_services(settings, session_factory, services, clients)

    @provide
    def admin_roles(self, admin: AdminServices) -> AdminRoles:
        return admin.roles

    @provide
    def admin_audit(self, admin: AdminServices) -> AuditService:
        return admin.audit

    @provide
    def admin_invites(self, admin: AdminServices) -> InviteService:
        return admin.invites

    @provide
    def admin_clients(self, admin: AdminServices) -> ClientDesk:
        return admin.clients

    @provide
    def admin_day(self, admin: AdminServices) -> DayDesk:
        return admin.day

    @provide
    def flow(
        self,
        holds: HoldStore,
        booking: BookingService,
        menu: BookingMenuService,
        waitlist: WaitlistService,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> BookingFlow:
        return BookingFlow(holds, booking, menu, waitlist, session_factory)

    @provide
    def reschedule(
        self,
        settings: Settings,
        availability: AvailabilityService,
        booking: BookingService,
        menu: BookingMenuService,
    ) -> RescheduleFlow:
        return RescheduleFlow(settings, availability, booking, menu)

    @provide
    def menu(
        self, session_factory: async_sessionmaker[AsyncSession], catalog: CatalogCache
    ) -> BookingMenuService:
        return BookingMenuService(session_factory, catalog=catalog)

    @provide
    def agenda(
        self, session_factory: async_sessionmaker[AsyncSession], settings: Settings
    ) -> SpecialistAgenda:
        return SpecialistAgenda(session_factory, settings)


class RequestProvider(Provider):
    """What belongs to one update. The i18n middleware has already looked the profile up and
    chosen the language; these read its results (the only place that reads middleware data)."""

    scope = Scope.REQUEST

    @provide
    def now(self, clock: Clock) -> Now:
        return Now(clock.now())

    @provide
    def translator(self, data: AiogramMiddlewareData, settings: Settings) -> Translator:
        i18n = data.get("i18n")
        return i18n if isinstance(i18n, Translator) else Translator(settings.default_language)

    @provide
    async def client(
        self, data: AiogramMiddlewareData, clients: ClientService, now: Now
    ) -> CurrentClient:
        """The sender's profile; one who skipped /start is registered now."""
        profile = data.get("profile")
        if profile is None:
            user = data.get("event_from_user")
            if not isinstance(user, User):
                raise LookupError("the update has no sender")
            profile = await clients.register(
                TelegramUser(
                    tg_id=user.id,
                    first_name=user.first_name,
                    last_name=user.last_name,
                    username=user.username,
                    language_code=user.language_code,
                ),
                now=now,
            )
        return CurrentClient(profile)

    @provide
    async def booking_deps(
        self,
        data: AiogramMiddlewareData,
        settings: Settings,
        i18n: Translator,
        client: CurrentClient,
        now: Now,
        menu: BookingMenuService,
        availability: AvailabilityService,
        booking: BookingService,
        flow: BookingFlow,
        waitlist: WaitlistService,
        gate: AdminGate,
        wallet: WalletService,
    ) -> Deps:
        """The booking handlers' bundle, acting for the client an admin books for at the desk
        when the flow is such a booking (`acting_client`)."""
        state = data.get("state")
        client_id, booked_by = await acting_client(
            state if isinstance(state, FSMContext) else None,
            client.client_id,
            client.profile.tg_id,
            gate,
        )
        return Deps(
            settings=settings,
            i18n=i18n,
            client_id=client_id,
            now=now,
            menu=menu.in_language(i18n.locale),
            availability=availability,
            booking=booking,
            flow=flow,
            waitlist=waitlist,
            booked_by=booked_by,
            presser_client_id=client.client_id,
            wallet=wallet,
        )

    @provide
    def account_deps(
        self,
        settings: Settings,
        i18n: Translator,
        client: CurrentClient,
        now: Now,
        booking: BookingService,
        availability: AvailabilityService,
        wallet: WalletService,
        reschedule: RescheduleFlow,
    ) -> AccountDeps:
        return AccountDeps(
            settings=settings,
            i18n=i18n,
            client_id=client.client_id,
            now=now,
            booking=booking,
            availability=availability,
            wallet=wallet,
            reschedule=reschedule,
        )


def make_container(
    *,
    settings: Settings,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    clients: ClientService,
    services: Services,
) -> AsyncContainer:
    """The bot's container; every APP-scope object is given here, nothing is built per update."""
    return make_async_container(
        AppProvider(),
        RequestProvider(),
        AiogramProvider(),
        context={
            Settings: settings,
            Redis: redis,
            async_sessionmaker[AsyncSession]: session_factory,
            Clock: clock,
            ClientService: clients,
            Services: services,
        },
    )
